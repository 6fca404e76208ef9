//! Entity for the `warning_events` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warning_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub warning_id: i64,
    pub at: DateTimeUtc,
    pub kind: String,
    pub actor_user_id: Option<i64>,
    pub from_level: Option<String>,
    pub level: String,
    pub from_state: Option<String>,
    pub state: String,
    pub evidence: Option<String>,
    pub tolerated_mistake: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
