//! Scans of the materials an admission requires (issue 8, DOMAIN.md §4): the
//! political review report, the training certificate, the volunteer form —
//! the attachment kinds the process definition names on its steps — and
//! any other material. The type is taken from the content (JPEG, PNG or
//! PDF, as for meeting attachments), the size is limited by
//! `AppConfig::attachment_max_bytes`, and the file is stored **encrypted**
//! with the field key (it is personal data) beside its SHA-256.
//!
//! A step that requires a kind counts it handed in when a file of that kind
//! is on record for the admission (the secretary need not tick it again).
//!
//! Access as for the admission: those who may manage the branch's members
//! upload; they, those above who may list the members, and the applicant
//! themself list and download. Every upload and download is audited.

use chrono::{DateTime, Utc};
use dangjian_store::entities::admission_attachment;
use dangjian_store::repo::{audit, workflow as repo};
use sea_orm::Set;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::admissions::{definition, refusal};
use crate::attachments::{clean_filename, detect_type};
use crate::{Actor, App, AppError};

/// Associated data of an encrypted admission attachment.
pub const AAD_ATTACHMENT: &str = "admission_attachments.data";
/// The kind of a material no step names.
pub const OTHER: &str = "other";

/// Labels of the attachment kinds of the admission definition.
const LABELS: &[(&str, &str, &str)] = &[
    (
        "political_review_report",
        "政治审查材料",
        "Political review report",
    ),
    (
        "training_certificate",
        "集中培训结业证明",
        "Training certificate",
    ),
    ("volunteer_form", "入党志愿书", "Volunteer form"),
    (OTHER, "其他材料", "Other material"),
];

/// One kind of material: code and labels.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MaterialKind {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
}

/// The kinds an admission's attachment may have: every attachment a step
/// of the definition requires, then "other".
pub fn material_kinds() -> Vec<MaterialKind> {
    let mut codes: Vec<String> = Vec::new();
    for s in &definition().steps {
        for a in &s.attachments {
            if !codes.contains(a) {
                codes.push(a.clone());
            }
        }
    }
    codes.push(OTHER.to_string());
    codes
        .into_iter()
        .map(|code| {
            let (zh, en) = LABELS
                .iter()
                .find(|l| l.0 == code)
                .map(|l| (l.1.to_string(), l.2.to_string()))
                .unwrap_or_else(|| (code.clone(), code.clone()));
            MaterialKind {
                code,
                label_zh: zh,
                label_en: en,
            }
        })
        .collect()
}

/// An admission attachment as listed (without its bytes).
#[derive(Debug, Clone, Serialize)]
pub struct AdmissionAttachmentView {
    pub id: i64,
    pub admission_id: i64,
    pub kind: MaterialKind,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

fn kind_of(code: &str) -> MaterialKind {
    material_kinds()
        .into_iter()
        .find(|k| k.code == code)
        .unwrap_or(MaterialKind {
            code: code.to_string(),
            label_zh: code.to_string(),
            label_en: code.to_string(),
        })
}

impl App {
    /// Stores a scan of one of admission `id`'s materials; audited.
    pub async fn upload_admission_attachment(
        &self,
        actor: &Actor,
        id: i64,
        kind: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Result<AdmissionAttachmentView, AppError> {
        let (row, _, o) = self.visible_admission(actor, id).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(refusal(actor, &o.path, "admission"));
        }
        let kind = kind.trim();
        let Some(kind) = material_kinds().into_iter().find(|k| k.code == kind) else {
            let list = material_kinds()
                .iter()
                .map(|k| k.code.clone())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(AppError::field(
                "kind",
                "invalid_value",
                format!("材料类别应为：{list}"),
                format!("kind is one of: {list}"),
            ));
        };
        let max = self.config.attachment_max_bytes;
        if bytes.len() > max {
            return Err(AppError::field(
                "file",
                "payload_too_large",
                format!("文件不得超过{max}字节"),
                format!("the file exceeds {max} bytes"),
            ));
        }
        if bytes.is_empty() {
            return Err(AppError::field(
                "file",
                "required",
                "请选择文件",
                "choose a file",
            ));
        }
        let Some(content_type) = detect_type(&bytes) else {
            return Err(AppError::field(
                "file",
                "unsupported_type",
                "只接受JPEG、PNG图片或PDF文件（按文件内容判断）",
                "only JPEG or PNG images and PDF files are accepted (judged by their content)",
            ));
        };
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let filename = clean_filename(filename);
        let data_enc = self
            .keys
            .encrypt(&bytes, AAD_ATTACHMENT)
            .map_err(|e| AppError::Internal(format!("encrypt attachment: {e}")))?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let saved = repo::add_attachment(
            &tx,
            admission_attachment::ActiveModel {
                instance_id: Set(row.id),
                kind: Set(kind.code.clone()),
                filename: Set(filename.clone()),
                content_type: Set(content_type.into()),
                size: Set(size),
                sha256: Set(sha256.clone()),
                data_enc: Set(data_enc),
                uploaded_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "admission.attachment.upload".into(),
                target_kind: "admission".into(),
                target_id: Some(row.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "attachment": saved.id,
                    "kind": kind.code,
                    "content_type": content_type,
                    "size": size,
                    "sha256": sha256,
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(AdmissionAttachmentView {
            id: saved.id,
            admission_id: row.id,
            kind,
            filename,
            content_type: content_type.into(),
            size,
            sha256,
            created_at: now,
        })
    }

    /// The attachments of admission `id`, oldest first.
    pub async fn admission_attachments(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<AdmissionAttachmentView>, AppError> {
        let (row, _, _) = self.visible_admission(actor, id).await?;
        Ok(repo::attachments(&self.db.conn, row.id)
            .await?
            .into_iter()
            .map(
                |(aid, kind, filename, content_type, size, sha256, created_at)| {
                    AdmissionAttachmentView {
                        id: aid,
                        admission_id: row.id,
                        kind: kind_of(&kind),
                        filename,
                        content_type,
                        size,
                        sha256,
                        created_at,
                    }
                },
            )
            .collect())
    }

    /// One attachment of admission `id`, decrypted; audited (a read of
    /// personal data).
    pub async fn download_admission_attachment(
        &self,
        actor: &Actor,
        id: i64,
        attachment_id: i64,
    ) -> Result<(AdmissionAttachmentView, Vec<u8>), AppError> {
        let (row, _, o) = self.visible_admission(actor, id).await?;
        let a = repo::attachment(&self.db.conn, attachment_id)
            .await?
            .filter(|a| a.instance_id == row.id)
            .ok_or(AppError::NotFound("attachment"))?;
        let bytes = self
            .keys
            .decrypt(&a.data_enc, AAD_ATTACHMENT)
            .map_err(|e| AppError::Internal(format!("attachment {}: {e}", a.id)))?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "admission.attachment.download".into(),
                target_kind: "admission".into(),
                target_id: Some(row.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"attachment": a.id, "kind": a.kind}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((
            AdmissionAttachmentView {
                id: a.id,
                admission_id: row.id,
                kind: kind_of(&a.kind),
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
                sha256: a.sha256,
                created_at: a.created_at,
            },
            bytes,
        ))
    }
}
