//! Near-duplicate minutes (DOMAIN.md §5): each meeting's MinHash signature
//! of its minutes and its LSH band keys. Saving minutes replaces both (and
//! drops an earlier confirmation, which was about other text); a check
//! reads the signatures sharing a band key through `idx_minutes_bands_key`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::StoreError;
use crate::entities::{minutes_band as band, minutes_signature as sig};

/// Stores the signature and band keys of a meeting's minutes, replacing
/// any earlier ones.
pub async fn put<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    org_id: i64,
    scheme: &str,
    signature: Vec<u8>,
    band_keys: &[i64],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    remove(c, meeting_id).await?;
    sig::Entity::insert(sig::ActiveModel {
        meeting_id: Set(meeting_id),
        org_id: Set(org_id),
        scheme: Set(scheme.into()),
        signature: Set(signature),
        updated_at: Set(now),
        confirmed_reason: Set(None),
        confirmed_by: Set(None),
        confirmed_at: Set(None),
    })
    .exec(c)
    .await?;
    if !band_keys.is_empty() {
        band::Entity::insert_many(band_keys.iter().map(|&k| band::ActiveModel {
            band_key: Set(k),
            meeting_id: Set(meeting_id),
            ..Default::default()
        }))
        .exec(c)
        .await?;
    }
    Ok(())
}

/// Drops the signature of a meeting (minutes too short to compare).
pub async fn remove<C: ConnectionTrait>(c: &C, meeting_id: i64) -> Result<(), StoreError> {
    sig::Entity::delete_many()
        .filter(sig::Column::MeetingId.eq(meeting_id))
        .exec(c)
        .await?;
    band::Entity::delete_many()
        .filter(band::Column::MeetingId.eq(meeting_id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Option<sig::Model>, StoreError> {
    Ok(sig::Entity::find_by_id(meeting_id).one(c).await?)
}

/// The stored signatures, other than `except`'s, sharing at least one of
/// `band_keys` under `scheme`: one indexed lookup per key, then the
/// signatures by primary key.
pub async fn candidates<C: ConnectionTrait>(
    c: &C,
    band_keys: &[i64],
    except: i64,
    scheme: &str,
) -> Result<Vec<sig::Model>, StoreError> {
    if band_keys.is_empty() {
        return Ok(Vec::new());
    }
    let sub = Query::select()
        .column(band::Column::MeetingId)
        .from(band::Entity)
        .and_where(band::Column::BandKey.is_in(band_keys.iter().copied()))
        .to_owned();
    Ok(sig::Entity::find()
        .filter(sig::Column::MeetingId.in_subquery(sub))
        .filter(sig::Column::MeetingId.ne(except))
        .filter(sig::Column::Scheme.eq(scheme))
        .all(c)
        .await?)
}

/// Records the branch's confirmation that the minutes are genuine; false
/// when the meeting has no stored signature.
pub async fn confirm<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    reason: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let r = sig::Entity::update_many()
        .set(sig::ActiveModel {
            confirmed_reason: Set(Some(reason.into())),
            confirmed_by: Set(by),
            confirmed_at: Set(Some(now)),
            ..Default::default()
        })
        .filter(sig::Column::MeetingId.eq(meeting_id))
        .exec(c)
        .await?;
    Ok(r.rows_affected > 0)
}

/// A page of signatures in meeting id order (the benchmark's brute-force baseline).
pub async fn page<C: ConnectionTrait>(
    c: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<sig::Model>, StoreError> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(sig::Entity::find()
        .filter(sig::Column::MeetingId.gt(after))
        .order_by_asc(sig::Column::MeetingId)
        .limit(limit)
        .all(c)
        .await?)
}
