//! Meeting attachments (DOMAIN.md §5): photos and scans of the minutes and
//! the optional photo of the paper attendance list. The type is taken from
//! the content (magic bytes: JPEG, PNG or PDF only), never from the name or
//! the client's claim; the size is limited (`AppConfig::attachment_max_bytes`);
//! the bytes are stored in the database with their SHA-256.
//!
//! Access: those who manage the meeting upload; those who may see the
//! meeting list and download. Uploads and downloads are audited.

use chrono::{DateTime, Utc};
use dangjian_domain::meetings::{AttachmentPurpose, MeetingStatus};
use dangjian_store::entities::meeting_attachment;
use dangjian_store::repo::{audit, votes as repo};
use sea_orm::Set;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Actor, App, AppError};

/// Default largest attachment: 10 MiB.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Longest file name kept, in characters.
pub const FILENAME_MAX_CHARS: usize = 200;
/// The content types accepted, as detected from the bytes.
pub const ACCEPTED_TYPES: &[&str] = &["image/jpeg", "image/png", "application/pdf"];

/// An attachment as listed (without its bytes).
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub id: i64,
    pub meeting_id: i64,
    pub purpose: AttachmentPurpose,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// The content type of `bytes` when it is one we accept.
pub fn detect_type(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes)
        .map(|t| t.mime_type())
        .and_then(|m| ACCEPTED_TYPES.iter().copied().find(|a| *a == m))
}

/// The last path component of a client's file name, without control
/// characters, at most [`FILENAME_MAX_CHARS`]; "attachment" when nothing is left.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(FILENAME_MAX_CHARS)
        .collect();
    let s = s.trim().to_string();
    if s.is_empty() || s == "." || s == ".." {
        "attachment".into()
    } else {
        s
    }
}

impl App {
    /// Stores an attachment of meeting `meeting_id`; audited.
    pub async fn upload_attachment(
        &self,
        actor: &Actor,
        meeting_id: i64,
        purpose: AttachmentPurpose,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Result<AttachmentView, AppError> {
        let (m, o, access) = self.visible_meeting(actor, meeting_id).await?;
        if !access.manage {
            return Err(AppError::Forbidden);
        }
        if m.status == MeetingStatus::Cancelled.as_str() {
            return Err(AppError::field(
                "meeting",
                "cancelled",
                "会议已取消",
                "the meeting was cancelled",
            ));
        }
        let max = self.config.attachment_max_bytes;
        if bytes.len() > max {
            return Err(AppError::field(
                "file",
                "payload_too_large",
                format!("文件不得超过{}字节", max),
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
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::add_attachment(
            &tx,
            meeting_attachment::ActiveModel {
                meeting_id: Set(m.id),
                purpose: Set(purpose.as_str().into()),
                filename: Set(filename.clone()),
                content_type: Set(content_type.into()),
                size: Set(size),
                sha256: Set(sha256.clone()),
                data: Set(bytes),
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
                action: "meeting.attachment.upload".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "attachment": row.id,
                    "purpose": purpose.as_str(),
                    "content_type": content_type,
                    "size": size,
                    "sha256": sha256,
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(AttachmentView {
            id: row.id,
            meeting_id: m.id,
            purpose,
            filename,
            content_type: content_type.into(),
            size,
            sha256,
            created_at: now,
        })
    }

    /// The attachments of meeting `meeting_id`, oldest first.
    pub async fn meeting_attachments(
        &self,
        actor: &Actor,
        meeting_id: i64,
    ) -> Result<Vec<AttachmentView>, AppError> {
        let (m, _, _) = self.visible_meeting(actor, meeting_id).await?;
        repo::attachments(&self.db.conn, m.id)
            .await?
            .into_iter()
            .map(
                |(id, purpose, filename, content_type, size, sha256, created_at)| {
                    Ok(AttachmentView {
                        id,
                        meeting_id: m.id,
                        purpose: AttachmentPurpose::parse(&purpose).ok_or_else(|| {
                            AppError::Internal(format!("attachment {id} has an unknown purpose"))
                        })?,
                        filename,
                        content_type,
                        size,
                        sha256,
                        created_at,
                    })
                },
            )
            .collect()
    }

    /// One attachment of meeting `meeting_id` with its bytes; audited.
    pub async fn download_attachment(
        &self,
        actor: &Actor,
        meeting_id: i64,
        id: i64,
    ) -> Result<(AttachmentView, Vec<u8>), AppError> {
        let (m, o, _) = self.visible_meeting(actor, meeting_id).await?;
        let a = repo::attachment(&self.db.conn, id)
            .await?
            .filter(|a| a.meeting_id == m.id)
            .ok_or(AppError::NotFound("attachment"))?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.attachment.download".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"attachment": a.id}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        let view = AttachmentView {
            id: a.id,
            meeting_id: m.id,
            purpose: AttachmentPurpose::parse(&a.purpose).unwrap_or(AttachmentPurpose::Minutes),
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            created_at: a.created_at,
        };
        Ok((view, a.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_content_not_name() {
        assert_eq!(
            detect_type(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"),
            Some("image/jpeg")
        );
        assert_eq!(
            detect_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(detect_type(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(detect_type(b"GIF89a......"), None);
        assert_eq!(detect_type(b"<html>hello</html>"), None);
        assert_eq!(detect_type(b"PK\x03\x04zip"), None);
    }

    #[test]
    fn file_names_lose_paths_and_controls() {
        assert_eq!(clean_filename("C:\\scans\\会议记录.pdf"), "会议记录.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\r\nb\".png"), "ab.png");
        assert_eq!(clean_filename(".."), "attachment");
        assert_eq!(clean_filename(""), "attachment");
    }
}
