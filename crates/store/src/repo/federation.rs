//! Federation storage (issue 4 §5): the child logs this server witnesses and
//! what it cosigned for each; the cosignatures this server's own checkpoints
//! received from its parent.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::StoreError;
use crate::entities::{ledger_cosignature, witness_cosigned, witness_log};

/// Registers a child log, or replaces its key (keeping what was cosigned).
pub async fn upsert_log<C: ConnectionTrait>(
    c: &C,
    origin: &str,
    vkey: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let am = witness_log::ActiveModel {
        origin: Set(origin.to_string()),
        vkey: Set(vkey.to_string()),
        size: Set(0),
        root: Set(None),
        note: Set(None),
        added_at: Set(now),
        updated_at: Set(now),
    };
    witness_log::Entity::insert(am)
        .on_conflict(
            OnConflict::column(witness_log::Column::Origin)
                .update_columns([witness_log::Column::Vkey, witness_log::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// One witnessed log by origin.
pub async fn log<C: ConnectionTrait>(
    c: &C,
    origin: &str,
) -> Result<Option<witness_log::Model>, StoreError> {
    Ok(witness_log::Entity::find_by_id(origin.to_string())
        .one(c)
        .await?)
}

/// Every witnessed log, by origin.
pub async fn logs<C: ConnectionTrait>(c: &C) -> Result<Vec<witness_log::Model>, StoreError> {
    Ok(witness_log::Entity::find()
        .order_by_asc(witness_log::Column::Origin)
        .all(c)
        .await?)
}

/// Advances a log from `old_size` to a newly cosigned checkpoint and records
/// it. Returns false, writing nothing, when the log is no longer at
/// `old_size` (another request advanced it first).
pub async fn advance<C: ConnectionTrait>(
    c: &C,
    origin: &str,
    old_size: u64,
    size: u64,
    root: &[u8],
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let r = witness_log::Entity::update_many()
        .col_expr(witness_log::Column::Size, Expr::value(size as i64))
        .col_expr(witness_log::Column::Root, Expr::value(root.to_vec()))
        .col_expr(witness_log::Column::Note, Expr::value(note.to_string()))
        .col_expr(witness_log::Column::UpdatedAt, Expr::value(now))
        .filter(witness_log::Column::Origin.eq(origin))
        .filter(witness_log::Column::Size.eq(old_size as i64))
        .exec(c)
        .await?;
    if r.rows_affected != 1 {
        return Ok(false);
    }
    witness_cosigned::ActiveModel {
        origin: Set(origin.to_string()),
        size: Set(size as i64),
        root: Set(root.to_vec()),
        note: Set(note.to_string()),
        at: Set(now),
        ..Default::default()
    }
    .insert(c)
    .await?;
    Ok(true)
}

/// The checkpoints cosigned for a log, oldest first.
pub async fn cosigned<C: ConnectionTrait>(
    c: &C,
    origin: &str,
) -> Result<Vec<witness_cosigned::Model>, StoreError> {
    Ok(witness_cosigned::Entity::find()
        .filter(witness_cosigned::Column::Origin.eq(origin))
        .order_by_asc(witness_cosigned::Column::Id)
        .all(c)
        .await?)
}

/// Stores this server's checkpoint as cosigned by `witness`.
pub async fn insert_cosignature<C: ConnectionTrait>(
    c: &C,
    witness: &str,
    size: u64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let am = ledger_cosignature::ActiveModel {
        witness: Set(witness.to_string()),
        size: Set(size as i64),
        note: Set(note.to_string()),
        at: Set(now),
    };
    ledger_cosignature::Entity::insert(am)
        .on_conflict(
            OnConflict::columns([
                ledger_cosignature::Column::Witness,
                ledger_cosignature::Column::Size,
            ])
            .update_columns([
                ledger_cosignature::Column::Note,
                ledger_cosignature::Column::At,
            ])
            .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// The largest checkpoint of this server that `witness` cosigned.
pub async fn latest_cosignature<C: ConnectionTrait>(
    c: &C,
    witness: &str,
) -> Result<Option<ledger_cosignature::Model>, StoreError> {
    Ok(ledger_cosignature::Entity::find()
        .filter(ledger_cosignature::Column::Witness.eq(witness))
        .order_by_desc(ledger_cosignature::Column::Size)
        .one(c)
        .await?)
}
