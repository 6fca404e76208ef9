//! Workflow instances, their history entries (detail encrypted by the
//! caller), their open deadlines, and the stored process definitions.
//! Knows no process and no rule.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::{
    admission_attachment, workflow_definition, workflow_entry, workflow_instance, workflow_timer,
};

pub async fn insert_instance<C: ConnectionTrait>(
    c: &C,
    row: workflow_instance::ActiveModel,
) -> Result<workflow_instance::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn get_instance<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<workflow_instance::Model>, StoreError> {
    Ok(workflow_instance::Entity::find_by_id(id).one(c).await?)
}

/// Writes the set columns of an instance.
pub async fn update_instance<C: ConnectionTrait>(
    c: &C,
    am: workflow_instance::ActiveModel,
) -> Result<workflow_instance::Model, StoreError> {
    Ok(am.update(c).await?)
}

/// The open run of a process for a member, if any.
pub async fn open_instance<C: ConnectionTrait>(
    c: &C,
    process_key: &str,
    member_id: i64,
) -> Result<Option<workflow_instance::Model>, StoreError> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::ProcessKey.eq(process_key))
        .filter(workflow_instance::Column::MemberId.eq(member_id))
        .filter(workflow_instance::Column::Status.eq("active"))
        .one(c)
        .await?)
}

/// Every run of a process for a member, oldest first.
pub async fn instances_of_member<C: ConnectionTrait>(
    c: &C,
    process_key: &str,
    member_id: i64,
) -> Result<Vec<workflow_instance::Model>, StoreError> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::ProcessKey.eq(process_key))
        .filter(workflow_instance::Column::MemberId.eq(member_id))
        .order_by_asc(workflow_instance::Column::Id)
        .all(c)
        .await?)
}

/// Runs of a process in one organization with the given status, oldest first.
pub async fn instances_by_org<C: ConnectionTrait>(
    c: &C,
    process_key: &str,
    org_id: i64,
    status: &str,
) -> Result<Vec<workflow_instance::Model>, StoreError> {
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::ProcessKey.eq(process_key))
        .filter(workflow_instance::Column::OrgId.eq(org_id))
        .filter(workflow_instance::Column::Status.eq(status))
        .order_by_asc(workflow_instance::Column::Id)
        .all(c)
        .await?)
}

/// Some runs by id (any process), in id order.
pub async fn instances_by_ids<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<Vec<workflow_instance::Model>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(400) {
        out.extend(
            workflow_instance::Entity::find()
                .filter(workflow_instance::Column::Id.is_in(chunk.to_vec()))
                .order_by_asc(workflow_instance::Column::Id)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Runs of a process with no history entry yet: the ones a migration
/// created, whose entries the application writes (it holds the key).
pub async fn instances_without_entries<C: ConnectionTrait>(
    c: &C,
    process_key: &str,
) -> Result<Vec<workflow_instance::Model>, StoreError> {
    use sea_orm::sea_query::Query;
    let with_entries = Query::select()
        .column(workflow_entry::Column::InstanceId)
        .from(workflow_entry::Entity)
        .to_owned();
    Ok(workflow_instance::Entity::find()
        .filter(workflow_instance::Column::ProcessKey.eq(process_key))
        .filter(workflow_instance::Column::Id.not_in_subquery(with_entries))
        .order_by_asc(workflow_instance::Column::Id)
        .all(c)
        .await?)
}

/// The process definitions stored so far.
pub async fn definitions<C: ConnectionTrait>(
    c: &C,
) -> Result<Vec<workflow_definition::Model>, StoreError> {
    Ok(workflow_definition::Entity::find()
        .order_by_asc(workflow_definition::Column::ProcessKey)
        .order_by_asc(workflow_definition::Column::Version)
        .all(c)
        .await?)
}

/// Stores a definition (unique on key and version).
pub async fn insert_definition<C: ConnectionTrait>(
    c: &C,
    am: workflow_definition::ActiveModel,
) -> Result<workflow_definition::Model, StoreError> {
    Ok(am.insert(c).await?)
}

pub async fn insert_entry<C: ConnectionTrait>(
    c: &C,
    row: workflow_entry::ActiveModel,
) -> Result<workflow_entry::Model, StoreError> {
    Ok(row.insert(c).await?)
}

/// The history of an instance in order.
pub async fn entries<C: ConnectionTrait>(
    c: &C,
    instance_id: i64,
) -> Result<Vec<workflow_entry::Model>, StoreError> {
    Ok(workflow_entry::Entity::find()
        .filter(workflow_entry::Column::InstanceId.eq(instance_id))
        .order_by_asc(workflow_entry::Column::Seq)
        .all(c)
        .await?)
}

/// The histories of some instances, by instance then position.
pub async fn entries_of<C: ConnectionTrait>(
    c: &C,
    instance_ids: &[i64],
) -> Result<Vec<workflow_entry::Model>, StoreError> {
    let mut out = Vec::new();
    for chunk in instance_ids.chunks(400) {
        out.extend(
            workflow_entry::Entity::find()
                .filter(workflow_entry::Column::InstanceId.is_in(chunk.to_vec()))
                .order_by_asc(workflow_entry::Column::InstanceId)
                .order_by_asc(workflow_entry::Column::Seq)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Replaces the open deadlines of an instance.
pub async fn replace_timers<C: ConnectionTrait>(
    c: &C,
    instance_id: i64,
    rows: Vec<workflow_timer::ActiveModel>,
) -> Result<(), StoreError> {
    workflow_timer::Entity::delete_many()
        .filter(workflow_timer::Column::InstanceId.eq(instance_id))
        .exec(c)
        .await?;
    if !rows.is_empty() {
        workflow_timer::Entity::insert_many(rows).exec(c).await?;
    }
    Ok(())
}

/// The open deadlines of some instances.
pub async fn timers_of<C: ConnectionTrait>(
    c: &C,
    instance_ids: &[i64],
) -> Result<Vec<workflow_timer::Model>, StoreError> {
    let mut out = Vec::new();
    for chunk in instance_ids.chunks(400) {
        out.extend(
            workflow_timer::Entity::find()
                .filter(workflow_timer::Column::InstanceId.is_in(chunk.to_vec()))
                .order_by_asc(workflow_timer::Column::DueOn)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Deadlines of runs of a process whose reminder day has come by `today`
/// (any state).
pub async fn timers_reminding<C: ConnectionTrait>(
    c: &C,
    process_key: &str,
    today: NaiveDate,
) -> Result<Vec<workflow_timer::Model>, StoreError> {
    use sea_orm::sea_query::Query;
    let runs = Query::select()
        .column(workflow_instance::Column::Id)
        .from(workflow_instance::Entity)
        .and_where(workflow_instance::Column::ProcessKey.eq(process_key))
        .to_owned();
    Ok(workflow_timer::Entity::find()
        .filter(workflow_timer::Column::RemindOn.lte(today))
        .filter(workflow_timer::Column::InstanceId.in_subquery(runs))
        .order_by_asc(workflow_timer::Column::Id)
        .all(c)
        .await?)
}

/// Sets the state of a deadline.
pub async fn set_timer_state<C: ConnectionTrait>(
    c: &C,
    id: i64,
    state: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    workflow_timer::Entity::update_many()
        .col_expr(
            workflow_timer::Column::State,
            Expr::value(state.to_string()),
        )
        .col_expr(workflow_timer::Column::UpdatedAt, Expr::value(now))
        .filter(workflow_timer::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Inserts an admission attachment (its file encrypted by the caller).
pub async fn add_attachment<C: ConnectionTrait>(
    c: &C,
    am: admission_attachment::ActiveModel,
) -> Result<admission_attachment::Model, StoreError> {
    Ok(am.insert(c).await?)
}

/// An admission attachment without its bytes: id, kind, file name, type,
/// size, SHA-256, upload time.
pub type AttachmentRow = (i64, String, String, String, i64, String, DateTime<Utc>);

/// The attachments of an admission, oldest first, without their bytes.
pub async fn attachments<C: ConnectionTrait>(
    c: &C,
    instance_id: i64,
) -> Result<Vec<AttachmentRow>, StoreError> {
    use admission_attachment::Column as A;
    Ok(admission_attachment::Entity::find()
        .select_only()
        .column(A::Id)
        .column(A::Kind)
        .column(A::Filename)
        .column(A::ContentType)
        .column(A::Size)
        .column(A::Sha256)
        .column(A::CreatedAt)
        .filter(A::InstanceId.eq(instance_id))
        .order_by_asc(A::Id)
        .into_tuple()
        .all(c)
        .await?)
}

/// The kinds of material an admission has on file.
pub async fn attachment_kinds<C: ConnectionTrait>(
    c: &C,
    instance_id: i64,
) -> Result<Vec<String>, StoreError> {
    use admission_attachment::Column as A;
    Ok(admission_attachment::Entity::find()
        .select_only()
        .column(A::Kind)
        .distinct()
        .filter(A::InstanceId.eq(instance_id))
        .into_tuple()
        .all(c)
        .await?)
}

/// One admission attachment with its (encrypted) bytes.
pub async fn attachment<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<admission_attachment::Model>, StoreError> {
    Ok(admission_attachment::Entity::find_by_id(id).one(c).await?)
}
