//! Members: registry rows (sensitive columns already encrypted by the caller),
//! lists by organization with keyset pagination, blind-index lookup, counts.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationDef,
    Statement,
};

use crate::StoreError;
use crate::entities::{member, member_event, org};
use crate::repo::orgs::in_subtree;

pub async fn insert<C: ConnectionTrait>(
    c: &C,
    row: member::ActiveModel,
) -> Result<member::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<member::Model>, StoreError> {
    Ok(member::Entity::find_by_id(id).one(c).await?)
}

/// One page of an organization's members in registration order, after id `after`.
pub async fn list_by_org<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<member::Model>, StoreError> {
    let mut q = member::Entity::find().filter(member::Column::OrgId.eq(org_id));
    if let Some(a) = after {
        q = q.filter(member::Column::Id.gt(a));
    }
    Ok(q.order_by_asc(member::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// Every member of an organization (for exports), in registration order.
pub async fn all_by_org<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
) -> Result<Vec<member::Model>, StoreError> {
    Ok(member::Entity::find()
        .filter(member::Column::OrgId.eq(org_id))
        .order_by_asc(member::Column::Id)
        .all(c)
        .await?)
}

fn member_org() -> RelationDef {
    member::Entity::belongs_to(org::Entity)
        .from(member::Column::OrgId)
        .to(org::Column::Id)
        .into()
}

/// A member row with the path of its organization.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MemberWithPath {
    pub id: i64,
    pub org_id: i64,
    pub status: String,
    pub org_path: String,
}

/// A test of `members.status` written as an SQL literal, not a bound value.
/// The blind index lives in two partial indexes that split the rows by
/// status (active: `uq_members_active_person`; ended:
/// `idx_members_bidx_past`, migration m0013), and a planner proves that a
/// partial index applies from the query's text: PostgreSQL's generic plan
/// of `status = $1` can use neither, and SQLite sees through a bound value
/// only by preparing the statement again once it is bound.
fn status_is(test: &str) -> Expr {
    Expr::cust(format!("\"members\".\"status\" {test}"))
}

/// Registrations of any status whose blind index equals `bidx`: the
/// condition names both halves, so SQLite (multi-index OR) and PostgreSQL
/// (bitmap OR) look each half up in its index; a bare `id_bidx = ?` would
/// match neither partial index and scan the table.
fn bidx_any_status(bidx: &str) -> Condition {
    let half = |test: &str| {
        Condition::all()
            .add(status_is(test))
            .add(member::Column::IdBidx.eq(bidx))
    };
    Condition::any()
        .add(half("= 'active'"))
        .add(half("<> 'active'"))
}

/// The query of [`find_by_bidx`].
fn by_bidx(bidx: &str) -> sea_orm::Selector<sea_orm::SelectModel<MemberWithPath>> {
    member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .column(member::Column::OrgId)
        .column(member::Column::Status)
        .column_as(org::Column::Path, "org_path")
        .join(JoinType::InnerJoin, member_org())
        .filter(bidx_any_status(bidx))
        .into_model::<MemberWithPath>()
}

/// The statement [`find_by_bidx`] runs, for tests of its query plan.
pub fn find_by_bidx_statement(backend: DbBackend, bidx: &str) -> Statement {
    by_bidx(bidx).into_statement(backend)
}

/// Every registration (any status) whose blind index equals `bidx`, with org paths.
pub async fn find_by_bidx<C: ConnectionTrait>(
    c: &C,
    bidx: &str,
) -> Result<Vec<MemberWithPath>, StoreError> {
    Ok(by_bidx(bidx).all(c).await?)
}

/// Members whose blind index equals `bidx` inside the subtree at `path`.
pub async fn find_by_bidx_in_subtree<C: ConnectionTrait>(
    c: &C,
    bidx: &str,
    path: &str,
) -> Result<Vec<member::Model>, StoreError> {
    Ok(member::Entity::find()
        .join(JoinType::InnerJoin, member_org())
        .filter(bidx_any_status(bidx))
        .filter(in_subtree(org::Column::Path, path))
        .all(c)
        .await?)
}

/// Count of active members of one organization, per stage.
pub async fn stage_counts<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    #[derive(FromQueryResult)]
    struct Row {
        stage: String,
        n: i64,
    }
    let rows = member::Entity::find()
        .select_only()
        .column(member::Column::Stage)
        .column_as(Expr::col(member::Column::Id).count(), "n")
        .filter(member::Column::OrgId.eq(org_id))
        .filter(member::Column::Status.eq("active"))
        .group_by(member::Column::Stage)
        .into_model::<Row>()
        .all(c)
        .await?;
    Ok(rows.into_iter().map(|r| (r.stage, r.n)).collect())
}

/// Active members in the subtree rooted at `path`.
pub async fn count_in_subtree<C: ConnectionTrait>(c: &C, path: &str) -> Result<u64, StoreError> {
    Ok(member::Entity::find()
        .join(JoinType::InnerJoin, member_org())
        .filter(in_subtree(org::Column::Path, path))
        .filter(member::Column::Status.eq("active"))
        .count(c)
        .await?)
}

/// Appends an archive event (detail already encrypted).
pub async fn add_event<C: ConnectionTrait>(
    c: &C,
    ev: member_event::ActiveModel,
) -> Result<member_event::Model, StoreError> {
    Ok(ev.insert(c).await?)
}

/// Archive events of a member, oldest first.
pub async fn events<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
) -> Result<Vec<member_event::Model>, StoreError> {
    Ok(member_event::Entity::find()
        .filter(member_event::Column::MemberId.eq(member_id))
        .order_by_asc(member_event::Column::Id)
        .all(c)
        .await?)
}

/// Updates a member row.
pub async fn update<C: ConnectionTrait>(
    c: &C,
    am: member::ActiveModel,
) -> Result<member::Model, StoreError> {
    Ok(am.update(c).await?)
}

/// The blind indexes of active registrations (the duplicate-person check
/// of DOMAIN.md §3), all of them or those in `only`.
async fn active_bidx<C: ConnectionTrait, B: FromIterator<String>>(
    c: &C,
    only: Option<&[String]>,
) -> Result<B, StoreError> {
    Ok(active_bidx_query(only)
        .all(c)
        .await?
        .into_iter()
        .map(|r| r.id_bidx)
        .collect())
}

/// A blind index read by [`active_bidx`].
#[derive(FromQueryResult)]
struct BidxRow {
    id_bidx: String,
}

/// The query of [`active_bidx`].
fn active_bidx_query(only: Option<&[String]>) -> sea_orm::Selector<sea_orm::SelectModel<BidxRow>> {
    let mut q = member::Entity::find()
        .select_only()
        .column(member::Column::IdBidx)
        .filter(status_is("= 'active'"));
    if let Some(only) = only {
        q = q.filter(member::Column::IdBidx.is_in(only.to_vec()));
    }
    q.into_model::<BidxRow>()
}

/// The statement [`active_bidx_in`] runs, for tests of its query plan.
pub fn active_bidx_in_statement(backend: DbBackend, bidxs: &[String]) -> Statement {
    active_bidx_query(Some(bidxs)).into_statement(backend)
}

/// Which of `bidxs` already have an active registration.
pub async fn active_bidx_in<C: ConnectionTrait>(
    c: &C,
    bidxs: &[String],
) -> Result<Vec<String>, StoreError> {
    if bidxs.is_empty() {
        return Ok(Vec::new());
    }
    active_bidx(c, Some(bidxs)).await
}

/// The blind index of every active member, in one query: the bulk
/// import's duplicate-person check (DOMAIN.md §3) against the stored rows.
pub async fn all_active_bidx<C: ConnectionTrait>(
    c: &C,
) -> Result<std::collections::HashSet<String>, StoreError> {
    active_bidx(c, None).await
}

/// Number of member rows (any status).
pub async fn count_all<C: ConnectionTrait>(c: &C) -> Result<u64, StoreError> {
    Ok(member::Entity::find().count(c).await?)
}

/// The index of `members` on the blind index that a bulk load of active
/// registrations fills, in random key order, so on SQLite the roster import
/// drops it and builds it again within its transaction
/// (`bulk::suspend_indexes`). The other half, `idx_members_bidx_past`,
/// holds ended registrations only; an import adds nothing to it.
pub const BIDX_INDEXES: &[&str] = &["uq_members_active_person"];

/// Inserts many members at once and returns their ids in input order.
pub async fn insert_many<C: ConnectionTrait>(
    c: &C,
    rows: Vec<member::ActiveModel>,
) -> Result<Vec<i64>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    crate::repo::bulk::insert(c, rows, true).await
}

/// Inserts many archive events at once.
pub async fn add_events<C: ConnectionTrait>(
    c: &C,
    rows: Vec<member_event::ActiveModel>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    crate::repo::bulk::insert(c, rows, false).await.map(|_| ())
}

/// Id, organization and encrypted ID number of every active member, by id.
pub async fn active_id_numbers<C: ConnectionTrait>(
    c: &C,
) -> Result<Vec<(i64, i64, Vec<u8>)>, StoreError> {
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        org_id: i64,
        id_enc: Vec<u8>,
    }
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .column(member::Column::OrgId)
        .column(member::Column::IdEnc)
        .filter(member::Column::Status.eq("active"))
        .order_by_asc(member::Column::Id)
        .into_model::<Row>()
        .all(c)
        .await?
        .into_iter()
        .map(|r| (r.id, r.org_id, r.id_enc))
        .collect())
}
