//! Admission pages (发展党员, DOMAIN.md §4): a branch's applicant pipeline
//! (who is at which step, what is due next, what is overdue) with a form to
//! start an admission, and a candidate's timeline with the form of the next
//! step and of the open side actions, generated from the process definition
//! (a member reaches their own through `/members/{id}/admission`).
//! A warning the secretary decides to override is submitted again with the
//! reason typed in the same form.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use dangjian_app::AppError;
use dangjian_app::admissions::{
    AdmissionDetail, Applicant, NewApplicant, StepInput, StepView, TimerView,
};
use dangjian_app::clock::to_local;
use dangjian_domain::dues::DuesCategory;
use dangjian_workflow::{FieldKind, Override, TimerState, Value};

use super::{error_page, render};
use crate::AppState;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{code}/admissions",
            get(pipeline_page).post(start_submit),
        )
        .route("/admissions/{id}", get(timeline_page))
        .route("/members/{id}/admission", get(member_admission))
        .route("/admissions/{id}/steps/{step}", post(step_submit))
        .route("/admissions/{id}/forms/{form}", get(form_download))
}

/// A generated admission form as a PDF (fill once, issue 8).
async fn form_download(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path((id, form)): Path<(String, String)>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("admission"));
    };
    match st.app.admission_form_pdf(&p.actor, id, &form).await {
        Ok((name, pdf)) => {
            crate::api::certificates::pdf_response(&name, &format!("admission-{id}-{form}"), pdf)
                .into_response()
        }
        Err(e) => error_page(lang, &p, e),
    }
}

fn state_label(s: TimerState, lang: Lang) -> &'static str {
    match s {
        TimerState::Pending => lang.t("未到期", "Pending"),
        TimerState::DueSoon => lang.t("即将到期", "Due soon"),
        TimerState::Overdue => lang.t("已逾期", "Overdue"),
    }
}

struct PipeRow {
    id: i64,
    name: String,
    stage: String,
    progress: String,
    next: String,
    due: String,
    state: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "admissions.html")]
struct PipelinePage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    rows: Vec<PipeRow>,
    overdue: usize,
    due_soon: usize,
    can_start: bool,
    errors: Vec<String>,
    today: String,
}

fn step_title(s: &StepView, lang: Lang) -> String {
    let label = if lang.is_en() {
        &s.label_en
    } else {
        &s.label_zh
    };
    if s.number == 0 {
        label.clone()
    } else if lang.is_en() {
        format!("Step {}: {label}", s.number)
    } else {
        format!("第{}步：{label}", s.number)
    }
}

fn next_due(timers: &[TimerView], lang: Lang) -> (String, String, bool) {
    match timers.iter().min_by_key(|t| t.due_on) {
        Some(t) => {
            let worst = timers.iter().map(|t| t.state).max().unwrap_or(t.state);
            (
                format!(
                    "{} {}",
                    t.due_on,
                    if lang.is_en() {
                        &t.label_en
                    } else {
                        &t.label_zh
                    }
                ),
                state_label(worst, lang).to_string(),
                worst == TimerState::Overdue,
            )
        }
        None => (String::new(), String::new(), false),
    }
}

async fn pipeline_view(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    errors: Vec<String>,
) -> Response {
    let o = match st.app.visible_org(&p.actor, code).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, p, e),
    };
    let items = match st.app.admission_pipeline(&p.actor, code).await {
        Ok(i) => i,
        Err(e) => return error_page(lang, p, e),
    };
    let l = lang.code();
    let rows: Vec<PipeRow> = items
        .iter()
        .map(|a| {
            let (due, state, overdue) = next_due(&a.timers, lang);
            PipeRow {
                id: a.id,
                name: a.member_name.clone(),
                stage: a.stage.label(l).into(),
                progress: format!("{}/{}", a.steps_done, a.steps_total),
                next: a
                    .next_step
                    .as_ref()
                    .map(|s| step_title(s, lang))
                    .unwrap_or_default(),
                due,
                state,
                overdue,
            }
        })
        .collect();
    let count = |s: TimerState| items.iter().filter(|a| a.worst() == Some(s)).count();
    render(
        StatusCode::OK,
        PipelinePage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/admissions"),
            code: o.code.clone(),
            name: o.name.clone(),
            overdue: count(TimerState::Overdue),
            due_soon: count(TimerState::DueSoon),
            rows,
            can_start: p.actor.can_manage_members(&o.path) && o.kind == "branch",
            errors,
            today: st.app.today().to_string(),
        },
    )
}

async fn pipeline_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
) -> Response {
    pipeline_view(&st, lang, &p, &code, Vec::new()).await
}

async fn start_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if f.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let who = if !get("member_id").is_empty() {
        match get("member_id").parse::<i64>() {
            Ok(id) => Applicant::Member(id),
            Err(_) => {
                let msg = lang.t("人员编号应为数字", "The member number is a number");
                return pipeline_view(&st, lang, &p, &code, vec![msg.into()]).await;
            }
        }
    } else {
        let Ok(applied_on) = NaiveDate::parse_from_str(&get("applied_on"), "%Y-%m-%d") else {
            let msg = lang.t(
                "请填写申请日期（年-月-日）",
                "The application date (YYYY-MM-DD) is required",
            );
            return pipeline_view(&st, lang, &p, &code, vec![msg.into()]).await;
        };
        let phone = get("phone");
        Applicant::Person(NewApplicant {
            name: get("name"),
            id_number: get("id_number"),
            ethnicity: get("ethnicity"),
            phone: (!phone.is_empty()).then_some(phone),
            education: None,
            dues_category: DuesCategory::Employed,
            applied_on,
        })
    };
    match st.app.start_admission(&p.actor, &code, who).await {
        Ok(d) => Redirect::to(&format!("/admissions/{}", d.summary.id)).into_response(),
        Err(e) => match super::error_messages(&e, lang) {
            Some(lines) => pipeline_view(&st, lang, &p, &code, lines).await,
            None => error_page(lang, &p, e),
        },
    }
}

struct TimerRow {
    label: String,
    due: String,
    state: String,
    overdue: bool,
    rule: String,
}

struct HistRow {
    title: String,
    at: String,
    role: String,
    fields: Vec<(String, String)>,
    attachments: String,
    overrides: Vec<(String, String)>,
}

struct InputView {
    key: String,
    label: String,
    /// HTML input type: date, number or text.
    kind: &'static str,
    required: bool,
    value: String,
    hint: String,
}

struct FormView {
    key: String,
    title: String,
    fields: Vec<InputView>,
    attachments: Vec<String>,
}

#[derive(Template)]
#[template(path = "admission.html")]
struct TimelinePage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    name: String,
    org_code: String,
    org_name: String,
    status: String,
    stage: String,
    progress: String,
    timers: Vec<TimerRow>,
    history: Vec<HistRow>,
    forms: Vec<FormView>,
    /// The generated PDF forms (fill once): key and name.
    documents: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Count(n) => n.to_string(),
        Value::Ids(ids) => ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        Value::Date(d) => d.to_string(),
        Value::Text(t) => t.clone(),
    }
}

fn form_view(s: &StepView, lang: Lang, posted: &HashMap<String, String>) -> FormView {
    FormView {
        key: s.key.clone(),
        title: step_title(s, lang),
        fields: s
            .fields
            .iter()
            .map(|f| InputView {
                key: f.key.clone(),
                label: if lang.is_en() {
                    f.label_en.clone()
                } else {
                    f.label_zh.clone()
                },
                kind: match f.kind {
                    FieldKind::Date => "date",
                    FieldKind::Count => "number",
                    FieldKind::Text | FieldKind::Ids => "text",
                },
                required: f.required,
                value: posted.get(&f.key).cloned().unwrap_or_default(),
                hint: if f.kind == FieldKind::Ids {
                    lang.t("人员编号，逗号分隔", "member numbers, comma-separated")
                        .into()
                } else {
                    String::new()
                },
            })
            .collect(),
        attachments: s.attachments.clone(),
    }
}

fn timeline_view(
    lang: Lang,
    p: &PageActor,
    d: &AdmissionDetail,
    posted: &HashMap<String, String>,
    errors: Vec<String>,
) -> Response {
    let s = &d.summary;
    let l = lang.code();
    let history = d
        .history
        .iter()
        .map(|e| {
            let label = if lang.is_en() {
                &e.label_en
            } else {
                &e.label_zh
            };
            HistRow {
                title: if e.number == 0 {
                    label.clone()
                } else if lang.is_en() {
                    format!("Step {}: {label}", e.number)
                } else {
                    format!("第{}步：{label}", e.number)
                },
                at: to_local(e.at).format("%Y-%m-%d %H:%M").to_string(),
                role: e.role.clone(),
                fields: if e.key == "cancel" {
                    e.form
                        .0
                        .values()
                        .map(|v| (String::new(), value_text(v)))
                        .collect()
                } else {
                    let own = e
                        .form
                        .0
                        .iter()
                        .map(|(k, v)| (k.clone(), value_text(v)))
                        .collect();
                    relabel(&e.key, own, lang)
                },
                attachments: e.attachments.join("、"),
                overrides: e
                    .overrides
                    .iter()
                    .map(|o| {
                        let msg = e
                            .warnings
                            .iter()
                            .find(|w| w.code == o.code)
                            .map(|w| {
                                if lang.is_en() {
                                    w.message_en.clone()
                                } else {
                                    w.message_zh.clone()
                                }
                            })
                            .unwrap_or_else(|| o.code.clone());
                        (msg, o.reason.clone())
                    })
                    .collect(),
            }
        })
        .collect();
    let mut forms = Vec::new();
    if d.can_act
        && let Some(n) = &s.next_step
    {
        forms.push(form_view(n, lang, posted));
    }
    for a in &d.side_actions {
        forms.push(form_view(a, lang, posted));
    }
    render(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        TimelinePage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/admissions/{}", s.id),
            id: s.id,
            name: s.member_name.clone(),
            org_code: s.org.code.clone(),
            org_name: s.org.name.clone(),
            status: match s.status {
                dangjian_workflow::Status::Active => lang.t("进行中", "In progress"),
                dangjian_workflow::Status::Completed => lang.t("已完成", "Completed"),
                dangjian_workflow::Status::Cancelled => lang.t("已终止", "Cancelled"),
            }
            .into(),
            stage: s.stage.label(l).into(),
            progress: format!("{}/{}", s.steps_done, s.steps_total),
            documents: dangjian_app::admission_forms::FORMS
                .iter()
                .map(|f| (f.key, if lang.is_en() { f.title_en } else { f.title_zh }))
                .collect(),
            timers: s
                .timers
                .iter()
                .map(|t| TimerRow {
                    label: if lang.is_en() {
                        t.label_en.clone()
                    } else {
                        t.label_zh.clone()
                    },
                    due: t.due_on.to_string(),
                    state: state_label(t.state, lang).into(),
                    overdue: t.state == TimerState::Overdue,
                    rule: t.rule.clone(),
                })
                .collect(),
            history,
            forms,
            errors,
        },
    )
}

/// Form values of an entry labelled by its definition's fields, in the
/// definition's order.
fn relabel(key: &str, own: Vec<(String, String)>, lang: Lang) -> Vec<(String, String)> {
    let def = dangjian_app::admissions::definition();
    let fields = def
        .step(key)
        .map(|s| s.fields.clone())
        .or_else(|| def.side_action(key).map(|s| s.fields.clone()))
        .unwrap_or_default();
    fields
        .iter()
        .filter_map(|f| {
            own.iter().find(|(k, _)| *k == f.key).map(|(_, v)| {
                (
                    if lang.is_en() {
                        f.label_en.clone()
                    } else {
                        f.label_zh.clone()
                    },
                    v.clone(),
                )
            })
        })
        .collect()
}

/// A member's latest admission (their own, or one the viewer may see).
async fn member_admission(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("member"));
    };
    match st.app.member_admissions(&p.actor, id).await {
        Ok(list) => match list.last() {
            Some(a) => Redirect::to(&format!("/admissions/{}", a.id)).into_response(),
            None => error_page(lang, &p, AppError::NotFound("admission")),
        },
        Err(e) => error_page(lang, &p, e),
    }
}

async fn timeline_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("admission"));
    };
    match st.app.admission_detail(&p.actor, id).await {
        Ok(d) => timeline_view(lang, &p, &d, &HashMap::new(), Vec::new()),
        Err(e) => error_page(lang, &p, e),
    }
}

/// The posted strings as the form of a step: counts as numbers, id lists
/// split on commas; anything unparsable is passed on as typed so the engine
/// names the field.
fn form_of(
    s: &StepView,
    posted: &HashMap<String, String>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for f in &s.fields {
        let Some(v) = posted.get(&f.key).map(|v| v.trim()) else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        let value = match f.kind {
            FieldKind::Count => v
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| v.into()),
            FieldKind::Ids => {
                let parts: Vec<serde_json::Value> = v
                    .split([',', '，', '、', ' ', ';', '；'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.parse::<i64>()
                            .map(serde_json::Value::from)
                            .unwrap_or_else(|_| p.into())
                    })
                    .collect();
                serde_json::Value::Array(parts)
            }
            FieldKind::Date | FieldKind::Text => v.into(),
        };
        out.insert(f.key.clone(), value);
    }
    out
}

async fn step_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path((id, step)): Path<(String, String)>,
    Form(posted): Form<HashMap<String, String>>,
) -> Response {
    if posted.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("admission"));
    };
    let d = match st.app.admission_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, &p, e),
    };
    let Some(view) = d
        .summary
        .next_step
        .iter()
        .chain(d.side_actions.iter())
        .find(|s| s.key == step)
        .cloned()
    else {
        return error_page(lang, &p, AppError::NotFound("step"));
    };
    let attachments: Vec<String> = view
        .attachments
        .iter()
        .filter(|a| posted.contains_key(&format!("att_{a}")))
        .cloned()
        .collect();
    let input = StepInput {
        form: form_of(&view, &posted),
        attachments,
        overrides: Vec::new(),
    };
    let reason = posted
        .get("override_reason")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let mut r = st
        .app
        .act_on_admission(&p.actor, id, &step, input.clone())
        .await;
    // Warnings only, and a reason given: record the override.
    if let Err(AppError::Validation(v)) = &r
        && !reason.is_empty()
        && v.0.iter().all(|e| e.field == "overrides")
    {
        let overrides =
            v.0.iter()
                .map(|e| Override {
                    code: e.code.to_string(),
                    reason: reason.clone(),
                })
                .collect();
        r = st
            .app
            .act_on_admission(&p.actor, id, &step, StepInput { overrides, ..input })
            .await;
    }
    match r {
        Ok(_) => Redirect::to(&format!("/admissions/{id}")).into_response(),
        Err(e) => match super::error_messages(&e, lang) {
            Some(lines) => timeline_view(lang, &p, &d, &posted, lines),
            None => error_page(lang, &p, e),
        },
    }
}
