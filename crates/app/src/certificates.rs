//! Certificates of organizational life (issue 6 scope 5, DOMAIN.md §5).
//!
//! Every member present (online or offline channel) at a meeting marked
//! held gets one certificate: issued in the transaction that marks the
//! meeting held, and for attendance recorded after that, in the transaction
//! that records it — so a certificate exists exactly when the attendance
//! record says present at a held meeting, whether or not anyone downloads it.
//!
//! A certificate is a canonical JSON payload (number, member name,
//! organization, meeting kind, title and date, issue time) signed with
//! Ed25519 under the certificate key — `certificate.key` next to the
//! ledger's `ledger.key` (mode 0600, created at first use), or derived from
//! the keyring when no key file is configured, like the ledger key but a
//! separate key so a certificate signature can never pass for a checkpoint.
//! Issuing writes a `certificate_issued` member event (detail: number,
//! meeting, payload digest, signature) and so its archive leaf
//! `member.certificate_issued`, which `ledger verify` re-derives like any
//! other event.
//!
//! The number is 80 random bits in Crockford base32 (`XXXX-XXXX-XXXX-XXXX`):
//! the public verification page shows a name, so numbers must not be
//! enumerable. Verification checks the signature of the stored payload
//! against the current key and that the certificate is not revoked, and
//! shows only the member's name and the meeting (title, date, organization).
//!
//! Access to the PDF: the member themself, and those who may list the
//! members of the meeting's organization; anyone else gets `NotFound`.

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use dangjian_docs::{CertificateData, RenderOptions, Renderer};
use dangjian_domain::meetings::{MeetingKind, MeetingStatus};
use dangjian_store::entities::{certificate, meeting, member, member_event, org};
use dangjian_store::repo::certificates as repo;
use dangjian_store::repo::meetings as mrepo;
use dangjian_store::repo::members as memrepo;
use dangjian_store::repo::{audit, orgs as orepo};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::to_local;
use crate::ledger::{hex_seed, load_or_create_key};
use crate::members::AAD_EVENT;
use crate::{Actor, App, AppError};

/// Name of the certificate signing key file, next to the ledger's key.
pub const KEY_FILE_NAME: &str = "certificate.key";
const SIGNING_DOMAIN: &str = "certificate.signing";
/// The member event (and archive leaf `member.certificate_issued`) of an issue.
pub const EVENT_KIND: &str = "certificate_issued";
const PAYLOAD_VERSION: u8 = 1;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What the certificate key and the renderer are, once loaded.
#[derive(Default)]
pub(crate) struct DocsState {
    key: OnceLock<SigningKey>,
    renderer: OnceLock<Arc<Renderer>>,
}

/// The signed content of a certificate, in this field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatePayload {
    pub v: u8,
    pub number: String,
    pub member: String,
    pub org: String,
    pub org_code: String,
    /// Meeting kind code (see `MeetingKind`).
    pub kind: String,
    pub title: String,
    /// Local date of the meeting, `YYYY-MM-DD`.
    pub date: String,
    pub issued_at: DateTime<Utc>,
}

/// A certificate as its holder and their organization see it.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    pub number: String,
    pub meeting_id: i64,
    pub member: String,
    pub org: String,
    pub kind: MeetingKind,
    pub title: String,
    pub date: String,
    pub issued_at: DateTime<Utc>,
    pub revoked: bool,
}

/// Verdict of the public verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    Valid,
    /// No certificate has this number.
    Unknown,
    /// The stored certificate does not match its signature.
    BadSignature,
    Revoked,
}

impl CertificateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Unknown => "unknown",
            Self::BadSignature => "bad_signature",
            Self::Revoked => "revoked",
        }
    }
}

/// What the public verification page shows: the verdict and, only for a
/// valid certificate, the member's name and the meeting.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateCheck {
    pub number: String,
    pub status: CertificateStatus,
    pub valid: bool,
    pub member: Option<String>,
    pub org: Option<String>,
    pub kind: Option<MeetingKind>,
    pub title: Option<String>,
    pub date: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
}

/// A fresh certificate number: 80 random bits, Crockford base32, grouped.
fn new_number() -> Result<String, AppError> {
    let b = crate::identity::random_bytes::<10>()?;
    let mut bits: u128 = 0;
    for x in b {
        bits = (bits << 8) | u128::from(x);
    }
    let mut s = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        let v = ((bits >> (75 - 5 * i)) & 31) as usize;
        s.push(CROCKFORD[v] as char);
    }
    Ok(s)
}

/// Normalizes a typed or scanned number: upper case, `O`→`0`, `I`/`L`→`1`,
/// dashes where they belong; `None` when it cannot be a number.
pub fn normalize_number(input: &str) -> Option<String> {
    let mut raw = String::with_capacity(16);
    for c in input.trim().chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !CROCKFORD.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        raw.push(c);
    }
    if raw.len() != 16 {
        return None;
    }
    let mut s = String::with_capacity(19);
    for (i, c) in raw.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(c);
    }
    Some(s)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("certificates: {e}"))
}

fn view_of(c: &certificate::Model) -> Result<CertificateView, AppError> {
    let p: CertificatePayload = serde_json::from_str(&c.payload).map_err(internal)?;
    Ok(CertificateView {
        number: c.number.clone(),
        meeting_id: c.meeting_id,
        member: p.member,
        org: p.org,
        kind: MeetingKind::parse(&p.kind).ok_or_else(|| internal("unknown meeting kind"))?,
        title: p.title,
        date: p.date,
        issued_at: p.issued_at,
        revoked: c.revoked_at.is_some(),
    })
}

impl App {
    /// The certificate signing key (see the module doc).
    pub fn certificate_signing_key(&self) -> Result<SigningKey, AppError> {
        if let Some(k) = self.docs.key.get() {
            return Ok(k.clone());
        }
        let key = match &self.config.ledger_key_file {
            Some(path) => load_or_create_key(&path.with_file_name(KEY_FILE_NAME))?,
            None => {
                SigningKey::from_bytes(&hex_seed(&self.keys.blind_index(SIGNING_DOMAIN, "v1"))?)
            }
        };
        Ok(self.docs.key.get_or_init(|| key).clone())
    }

    /// The certificate verifier key, base64 of the Ed25519 public key.
    pub fn certificate_public_key(&self) -> Result<String, AppError> {
        Ok(B64.encode(self.certificate_signing_key()?.verifying_key().as_bytes()))
    }

    /// The PDF renderer (embedded font subset, configured fallback font and
    /// template directory), loaded once.
    pub fn renderer(&self) -> Result<Arc<Renderer>, AppError> {
        if let Some(r) = self.docs.renderer.get() {
            return Ok(r.clone());
        }
        let mut options = RenderOptions {
            template_dir: self.config.docs_template_dir.clone(),
            fallback_font: self.config.docs_fallback_font.clone(),
        };
        let r = match Renderer::new(&options) {
            Ok(r) => r,
            // A wrong fallback path must not stop every download: log it
            // and render with the embedded subset (rare characters are
            // then named on the document).
            Err(e) if options.fallback_font.is_some() => {
                tracing::error!(error = %e, "docs_fallback_font not usable; using the embedded font only");
                options.fallback_font = None;
                Renderer::new(&options).map_err(internal)?
            }
            Err(e) => return Err(internal(e)),
        };
        Ok(self.docs.renderer.get_or_init(|| Arc::new(r)).clone())
    }

    /// Issues the missing certificates of `m` (held) to its present
    /// attendees — only `only` when given — in `c`; returns how many.
    pub(crate) async fn issue_certificates_in<C: ConnectionTrait>(
        &self,
        c: &C,
        actor: &Actor,
        m: &meeting::Model,
        o: &org::Model,
        only: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        if m.status != MeetingStatus::Held.as_str() {
            return Ok(0);
        }
        let present: Vec<i64> = match only {
            Some(id) => mrepo::attendance_row(c, m.id, id)
                .await?
                .filter(|r| r.state == "present")
                .map(|r| r.member_id)
                .into_iter()
                .collect(),
            None => mrepo::attendance(c, m.id)
                .await?
                .into_iter()
                .filter(|r| r.state == "present")
                .map(|r| r.member_id)
                .collect(),
        };
        if present.is_empty() {
            return Ok(0);
        }
        let issued: std::collections::HashSet<i64> = repo::of_meeting(c, m.id)
            .await?
            .into_iter()
            .map(|r| r.member_id)
            .collect();
        let todo: Vec<i64> = present
            .into_iter()
            .filter(|id| !issued.contains(id))
            .collect();
        if todo.is_empty() {
            return Ok(0);
        }
        let key = self.certificate_signing_key()?;
        let date = to_local(m.starts_at).format("%Y-%m-%d").to_string();
        let mut events = Vec::with_capacity(todo.len());
        for chunk in todo.chunks(400) {
            let members = member::Entity::find()
                .filter(member::Column::Id.is_in(chunk.to_vec()))
                .all(c)
                .await?;
            for mb in members {
                let number = new_number()?;
                let payload = serde_json::to_string(&CertificatePayload {
                    v: PAYLOAD_VERSION,
                    number: number.clone(),
                    member: mb.name.clone(),
                    org: o.name.clone(),
                    org_code: o.code.clone(),
                    kind: m.kind.clone(),
                    title: m.title.clone(),
                    date: date.clone(),
                    issued_at: now,
                })
                .map_err(internal)?;
                let sig = key.sign(payload.as_bytes());
                let detail = serde_json::json!({
                    "number": number,
                    "meeting_id": m.id,
                    "payload_sha256": hex::encode(Sha256::digest(payload.as_bytes())),
                    "signature": B64.encode(sig.to_bytes()),
                });
                repo::insert(
                    c,
                    certificate::ActiveModel {
                        number: Set(number),
                        meeting_id: Set(m.id),
                        member_id: Set(mb.id),
                        org_id: Set(o.id),
                        payload: Set(payload),
                        signature: Set(sig.to_bytes().to_vec()),
                        issued_at: Set(now),
                        revoked_at: Set(None),
                        revoked_reason: Set(None),
                        ..Default::default()
                    },
                )
                .await?;
                events.push(
                    memrepo::add_event(
                        c,
                        member_event::ActiveModel {
                            member_id: Set(mb.id),
                            org_id: Set(mb.org_id),
                            at: Set(now),
                            kind: Set(EVENT_KIND.into()),
                            actor_user_id: Set(actor.audit_id()),
                            detail_enc: Set(self
                                .keys
                                .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
                            ..Default::default()
                        },
                    )
                    .await?,
                );
            }
        }
        let n = events.len();
        let mut ledger = self.ledger_appender(c).await?;
        ledger.append_events(self, c, events).await?;
        Ok(n)
    }

    /// How many certificates of meeting `id` are issued (not revoked), for
    /// those who may read the meeting.
    pub async fn meeting_certificate_count(&self, actor: &Actor, id: i64) -> Result<u64, AppError> {
        let m = mrepo::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("meeting"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("meeting"))?;
        if !actor.can_list_members(&o.path) && !actor.attends(&o.path) {
            return Err(AppError::NotFound("meeting"));
        }
        Ok(repo::count_of_meeting(&self.db.conn, id).await?)
    }

    /// The acting member's own certificates, newest first.
    pub async fn my_certificates(&self, actor: &Actor) -> Result<Vec<CertificateView>, AppError> {
        let Some(me) = actor.member_id else {
            return Ok(Vec::new());
        };
        repo::of_member(&self.db.conn, me)
            .await?
            .iter()
            .map(view_of)
            .collect()
    }

    /// A certificate the actor may download: their own, or one of an
    /// organization whose members they may list. Others are `NotFound`.
    async fn readable_certificate(
        &self,
        actor: &Actor,
        number: &str,
    ) -> Result<certificate::Model, AppError> {
        let number = normalize_number(number).ok_or(AppError::NotFound("certificate"))?;
        let c = repo::by_number(&self.db.conn, &number)
            .await?
            .ok_or(AppError::NotFound("certificate"))?;
        if actor.member_id == Some(c.member_id) {
            return Ok(c);
        }
        let o = orepo::get(&self.db.conn, c.org_id)
            .await?
            .ok_or(AppError::NotFound("certificate"))?;
        if actor.can_list_members(&o.path) {
            Ok(c)
        } else {
            Err(AppError::NotFound("certificate"))
        }
    }

    /// The certificate as a PDF, its verification URL built on `origin`
    /// (`https://host`); returns the file name and the bytes. Audited when
    /// someone other than the member downloads it.
    pub async fn certificate_pdf(
        &self,
        actor: &Actor,
        number: &str,
        origin: &str,
    ) -> Result<(String, Vec<u8>), AppError> {
        let c = self.readable_certificate(actor, number).await?;
        let v = view_of(&c)?;
        if actor.member_id != Some(c.member_id) {
            let (_writer, tx) = self.begin_write().await?;
            audit::append(
                &tx,
                audit::Entry {
                    user_id: actor.audit_id(),
                    action: "certificate.download".into(),
                    target_kind: "certificate".into(),
                    target_id: Some(c.id),
                    org_id: Some(c.org_id),
                    remote_addr: actor.remote_addr.clone(),
                    detail: serde_json::json!({"number": c.number}),
                },
                self.clock.now(),
            )
            .await?;
            tx.commit().await?;
        }
        let data = CertificateData {
            name: v.member.clone(),
            org: v.org.clone(),
            kind: v.kind.label_zh().into(),
            title: v.title.clone(),
            date: chrono::NaiveDate::parse_from_str(&v.date, "%Y-%m-%d")
                .map(|d| d.format("%Y年%-m月%-d日").to_string())
                .unwrap_or_else(|_| v.date.clone()),
            number: v.number.clone(),
            issued: to_local(v.issued_at).format("%Y-%m-%d %H:%M").to_string(),
            url: format!("{origin}/verify/certificate/{}", v.number),
            key: self.certificate_public_key()?,
            note: if v.revoked {
                "本证明已被撤销。".into()
            } else {
                String::new()
            },
        };
        let renderer = self.renderer()?;
        // Typst layout is CPU work: keep it off the async workers.
        let pdf = tokio::task::spawn_blocking(move || renderer.certificate(&data))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        Ok((format!("组织生活证明-{}-{}.pdf", v.member, v.number), pdf))
    }

    /// The public verification of certificate `number` (no login): valid,
    /// unknown, bad signature or revoked; the name and meeting only when
    /// valid.
    pub async fn verify_certificate(&self, number: &str) -> Result<CertificateCheck, AppError> {
        let shown = number.trim().chars().take(40).collect::<String>();
        let nothing = |status| CertificateCheck {
            number: shown.clone(),
            status,
            valid: false,
            member: None,
            org: None,
            kind: None,
            title: None,
            date: None,
            issued_at: None,
        };
        let Some(n) = normalize_number(number) else {
            return Ok(nothing(CertificateStatus::Unknown));
        };
        let Some(c) = repo::by_number(&self.db.conn, &n).await? else {
            return Ok(nothing(CertificateStatus::Unknown));
        };
        let key: VerifyingKey = self.certificate_signing_key()?.verifying_key();
        let signed = Signature::from_slice(&c.signature)
            .ok()
            .is_some_and(|s| key.verify(c.payload.as_bytes(), &s).is_ok());
        let payload = serde_json::from_str::<CertificatePayload>(&c.payload).ok();
        let Some(p) = payload.filter(|p| signed && p.number == c.number) else {
            tracing::warn!(number = %c.number, "certificate does not match its signature");
            return Ok(nothing(CertificateStatus::BadSignature));
        };
        if c.revoked_at.is_some() {
            return Ok(nothing(CertificateStatus::Revoked));
        }
        Ok(CertificateCheck {
            number: c.number,
            status: CertificateStatus::Valid,
            valid: true,
            member: Some(p.member),
            org: Some(p.org),
            kind: MeetingKind::parse(&p.kind),
            title: Some(p.title),
            date: Some(p.date),
            issued_at: Some(p.issued_at),
        })
    }

    /// Revokes a certificate (the secretary found the attendance wrong);
    /// audited.
    pub async fn revoke_certificate(
        &self,
        actor: &Actor,
        number: &str,
        reason: &str,
    ) -> Result<CertificateView, AppError> {
        let c = self.readable_certificate(actor, number).await?;
        let o = orepo::get(&self.db.conn, c.org_id)
            .await?
            .ok_or(AppError::NotFound("certificate"))?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::field(
                "reason",
                "required",
                "请填写撤销原因",
                "Give the reason for revoking",
            ));
        }
        let reason: String = reason.chars().take(500).collect();
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::revoke(&tx, c, now, &reason).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "certificate.revoke".into(),
                target_kind: "certificate".into(),
                target_id: Some(row.id),
                org_id: Some(row.org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"number": row.number, "reason": reason}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        view_of(&row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_crockford_and_normalize() {
        let n = new_number().unwrap();
        assert_eq!(n.len(), 19);
        assert_eq!(normalize_number(&n).as_deref(), Some(n.as_str()));
        assert_eq!(
            normalize_number("zs7k m2qf 8d4n xw3p").as_deref(),
            Some("ZS7K-M2QF-8D4N-XW3P")
        );
        assert_eq!(
            normalize_number("o0il-0000-0000-0000").as_deref(),
            Some("0011-0000-0000-0000")
        );
        assert_eq!(normalize_number("ZS7K-M2QF-8D4N"), None);
        assert_eq!(normalize_number("ZS7K-M2QF-8D4N-XW3U"), None);
        assert_eq!(normalize_number("张三"), None);
        assert_ne!(new_number().unwrap(), n);
    }
}
