//! Certificates of organizational life (issue 6 scope 5, DOMAIN.md §5).
//!
//! Every member present (online or offline channel) at a meeting marked
//! held gets one certificate: issued in the transaction that marks the
//! meeting held, and for attendance recorded after that, in the transaction
//! that records it — so a certificate exists exactly when the attendance
//! record says present at a held meeting, whether or not anyone downloads it.
//!
//! A certificate is a canonical JSON payload (number, member name,
//! organization, meeting kind, title and date, issue time) signed under the
//! certificate key: Ed25519 in the international crypto suite, SM2 with SM3
//! (GB/T 32918, the default distinguishing identifier) in the national
//! suite (issue 5), the algorithm stored with each signature so both kinds
//! verify after a change of suite. The key is `certificate.key` (Ed25519)
//! or `certificate.sm2.key` (SM2) next to the
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
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::to_local;
use crate::ledger::{hex_seed, load_or_create_key};
use crate::members::AAD_EVENT;
use crate::{Actor, App, AppError};

/// Name of the certificate signing key file, next to the ledger's key.
pub const KEY_FILE_NAME: &str = "certificate.key";
/// Name of the SM2 certificate key file (national suite), next to it.
pub const SM2_KEY_FILE_NAME: &str = "certificate.sm2.key";
const SIGNING_DOMAIN: &str = "certificate.signing";
const SM2_SIGNING_DOMAIN: &str = "certificate.signing.sm2";
/// The SM2 distinguishing identifier: the default of GB/T 35276.
const SM2_DIST_ID: &str = "1234567812345678";
/// The member event (and archive leaf `member.certificate_issued`) of an issue.
pub const EVENT_KIND: &str = "certificate_issued";
const PAYLOAD_VERSION: u8 = 1;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What the certificate key and the renderer are, once loaded.
#[derive(Default)]
pub(crate) struct DocsState {
    key: OnceLock<Arc<DocKey>>,
    renderer: OnceLock<Arc<Renderer>>,
}

/// A document signing key of the deployment's crypto suite.
pub enum DocKey {
    /// International suite.
    Ed25519(SigningKey),
    /// National suite: SM2 with SM3 (GB/T 32918).
    Sm2(sm2::dsa::SigningKey),
}

/// Signature algorithm codes, as stored with each signature.
pub const ALG_ED25519: &str = "ed25519";
pub const ALG_SM2: &str = "sm2";

impl DocKey {
    /// The SM2 key whose secret scalar comes from `seed` (32 random or
    /// derived bytes): a seed that is not a valid scalar (zero or not below
    /// the group order, about 2^-32 of seeds) is hashed with SM3 again.
    pub fn sm2_from_seed(seed: [u8; 32]) -> Result<Self, AppError> {
        let mut bytes = seed;
        for _ in 0..16 {
            if let Ok(secret) = sm2::SecretKey::from_slice(&bytes) {
                let key = sm2::dsa::SigningKey::new(SM2_DIST_ID, &secret).map_err(internal)?;
                return Ok(DocKey::Sm2(key));
            }
            bytes = sm3_of(&bytes);
        }
        Err(internal("no valid SM2 scalar from the seed"))
    }

    /// The algorithm code stored with its signatures.
    pub fn alg(&self) -> &'static str {
        match self {
            DocKey::Ed25519(_) => ALG_ED25519,
            DocKey::Sm2(_) => ALG_SM2,
        }
    }

    /// The signature of `msg`: 64 bytes either way (Ed25519, or SM2's r‖s).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            DocKey::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            DocKey::Sm2(k) => {
                let s: sm2::dsa::Signature = sm2::dsa::signature::Signer::sign(k, msg);
                s.to_bytes().to_vec()
            }
        }
    }

    /// Whether `sig`, made with algorithm `alg`, signs `msg` under this key.
    /// A signature of the other algorithm never verifies.
    pub fn verify(&self, alg: &str, msg: &[u8], sig: &[u8]) -> bool {
        match (self, alg) {
            (DocKey::Ed25519(k), ALG_ED25519) => Signature::from_slice(sig)
                .ok()
                .is_some_and(|s| k.verifying_key().verify(msg, &s).is_ok()),
            (DocKey::Sm2(k), ALG_SM2) => {
                sm2::dsa::Signature::from_slice(sig).ok().is_some_and(|s| {
                    sm2::dsa::signature::Verifier::verify(k.verifying_key(), msg, &s).is_ok()
                })
            }
            _ => false,
        }
    }

    /// The public key as printed on documents: base64 of the Ed25519 key,
    /// or `SM2:` and base64 of the uncompressed SEC1 point.
    pub fn public_key(&self) -> String {
        match self {
            DocKey::Ed25519(k) => B64.encode(k.verifying_key().as_bytes()),
            DocKey::Sm2(k) => format!("SM2:{}", B64.encode(k.verifying_key().to_sec1_bytes())),
        }
    }
}

fn sm3_of(b: &[u8]) -> [u8; 32] {
    use sm3::Digest as _;
    sm3::Sm3::digest(b).into()
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
    /// The certificate signing key of the deployment's suite (see the
    /// module doc).
    pub fn certificate_signing_key(&self) -> Result<Arc<DocKey>, AppError> {
        if let Some(k) = self.docs.key.get() {
            return Ok(k.clone());
        }
        let national = self.keys.suite() == dangjian_store::crypto::Suite::National;
        let key = match (&self.config.ledger_key_file, national) {
            (Some(path), false) => {
                DocKey::Ed25519(load_or_create_key(&path.with_file_name(KEY_FILE_NAME))?)
            }
            // The key file holds a base64 32-byte random seed either way.
            (Some(path), true) => DocKey::sm2_from_seed(
                load_or_create_key(&path.with_file_name(SM2_KEY_FILE_NAME))?.to_bytes(),
            )?,
            (None, false) => DocKey::Ed25519(SigningKey::from_bytes(&hex_seed(
                &self.keys.blind_index(SIGNING_DOMAIN, "v1"),
            )?)),
            (None, true) => {
                DocKey::sm2_from_seed(hex_seed(&self.keys.blind_index(SM2_SIGNING_DOMAIN, "v1"))?)?
            }
        };
        Ok(self.docs.key.get_or_init(|| Arc::new(key)).clone())
    }

    /// The certificate verifier key as printed on the PDF.
    pub fn certificate_public_key(&self) -> Result<String, AppError> {
        Ok(self.certificate_signing_key()?.public_key())
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
        by: Option<i64>,
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
                    "signature": B64.encode(&sig),
                    "signature_alg": key.alg(),
                });
                repo::insert(
                    c,
                    certificate::ActiveModel {
                        number: Set(number),
                        meeting_id: Set(m.id),
                        member_id: Set(mb.id),
                        org_id: Set(o.id),
                        payload: Set(payload),
                        signature: Set(sig),
                        signature_alg: Set(key.alg().to_string()),
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
                            actor_user_id: Set(by),
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
        let signed = self.certificate_signing_key()?.verify(
            &c.signature_alg,
            c.payload.as_bytes(),
            &c.signature,
        );
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

    #[test]
    fn document_keys_sign_and_verify_only_as_their_own_algorithm() {
        let seed = [7u8; 32];
        let sm2 = DocKey::sm2_from_seed(seed).expect("sm2 key");
        let ed = DocKey::Ed25519(SigningKey::from_bytes(&seed));
        // The same seed gives the same SM2 key (a key file is read again).
        assert_eq!(
            sm2.public_key(),
            DocKey::sm2_from_seed(seed).unwrap().public_key()
        );
        assert!(sm2.public_key().starts_with("SM2:"));
        let msg = "{\"member\":\"张三\"}".as_bytes();
        for k in [&sm2, &ed] {
            let sig = k.sign(msg);
            assert_eq!(sig.len(), 64);
            assert!(k.verify(k.alg(), msg, &sig));
            assert!(!k.verify(k.alg(), "{\"member\":\"李四\"}".as_bytes(), &sig));
            let mut bad = sig.clone();
            bad[10] ^= 1;
            assert!(!k.verify(k.alg(), msg, &bad));
            assert!(!k.verify("rsa", msg, &sig));
        }
        // Both signatures are 64 bytes: the stored algorithm decides, and a
        // signature under one algorithm never passes as the other.
        assert!(!sm2.verify(ALG_ED25519, msg, &ed.sign(msg)));
        assert!(!ed.verify(ALG_SM2, msg, &sm2.sign(msg)));
        // A seed that is not a valid scalar (zero) is re-derived, not refused.
        assert!(DocKey::sm2_from_seed([0u8; 32]).is_ok());
    }
}
