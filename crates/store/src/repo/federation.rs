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
        digests_at: Set(None),
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

/// Replaces the digest set of `origin` (its active members, as keyed
/// digests), in the caller's transaction.
pub async fn replace_digests<C: ConnectionTrait>(
    c: &C,
    origin: &str,
    digests: &[String],
) -> Result<(), StoreError> {
    use sea_orm::{Statement, Value};
    let backend = c.get_database_backend();
    c.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DatabaseBackend::Postgres => {
                "DELETE FROM federation_digests WHERE origin = $1"
            }
            _ => "DELETE FROM federation_digests WHERE origin = ?",
        },
        [Value::from(origin.to_string())],
    ))
    .await?;
    for chunk in digests.chunks(400) {
        let mut sql = String::from("INSERT INTO federation_digests (origin, digest) VALUES ");
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for (i, d) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                }
                _ => sql.push_str("(?, ?)"),
            }
            values.push(Value::from(origin.to_string()));
            values.push(Value::from(d.clone()));
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        c.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// The digests of `origin` that are also held under another origin.
pub async fn shared_digests<C: ConnectionTrait>(
    c: &C,
    origin: &str,
) -> Result<Vec<String>, StoreError> {
    use sea_orm::{Statement, Value};
    let backend = c.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT DISTINCT a.digest FROM federation_digests a JOIN federation_digests b \
             ON a.digest = b.digest AND b.origin <> a.origin WHERE a.origin = $1 ORDER BY a.digest"
        }
        _ => {
            "SELECT DISTINCT a.digest FROM federation_digests a JOIN federation_digests b \
             ON a.digest = b.digest AND b.origin <> a.origin WHERE a.origin = ? ORDER BY a.digest"
        }
    };
    let rows = c
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(origin.to_string())],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "digest").map_err(StoreError::from))
        .collect()
}

/// Records when `origin`'s digest list was made; false (nothing written)
/// when a more recent list was accepted already (an old list replayed). The
/// same time again is the same list resent, and is accepted.
pub async fn bump_digests_at<C: ConnectionTrait>(
    c: &C,
    origin: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let r = witness_log::Entity::update_many()
        .col_expr(witness_log::Column::DigestsAt, Expr::value(at))
        .filter(witness_log::Column::Origin.eq(origin))
        .filter(
            sea_orm::Condition::any()
                .add(witness_log::Column::DigestsAt.is_null())
                .add(witness_log::Column::DigestsAt.lte(at)),
        )
        .exec(c)
        .await?;
    Ok(r.rows_affected == 1)
}
