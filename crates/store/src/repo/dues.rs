//! Membership dues (DOMAIN.md §7): annual bases, monthly charges and
//! payments. Rows are only ever inserted. Generating a month's sheet is one
//! `INSERT … SELECT` per batch of organizations (the hot path of DESIGN.md
//! §Storage), idempotent through the unique (member, month) index.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

use crate::StoreError;
use crate::entities::{dues_base, dues_charge, dues_payment, dues_remittance, org};
use crate::repo::orgs::in_subtree;

pub async fn insert_base<C: ConnectionTrait>(
    c: &C,
    row: dues_base::ActiveModel,
) -> Result<dues_base::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn insert_payment<C: ConnectionTrait>(
    c: &C,
    row: dues_payment::ActiveModel,
) -> Result<dues_payment::Model, StoreError> {
    Ok(row.insert(c).await?)
}

/// Every base of a member, newest first (the history).
pub async fn bases_of<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
) -> Result<Vec<dues_base::Model>, StoreError> {
    Ok(dues_base::Entity::find()
        .filter(dues_base::Column::MemberId.eq(member_id))
        .order_by_desc(dues_base::Column::EffectiveFrom)
        .order_by_desc(dues_base::Column::Id)
        .all(c)
        .await?)
}

pub async fn charges_of<C: ConnectionTrait>(
    c: &C,
    member_ids: &[i64],
) -> Result<Vec<dues_charge::Model>, StoreError> {
    Ok(dues_charge::Entity::find()
        .filter(dues_charge::Column::MemberId.is_in(member_ids.iter().copied()))
        .order_by_asc(dues_charge::Column::Month)
        .all(c)
        .await?)
}

pub async fn payments_of<C: ConnectionTrait>(
    c: &C,
    member_ids: &[i64],
) -> Result<Vec<dues_payment::Model>, StoreError> {
    Ok(dues_payment::Entity::find()
        .filter(dues_payment::Column::MemberId.is_in(member_ids.iter().copied()))
        .order_by_asc(dues_payment::Column::Id)
        .all(c)
        .await?)
}

pub async fn payment<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<dues_payment::Model>, StoreError> {
    Ok(dues_payment::Entity::find_by_id(id).one(c).await?)
}

/// The correction of a payment, if it was reversed.
pub async fn reversal_of<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<dues_payment::Model>, StoreError> {
    Ok(dues_payment::Entity::find()
        .filter(dues_payment::Column::ReversesId.eq(id))
        .one(c)
        .await?)
}

/// Charges of one organization and month.
pub async fn sheet<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    month: NaiveDate,
) -> Result<Vec<dues_charge::Model>, StoreError> {
    Ok(dues_charge::Entity::find()
        .filter(dues_charge::Column::OrgId.eq(org_id))
        .filter(dues_charge::Column::Month.eq(month))
        .order_by_asc(dues_charge::Column::MemberId)
        .all(c)
        .await?)
}

/// `$n` on PostgreSQL, `?n` on SQLite (numbered, so a parameter can be
/// used twice).
fn ph(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// The `SELECT` of a month's charges for the members of `org_ids`: each
/// active full or probationary member admitted before the month ends
/// (probationary members pay from admission, DOMAIN.md §7), with the latest
/// base in force on the month's first day. Members without a base get no
/// charge. Parameters: 1 month, 2 now, 3 next month.
fn select_sql(backend: DbBackend, org_ids: &[i64]) -> String {
    let (p1, p2, p3) = (ph(backend, 1), ph(backend, 2), ph(backend, 3));
    let ids = org_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "SELECT m.org_id, m.id, {p1}, b.fee_fen, b.id, {p2} \
         FROM members m JOIN dues_bases b ON b.id = ( \
           SELECT b2.id FROM dues_bases b2 \
           WHERE b2.member_id = m.id AND b2.effective_from <= {p1} \
           ORDER BY b2.effective_from DESC, b2.id DESC LIMIT 1) \
         WHERE m.org_id IN ({ids}) AND m.status = 'active' \
           AND m.stage IN ('probationary', 'full') \
           AND COALESCE(m.probationary_on, m.full_on, {p1}) < {p3}"
    )
}

/// Inserts the month's charges of the members of `org_ids` that are not
/// there yet; returns how many rows were inserted.
pub async fn generate<C: ConnectionTrait>(
    c: &C,
    org_ids: &[i64],
    month: NaiveDate,
    next_month: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if org_ids.is_empty() {
        return Ok(0);
    }
    let backend = c.get_database_backend();
    let sql = format!(
        "INSERT INTO dues_charges (org_id, member_id, month, fee_fen, base_id, created_at) {} \
         ON CONFLICT (member_id, month) DO NOTHING",
        select_sql(backend, org_ids)
    );
    let r = c
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(month),
                Value::from(now),
                Value::from(next_month),
            ],
        ))
        .await?;
    Ok(r.rows_affected())
}

/// The benchmark's reference: the same rows in one plain `INSERT … SELECT`
/// over every organization, with no batching and no conflict handling.
pub async fn generate_plain<C: ConnectionTrait>(
    c: &C,
    month: NaiveDate,
    next_month: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let backend = c.get_database_backend();
    let (p1, p2, p3) = (ph(backend, 1), ph(backend, 2), ph(backend, 3));
    let sql = format!(
        "INSERT INTO dues_charges (org_id, member_id, month, fee_fen, base_id, created_at) \
         SELECT m.org_id, m.id, {p1}, b.fee_fen, b.id, {p2} \
         FROM members m JOIN dues_bases b ON b.id = ( \
           SELECT b2.id FROM dues_bases b2 \
           WHERE b2.member_id = m.id AND b2.effective_from <= {p1} \
           ORDER BY b2.effective_from DESC, b2.id DESC LIMIT 1) \
         WHERE m.status = 'active' AND m.stage IN ('probationary', 'full') \
           AND COALESCE(m.probationary_on, m.full_on, {p1}) < {p3}"
    );
    let r = c
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(month),
                Value::from(now),
                Value::from(next_month),
            ],
        ))
        .await?;
    Ok(r.rows_affected())
}

/// Ids of the organizations of a subtree, in id order, after `after`.
pub async fn subtree_org_ids<C: ConnectionTrait>(
    c: &C,
    path: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>, StoreError> {
    Ok(org::Entity::find()
        .select_only()
        .column(org::Column::Id)
        .filter(in_subtree(org::Column::Path, path))
        .filter(org::Column::Id.gt(after))
        .order_by_asc(org::Column::Id)
        .limit(limit)
        .into_tuple::<i64>()
        .all(c)
        .await?)
}

/// Due or paid per organization and month.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct OrgMonthSum {
    pub org_id: i64,
    pub month: NaiveDate,
    pub fen: i64,
    pub n: i64,
}

/// Charges per organization and month across a subtree, months in `[from, to)`.
pub async fn due_by_org_month<C: ConnectionTrait>(
    c: &C,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<OrgMonthSum>, StoreError> {
    let backend = c.get_database_backend();
    let (p1, p2, p3, p4) = (
        ph(backend, 1),
        ph(backend, 2),
        ph(backend, 3),
        ph(backend, 4),
    );
    let sql = format!(
        "SELECT d.org_id AS org_id, d.month AS month, \
           CAST(SUM(d.fee_fen) AS BIGINT) AS fen, CAST(COUNT(*) AS BIGINT) AS n \
         FROM dues_charges d JOIN orgs o ON o.id = d.org_id \
         WHERE o.path >= {p1} AND o.path < {p2} AND d.month >= {p3} AND d.month < {p4} \
         GROUP BY d.org_id, d.month ORDER BY d.month, d.org_id"
    );
    let upper = crate::repo::orgs::subtree_upper(path);
    Ok(
        OrgMonthSum::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(path.to_string()),
                Value::from(upper),
                Value::from(from),
                Value::from(to),
            ],
        ))
        .all(c)
        .await?,
    )
}

/// Payments settling dues per organization and month paid.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct OrgMonthPaid {
    pub org_id: i64,
    /// `YYYY-MM`.
    pub ym: String,
    pub fen: i64,
}

/// Payments settling dues (all kinds but voluntary, net of corrections)
/// per organization and month paid, across a subtree, `[from, to)`.
pub async fn paid_by_org_month<C: ConnectionTrait>(
    c: &C,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<OrgMonthPaid>, StoreError> {
    payments_by_org_month(c, path, from, to, false).await
}

/// Everything collected (every kind, voluntary and special included, net
/// of corrections) per organization and month paid, across a subtree,
/// `[from, to)`: what an organization has in hand to remit upward.
pub async fn collected_by_org_month<C: ConnectionTrait>(
    c: &C,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<OrgMonthPaid>, StoreError> {
    payments_by_org_month(c, path, from, to, true).await
}

async fn payments_by_org_month<C: ConnectionTrait>(
    c: &C,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
    voluntary: bool,
) -> Result<Vec<OrgMonthPaid>, StoreError> {
    let backend = c.get_database_backend();
    let (p1, p2, p3, p4) = (
        ph(backend, 1),
        ph(backend, 2),
        ph(backend, 3),
        ph(backend, 4),
    );
    let ym = match backend {
        DbBackend::Postgres => "to_char(p.paid_on, 'YYYY-MM')",
        _ => "substr(p.paid_on, 1, 7)",
    };
    let kinds = if voluntary {
        ""
    } else {
        "AND p.kind <> 'voluntary'"
    };
    let sql = format!(
        "SELECT p.org_id AS org_id, {ym} AS ym, CAST(SUM(p.amount_fen) AS BIGINT) AS fen \
         FROM dues_payments p JOIN orgs o ON o.id = p.org_id \
         WHERE o.path >= {p1} AND o.path < {p2} AND p.paid_on >= {p3} AND p.paid_on < {p4} \
           {kinds} \
         GROUP BY p.org_id, {ym} ORDER BY 2, 1"
    );
    let upper = crate::repo::orgs::subtree_upper(path);
    Ok(
        OrgMonthPaid::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(path.to_string()),
                Value::from(upper),
                Value::from(from),
                Value::from(to),
            ],
        ))
        .all(c)
        .await?,
    )
}

pub async fn insert_remittance<C: ConnectionTrait>(
    c: &C,
    row: dues_remittance::ActiveModel,
) -> Result<dues_remittance::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn remittance<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<dues_remittance::Model>, StoreError> {
    Ok(dues_remittance::Entity::find_by_id(id).one(c).await?)
}

/// The correction of a remittance, if it was reversed.
pub async fn remittance_reversal_of<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<dues_remittance::Model>, StoreError> {
    Ok(dues_remittance::Entity::find()
        .filter(dues_remittance::Column::ReversesId.eq(id))
        .one(c)
        .await?)
}

/// Remittances recorded by the organizations of the given ids for months
/// in `[from, to)`, oldest first.
pub async fn remittances_of<C: ConnectionTrait>(
    c: &C,
    org_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<dues_remittance::Model>, StoreError> {
    Ok(dues_remittance::Entity::find()
        .filter(dues_remittance::Column::OrgId.is_in(org_ids.iter().copied()))
        .filter(dues_remittance::Column::Month.gte(from))
        .filter(dues_remittance::Column::Month.lt(to))
        .order_by_asc(dues_remittance::Column::Id)
        .all(c)
        .await?)
}

/// Bases in use in `month` by the members of the subtree at `path` that a
/// change of the rules from `changed` supersedes: the member's latest base
/// as of `month` is of `category`, without relief, and fixed before
/// `changed`. Recomputing them inserts newer bases, so each is found once.
pub async fn bases_superseded<C: ConnectionTrait>(
    c: &C,
    path: &str,
    category: &str,
    changed: NaiveDate,
    month: NaiveDate,
) -> Result<Vec<dues_base::Model>, StoreError> {
    let backend = c.get_database_backend();
    let (p1, p2, p3, p4, p5) = (
        ph(backend, 1),
        ph(backend, 2),
        ph(backend, 3),
        ph(backend, 4),
        ph(backend, 5),
    );
    let sql = format!(
        "SELECT b.* FROM dues_bases b \
         JOIN members m ON m.id = b.member_id JOIN orgs o ON o.id = m.org_id \
         WHERE o.path >= {p1} AND o.path < {p2} AND b.category = {p3} \
           AND b.relief IS NULL AND b.effective_from < {p4} \
           AND NOT EXISTS (SELECT 1 FROM dues_bases b2 WHERE b2.member_id = b.member_id \
             AND b2.effective_from <= {p5} \
             AND (b2.effective_from > b.effective_from \
               OR (b2.effective_from = b.effective_from AND b2.id > b.id))) \
         ORDER BY b.member_id"
    );
    let upper = crate::repo::orgs::subtree_upper(path);
    Ok(dues_base::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(path.to_string()),
                Value::from(upper),
                Value::from(category.to_string()),
                Value::from(changed),
                Value::from(month),
            ],
        ))
        .all(c)
        .await?)
}
