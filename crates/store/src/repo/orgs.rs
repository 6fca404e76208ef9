//! Organizations: the tree as a materialized path of ids.
//!
//! `path` is `/<root id>/…/<own id>/`. A subtree is every row whose path
//! starts with the root's path, queried as the index range
//! `[path, path with its last '/' replaced by '0')`, which both SQLite and
//! PostgreSQL answer from the `idx_orgs_path` B-tree.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::StoreError;
use crate::entities::{org, org_history};

/// Exclusive upper bound of the path range of a subtree rooted at `path`.
pub fn subtree_upper(path: &str) -> String {
    let mut s = path.trim_end_matches('/').to_string();
    s.push('0');
    s
}

/// Condition selecting `path` and every descendant of it.
pub fn in_subtree(col: org::Column, path: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(col.gte(path.to_string()))
        .add(col.lt(subtree_upper(path)))
}

/// What a new organization is.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub setting: String,
    pub parent: Option<org::Model>,
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
}

/// Inserts an organization under its parent and computes its path.
pub async fn insert<C: ConnectionTrait>(
    c: &C,
    new: NewOrg,
    now: DateTime<Utc>,
) -> Result<org::Model, StoreError> {
    let depth = new.parent.as_ref().map(|p| p.depth + 1).unwrap_or(0);
    let row = org::ActiveModel {
        code: Set(new.code),
        name: Set(new.name),
        kind: Set(new.kind),
        setting: Set(new.setting),
        parent_id: Set(new.parent.as_ref().map(|p| p.id)),
        path: Set(String::new()),
        depth: Set(depth),
        status: Set("active".into()),
        has_committee: Set(new.has_committee),
        committee_elected_on: Set(new.committee_elected_on),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(c)
    .await?;
    let path = match &new.parent {
        Some(p) => format!("{}{}/", p.path, row.id),
        None => format!("/{}/", row.id),
    };
    let mut am: org::ActiveModel = row.into();
    am.path = Set(path);
    Ok(am.update(c).await?)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<org::Model>, StoreError> {
    Ok(org::Entity::find_by_id(id).one(c).await?)
}

pub async fn by_code<C: ConnectionTrait>(
    c: &C,
    code: &str,
) -> Result<Option<org::Model>, StoreError> {
    Ok(org::Entity::find()
        .filter(org::Column::Code.eq(code))
        .one(c)
        .await?)
}

/// Direct children, ordered by code.
pub async fn children<C: ConnectionTrait>(c: &C, id: i64) -> Result<Vec<org::Model>, StoreError> {
    Ok(org::Entity::find()
        .filter(org::Column::ParentId.eq(id))
        .order_by_asc(org::Column::Code)
        .all(c)
        .await?)
}

/// Roots of the forest (organizations without a parent).
pub async fn roots<C: ConnectionTrait>(c: &C) -> Result<Vec<org::Model>, StoreError> {
    Ok(org::Entity::find()
        .filter(org::Column::ParentId.is_null())
        .order_by_asc(org::Column::Code)
        .all(c)
        .await?)
}

/// The subtree rooted at `path`, down to `max_depth` (absolute), in path order.
pub async fn subtree<C: ConnectionTrait>(
    c: &C,
    path: &str,
    max_depth: Option<i32>,
    limit: u64,
) -> Result<Vec<org::Model>, StoreError> {
    let mut q = org::Entity::find().filter(in_subtree(org::Column::Path, path));
    if let Some(d) = max_depth {
        q = q.filter(org::Column::Depth.lte(d));
    }
    Ok(q.order_by_asc(org::Column::Path)
        .limit(limit)
        .all(c)
        .await?)
}

/// Number of organizations in the subtree rooted at `path` (itself included).
pub async fn subtree_count<C: ConnectionTrait>(c: &C, path: &str) -> Result<u64, StoreError> {
    Ok(org::Entity::find()
        .filter(in_subtree(org::Column::Path, path))
        .count(c)
        .await?)
}

/// Organizations by id.
pub async fn by_ids<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<Vec<org::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(org::Entity::find()
        .filter(org::Column::Id.is_in(ids.to_vec()))
        .all(c)
        .await?)
}

/// Renames an organization.
pub async fn rename<C: ConnectionTrait>(
    c: &C,
    o: org::Model,
    name: String,
    now: DateTime<Utc>,
) -> Result<org::Model, StoreError> {
    let mut am: org::ActiveModel = o.into();
    am.name = Set(name);
    am.updated_at = Set(now);
    Ok(am.update(c).await?)
}

/// Marks an organization dissolved (never deleted).
pub async fn dissolve<C: ConnectionTrait>(
    c: &C,
    o: org::Model,
    now: DateTime<Utc>,
) -> Result<org::Model, StoreError> {
    let mut am: org::ActiveModel = o.into();
    am.status = Set("dissolved".into());
    am.updated_at = Set(now);
    Ok(am.update(c).await?)
}

/// Sets whether a branch has an elected committee and when it was elected.
pub async fn set_committee<C: ConnectionTrait>(
    c: &C,
    o: org::Model,
    has_committee: bool,
    elected_on: Option<NaiveDate>,
    term_years: Option<i32>,
    now: DateTime<Utc>,
) -> Result<org::Model, StoreError> {
    let mut am: org::ActiveModel = o.into();
    am.has_committee = Set(has_committee);
    am.committee_elected_on = Set(elected_on);
    am.committee_term_years = Set(term_years);
    am.updated_at = Set(now);
    Ok(am.update(c).await?)
}

/// Moves `o` and its whole subtree under `new_parent`, rewriting the paths
/// and depths of every descendant in one statement.
pub async fn move_subtree<C: ConnectionTrait>(
    c: &C,
    o: &org::Model,
    new_parent: &org::Model,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let old_prefix = o.path.clone();
    let new_prefix = format!("{}{}/", new_parent.path, o.id);
    let depth_delta = new_parent.depth + 1 - o.depth;
    // Paths are ASCII. Built from parts rather than custom SQL so each
    // backend gets its own placeholders (`?` is not one on PostgreSQL); i32
    // because PostgreSQL has substr(text, integer) and no implicit bigint cast.
    let keep_from = old_prefix.chars().count() as i32 + 1;
    let stmt = Query::update()
        .table(org::Entity)
        .value(
            org::Column::Path,
            Expr::val(new_prefix).binary(
                BinOper::Custom("||"),
                Func::cust("substr")
                    .arg(Expr::col(org::Column::Path))
                    .arg(keep_from),
            ),
        )
        .value(
            org::Column::Depth,
            Expr::col(org::Column::Depth).add(depth_delta),
        )
        .value(org::Column::UpdatedAt, now)
        .cond_where(in_subtree(org::Column::Path, &old_prefix))
        .to_owned();
    c.execute(&stmt).await?;
    org::Entity::update_many()
        .col_expr(org::Column::ParentId, Expr::value(new_parent.id))
        .filter(org::Column::Id.eq(o.id))
        .exec(c)
        .await?;
    Ok(())
}

/// Appends one entry to an organization's history.
pub async fn record_history<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    actor: Option<i64>,
    action: &str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    org_history::ActiveModel {
        org_id: Set(org_id),
        at: Set(now),
        actor_user_id: Set(actor),
        action: Set(action.to_string()),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(c)
    .await?;
    Ok(())
}

/// History of an organization, oldest first.
pub async fn history<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
) -> Result<Vec<org_history::Model>, StoreError> {
    Ok(org_history::Entity::find()
        .filter(org_history::Column::OrgId.eq(org_id))
        .order_by_asc(org_history::Column::Id)
        .all(c)
        .await?)
}
