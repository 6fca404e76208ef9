//! Near-duplicate minutes (the meetings context, DOMAIN.md §5: "identical
//! content: minutes copied between meetings or branches"). Saving minutes
//! stores their signature (`dangjian_text`) and band keys in the same
//! transaction; the check looks the keys up in the index and compares the
//! few candidates. A match the actor may see is named (meeting, date,
//! organization); any other is "another organization's minutes", with no
//! detail. The branch may confirm that its minutes are genuine, with a
//! reason; the confirmation is stored and audited, and dropped when the
//! minutes change. Flagged minutes are also a yellow `minutes_near_duplicate`
//! warning on the meeting, through the warning engine, closed by the
//! confirmation or by minutes that are no longer similar.

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::meetings::minutes_duplicate_finding;
use dangjian_domain::warnings::{RuleId, SubjectKind};
use dangjian_store::repo::minutes as repo;
use dangjian_store::repo::{audit, meetings as mrepo, orgs as orepo};
use dangjian_text::{SCHEME, Signature};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::meetings::AGENDA_MAX_CHARS;
use crate::{Actor, App, AppError};
use dangjian_domain::FieldError;

/// Most matches a check reports, most similar first.
pub const MAX_MATCHES: usize = 5;

/// One stored meeting whose minutes are nearly identical.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateMatch {
    /// Estimated share of shared text, in per cent.
    pub similarity_percent: u32,
    /// Whether the actor may see the other meeting; if not, the fields
    /// below are empty ("another organization's minutes").
    pub visible: bool,
    pub meeting_id: Option<i64>,
    pub title: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub org_name: Option<String>,
}

/// The branch's confirmation that similar minutes are genuine.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the duplicate check says about a meeting's minutes.
#[derive(Debug, Clone, Serialize)]
pub struct MinutesCheck {
    pub meeting_id: i64,
    /// False when there are no minutes or they are too short to compare.
    pub checked: bool,
    pub duplicates: Vec<DuplicateMatch>,
    pub confirmation: Option<Confirmation>,
}

/// Stores the signature of `text` as the minutes of a meeting, in `c`.
pub(crate) async fn store_signature<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    org_id: i64,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match Signature::of(text) {
        Some(s) => {
            repo::put(
                c,
                meeting_id,
                org_id,
                SCHEME,
                s.to_bytes(),
                &s.band_keys(),
                now,
            )
            .await?
        }
        None => repo::remove(c, meeting_id).await?,
    }
    Ok(())
}

/// The stored meetings whose signatures are nearly identical to `sig`,
/// other than `except`: (meeting id, organization id, similarity), most
/// similar first. One index lookup per band key, then the candidates only.
pub async fn near_duplicates<C: ConnectionTrait>(
    c: &C,
    sig: &Signature,
    except: i64,
) -> Result<Vec<(i64, i64, f64)>, AppError> {
    let mut out: Vec<(i64, i64, f64)> = repo::candidates(c, &sig.band_keys(), except, SCHEME)
        .await?
        .into_iter()
        .filter_map(|r| {
            let s = Signature::from_bytes(&r.signature)?;
            let sim = sig.similarity(&s);
            sig.near_duplicate_of(&s)
                .then_some((r.meeting_id, r.org_id, sim))
        })
        .collect();
    out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// Raises, keeps or clears the meeting's `minutes_near_duplicate` warning
/// (DOMAIN.md §5) from its stored signature and confirmation, in `c`: in the
/// transaction that saves the minutes and in the one that confirms them.
pub(crate) async fn reconcile_duplicate_warning<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    org_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let (similar, confirmed) = match repo::get(c, meeting_id).await? {
        Some(stored) => match Signature::from_bytes(&stored.signature) {
            Some(sig) => (
                near_duplicates(c, &sig, meeting_id)
                    .await?
                    .iter()
                    .map(|(_, _, sim)| (sim * 100.0).round() as u32)
                    .collect::<Vec<_>>(),
                stored.confirmed_at.is_some(),
            ),
            None => (Vec::new(), false),
        },
        // No minutes, or too short to compare: nothing to flag.
        None => (Vec::new(), false),
    };
    let findings: Vec<_> = minutes_duplicate_finding(meeting_id, &similar, confirmed)
        .into_iter()
        .collect();
    crate::warnings::reconcile_subjects(
        c,
        SubjectKind::Meeting,
        &[meeting_id],
        &[RuleId::MinutesNearDuplicate],
        &findings,
        &move |_| Some(org_id),
        today,
        now,
    )
    .await?;
    Ok(())
}

impl App {
    /// The duplicate check of a meeting's stored minutes, for those who may
    /// see the meeting.
    pub async fn minutes_check(&self, actor: &Actor, id: i64) -> Result<MinutesCheck, AppError> {
        self.meeting_detail(actor, id).await?;
        let Some(stored) = repo::get(&self.db.conn, id).await? else {
            return Ok(MinutesCheck {
                meeting_id: id,
                checked: false,
                duplicates: Vec::new(),
                confirmation: None,
            });
        };
        let sig = Signature::from_bytes(&stored.signature)
            .ok_or_else(|| AppError::Internal(format!("meeting {id}: unreadable signature")))?;
        let found = near_duplicates(&self.db.conn, &sig, id).await?;
        let ids: Vec<i64> = found.iter().take(MAX_MATCHES).map(|f| f.0).collect();
        let meetings = mrepo::by_ids(&self.db.conn, &ids).await?;
        let mut org_ids: Vec<i64> = meetings.iter().map(|m| m.org_id).collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        let orgs = orepo::by_ids(&self.db.conn, &org_ids).await?;
        let mut duplicates = Vec::new();
        for (mid, _, sim) in found.iter().take(MAX_MATCHES) {
            let m = meetings.iter().find(|m| m.id == *mid);
            let o = m.and_then(|m| orgs.iter().find(|o| o.id == m.org_id));
            let pct = (sim * 100.0).round() as u32;
            match (m, o) {
                (Some(m), Some(o)) if actor.can_list_members(&o.path) || actor.attends(&o.path) => {
                    duplicates.push(DuplicateMatch {
                        similarity_percent: pct,
                        visible: true,
                        meeting_id: Some(m.id),
                        title: Some(m.title.clone()),
                        starts_at: Some(m.starts_at),
                        org_name: Some(o.name.clone()),
                    })
                }
                _ => duplicates.push(DuplicateMatch {
                    similarity_percent: pct,
                    visible: false,
                    meeting_id: None,
                    title: None,
                    starts_at: None,
                    org_name: None,
                }),
            }
        }
        let confirmation = match (stored.confirmed_reason, stored.confirmed_at) {
            (Some(reason), Some(at)) => Some(Confirmation { reason, at }),
            _ => None,
        };
        Ok(MinutesCheck {
            meeting_id: id,
            checked: true,
            duplicates,
            confirmation,
        })
    }

    /// The branch confirms that its minutes, flagged as nearly identical to
    /// another meeting's, are genuine; `reason` is required, stored with the
    /// signature and audited. Refused when nothing is flagged.
    pub async fn confirm_minutes(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<MinutesCheck, AppError> {
        let d = self.meeting_detail(actor, id).await?;
        if !d.can_manage {
            return Err(AppError::Forbidden);
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::field(
                "reason",
                "required",
                "请说明会议记录相似的原因",
                "Give the reason the minutes are similar",
            ));
        }
        if reason.chars().count() > AGENDA_MAX_CHARS {
            return Err(AppError::field(
                "reason",
                "too_long",
                format!("说明不超过{AGENDA_MAX_CHARS}个字"),
                format!("The reason has at most {AGENDA_MAX_CHARS} characters"),
            ));
        }
        let check = self.minutes_check(actor, id).await?;
        if check.duplicates.is_empty() {
            return Err(AppError::Conflict(FieldError::new(
                "reason",
                "not_flagged",
                "本次会议记录未被提示与其他会议雷同，无需确认",
                "These minutes are not flagged as nearly identical to another meeting's",
            )));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        repo::confirm(&tx, id, reason, actor.audit_id(), now).await?;
        reconcile_duplicate_warning(&tx, id, d.meeting.org.id, self.today(), now).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.minutes_confirmed".into(),
                target_kind: "meeting".into(),
                target_id: Some(id),
                org_id: Some(d.meeting.org.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "reason": reason,
                    "similar": check.duplicates.iter().map(|m| m.meeting_id).collect::<Vec<_>>(),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.minutes_check(actor, id).await
    }
}
