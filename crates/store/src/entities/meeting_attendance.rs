//! Entity for the `meeting_attendance` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_attendance")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub meeting_id: i64,
    pub member_id: i64,
    pub state: String,
    pub channel: Option<String>,
    pub recorded_at: Option<DateTimeUtc>,
    pub recorded_by: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub leave_reason: Option<String>,
    pub leave_status: Option<String>,
    pub leave_decided_by: Option<i64>,
    pub failed_codes: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
