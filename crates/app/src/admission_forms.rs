//! "Fill once" (issue 8 scope 3, DOMAIN.md §4): the forms of the admission
//! process generated as PDFs from the one admission record — the applicant's
//! member row and the recorded steps of the workflow history. Nothing is
//! typed twice: each form is a selection of steps whose recorded fields are
//! printed with their labels from the process definition; member ids
//! (contacts, introducers) print as names.
//!
//! Access is the admission's (`visible_admission`: the applicant, or those
//! who may list the members of the organization); every download is
//! audited (`admission.form`), since the record holds sensitive data such as
//! the political review conclusion.

use dangjian_docs::{AdmissionFormData, FormSection};
use dangjian_domain::members::{Education, Sex, Stage};
use dangjian_store::repo::audit;
use dangjian_store::repo::meetings as mrepo;
use dangjian_workflow::{EntryKind, Value};
use serde::Serialize;

use crate::admissions::definition;
use crate::clock::to_local;
use crate::{Actor, App, AppError};

/// One form: its key, names and the steps (and side actions) it prints.
pub struct FormSpec {
    pub key: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub steps: &'static [&'static str],
}

/// The forms of the admission process (DOMAIN.md §4), in process order.
pub const FORMS: &[FormSpec] = &[
    FormSpec {
        key: "application_record",
        title_zh: "入党申请人登记表",
        title_en: "Application record",
        steps: &["application", "talk"],
    },
    FormSpec {
        key: "activist_registration",
        title_zh: "入党积极分子登记表",
        title_en: "Activist registration and assessments",
        steps: &[
            "activist",
            "activist_filing",
            "contacts",
            "activist_education",
            "assessment",
        ],
    },
    FormSpec {
        key: "development_target_review",
        title_zh: "发展对象审查表",
        title_en: "Development target review",
        steps: &[
            "development_target",
            "target_filing",
            "introducers",
            "branch_review",
        ],
    },
    FormSpec {
        key: "political_review",
        title_zh: "政治审查综合材料",
        title_en: "Political review",
        steps: &["political_review"],
    },
    FormSpec {
        key: "training_certificate",
        title_zh: "发展对象培训结业证明",
        title_en: "Training certificate",
        steps: &["training"],
    },
    FormSpec {
        key: "public_notice",
        title_zh: "发展对象公示",
        title_en: "Public notice",
        steps: &["pre_review"],
    },
    FormSpec {
        key: "volunteer_summary",
        title_zh: "入党志愿书摘要",
        title_en: "Volunteer form summary",
        steps: &["volunteer_form", "assembly", "committee_talk", "approval"],
    },
    FormSpec {
        key: "conversion_application",
        title_zh: "预备党员转正申请及审批表",
        title_en: "Conversion application",
        steps: &[
            "probation_education",
            "extension",
            "conversion_application",
            "conversion_vote",
            "conversion_approval",
        ],
    },
];

/// A form of one admission and whether its steps are recorded yet.
#[derive(Debug, Clone, Serialize)]
pub struct FormAvailability {
    pub key: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    /// How many of its steps are recorded.
    pub recorded: usize,
}

fn spec(key: &str) -> Result<&'static FormSpec, AppError> {
    FORMS
        .iter()
        .find(|f| f.key == key)
        .ok_or(AppError::NotFound("form"))
}

/// A recorded value as printed; member ids as names.
fn value_text(v: &Value, names: &std::collections::HashMap<i64, String>) -> String {
    match v {
        Value::Count(n) => n.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Text(t) => t.clone(),
        Value::Ids(ids) => ids
            .iter()
            .map(|i| names.get(i).cloned().unwrap_or_else(|| i.to_string()))
            .collect::<Vec<_>>()
            .join("、"),
    }
}

impl App {
    /// The forms of admission `id` with how many of their steps are recorded.
    pub async fn admission_forms(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<FormAvailability>, AppError> {
        let (row, _, _) = self.visible_admission(actor, id).await?;
        let inst = self.load_instance(&self.db.conn, &row).await?;
        Ok(FORMS
            .iter()
            .map(|f| FormAvailability {
                key: f.key,
                title_zh: f.title_zh,
                title_en: f.title_en,
                recorded: inst
                    .history
                    .iter()
                    .filter(|e| e.kind != EntryKind::Cancel && f.steps.contains(&e.key.as_str()))
                    .count(),
            })
            .collect())
    }

    /// Form `form` of admission `id` as a PDF generated from the record;
    /// returns the file name and the bytes. Audited.
    pub async fn admission_form_pdf(
        &self,
        actor: &Actor,
        id: i64,
        form: &str,
    ) -> Result<(String, Vec<u8>), AppError> {
        let (row, m, o) = self.visible_admission(actor, id).await?;
        let f = spec(form)?;
        let inst = self.load_instance(&self.db.conn, &row).await?;
        let def = definition();

        // Member ids in the record print as names.
        let mut ids: Vec<i64> = Vec::new();
        for e in &inst.history {
            for v in e.form.0.values() {
                if let Value::Ids(a) = v {
                    ids.extend(a.iter().copied());
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let names: std::collections::HashMap<i64, String> =
            mrepo::member_names(&self.db.conn, &ids)
                .await?
                .into_iter()
                .collect();

        let mut sections = Vec::new();
        for e in inst
            .history
            .iter()
            .filter(|e| e.kind != EntryKind::Cancel && f.steps.contains(&e.key.as_str()))
        {
            let (heading, fields) = match (def.step(&e.key), def.side_action(&e.key)) {
                (Some(s), _) => (format!("{}. {}", s.number, s.label_zh), &s.fields),
                (None, Some(a)) => (a.label_zh.clone(), &a.fields),
                (None, None) => continue,
            };
            let mut rows = Vec::new();
            for fd in fields {
                let Some(v) = e.form.0.get(&fd.key) else {
                    continue;
                };
                let text = value_text(v, &names);
                if !text.is_empty() {
                    rows.push((fd.label_zh.clone(), text));
                }
            }
            if !e.attachments.is_empty() {
                rows.push(("附件".into(), e.attachments.join("、")));
            }
            for o in &e.overrides {
                rows.push(("例外说明".into(), format!("{}：{}", o.code, o.reason)));
            }
            sections.push(FormSection {
                heading,
                recorded: to_local(e.at).format("%Y-%m-%d %H:%M").to_string(),
                rows,
            });
        }

        let mut person = vec![
            ("姓名".to_string(), m.name.clone()),
            (
                "性别".to_string(),
                Sex::parse(&m.sex)
                    .map(|s| s.label_zh().to_string())
                    .unwrap_or_else(|| m.sex.clone()),
            ),
            ("民族".to_string(), m.ethnicity.clone()),
            ("出生日期".to_string(), m.birth_date.to_string()),
            (
                "学历".to_string(),
                m.education
                    .as_deref()
                    .map(|e| {
                        Education::parse(e)
                            .map(|x| x.label_zh().to_string())
                            .unwrap_or_else(|| e.to_string())
                    })
                    .unwrap_or_default(),
            ),
            (
                "当前阶段".to_string(),
                Stage::parse(&m.stage)
                    .map(|s| s.label_zh().to_string())
                    .unwrap_or_else(|| m.stage.clone()),
            ),
        ];
        if let Some(d) = m.applied_on {
            person.push(("申请入党日期".into(), d.to_string()));
        }
        if let Some(d) = m.activist_on {
            person.push(("确定积极分子日期".into(), d.to_string()));
        }
        if person.len() % 2 == 1 {
            person.push((String::new(), String::new()));
        }
        let data = AdmissionFormData {
            title: f.title_zh.into(),
            subtitle: f.title_en.into(),
            org: o.name.clone(),
            person,
            sections,
            reference: format!("发展党员档案 No. {} · {}", row.id, f.key),
            generated: to_local(self.clock.now())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            note: String::new(),
        };
        self.record_audit(audit::Entry {
            user_id: actor.audit_id(),
            action: "admission.form".into(),
            target_kind: "admission".into(),
            target_id: Some(row.id),
            org_id: Some(o.id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({"form": f.key}),
        })
        .await?;
        let renderer = self.renderer()?;
        let pdf = tokio::task::spawn_blocking(move || renderer.admission_form(&data))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(format!("admission form: {e}")))?;
        Ok((format!("{}-{}-{}.pdf", f.title_zh, m.name, row.id), pdf))
    }
}
