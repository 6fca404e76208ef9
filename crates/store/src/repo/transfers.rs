//! Transfer letters: insert, read, lists per branch (sent and received),
//! the letters of given workflow runs (where each stands is its run of
//! the `transfer` process), and the move of a member's open workflow
//! runs to the receiving branch. Knows no rule.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::{transfer_letter as letter, workflow_instance, workflow_timer};

pub async fn insert<C: ConnectionTrait>(
    c: &C,
    row: letter::ActiveModel,
) -> Result<letter::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn update<C: ConnectionTrait>(
    c: &C,
    am: letter::ActiveModel,
) -> Result<letter::Model, StoreError> {
    Ok(am.update(c).await?)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<letter::Model>, StoreError> {
    Ok(letter::Entity::find_by_id(id).one(c).await?)
}

/// The letter `number` of the server `origin` ("" for this server's own).
pub async fn by_number<C: ConnectionTrait>(
    c: &C,
    origin: &str,
    number: &str,
) -> Result<Option<letter::Model>, StoreError> {
    Ok(letter::Entity::find()
        .filter(letter::Column::Origin.eq(origin))
        .filter(letter::Column::Number.eq(number))
        .one(c)
        .await?)
}

/// How many letters a branch has issued with numbers starting `prefix`.
pub async fn count_numbered<C: ConnectionTrait>(c: &C, prefix: &str) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(letter::Entity::find()
        .filter(letter::Column::Origin.eq(""))
        .filter(letter::Column::Number.starts_with(prefix))
        .count(c)
        .await?)
}

/// Letters sent by (`from_org_id`) a branch, newest first, at most `limit`.
pub async fn sent_by<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    limit: u64,
) -> Result<Vec<letter::Model>, StoreError> {
    Ok(letter::Entity::find()
        .filter(letter::Column::FromOrgId.eq(org_id))
        .order_by_desc(letter::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// Letters addressed to (`to_org_id`) a branch, newest first, at most `limit`.
pub async fn received_by<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    limit: u64,
) -> Result<Vec<letter::Model>, StoreError> {
    Ok(letter::Entity::find()
        .filter(letter::Column::ToOrgId.eq(org_id))
        .order_by_desc(letter::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// Letters of a member, oldest first.
pub async fn of_member<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
) -> Result<Vec<letter::Model>, StoreError> {
    Ok(letter::Entity::find()
        .filter(letter::Column::MemberId.eq(member_id))
        .order_by_asc(letter::Column::Id)
        .all(c)
        .await?)
}

/// The letters of some runs of the `transfer` process.
pub async fn by_instances<C: ConnectionTrait>(
    c: &C,
    instance_ids: &[i64],
) -> Result<Vec<letter::Model>, StoreError> {
    let mut out = Vec::new();
    for chunk in instance_ids.chunks(400) {
        out.extend(
            letter::Entity::find()
                .filter(letter::Column::InstanceId.is_in(chunk.to_vec()))
                .order_by_asc(letter::Column::Id)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Moves a member's open workflow runs (an admission in probation) and
/// their deadlines to the branch `to_org_id`.
pub async fn move_open_runs<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
    to_org_id: i64,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = workflow_instance::Entity::find()
        .select_only()
        .column(workflow_instance::Column::Id)
        .filter(workflow_instance::Column::MemberId.eq(member_id))
        .filter(workflow_instance::Column::Status.eq("active"))
        .into_tuple()
        .all(c)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    workflow_instance::Entity::update_many()
        .col_expr(workflow_instance::Column::OrgId, Expr::value(to_org_id))
        .filter(workflow_instance::Column::Id.is_in(ids.clone()))
        .exec(c)
        .await?;
    workflow_timer::Entity::update_many()
        .col_expr(workflow_timer::Column::OrgId, Expr::value(to_org_id))
        .filter(workflow_timer::Column::InstanceId.is_in(ids))
        .exec(c)
        .await?;
    Ok(())
}
