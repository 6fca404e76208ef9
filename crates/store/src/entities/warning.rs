//! Entity for the `warnings` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warnings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rule: String,
    pub level: String,
    pub subject_kind: String,
    pub subject_id: i64,
    pub org_id: i64,
    pub period_key: String,
    pub state: String,
    pub cleared_by_data: bool,
    pub tolerated_mistake: bool,
    pub due_on: Option<Date>,
    pub detail_zh: String,
    pub detail_en: String,
    pub raised_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
