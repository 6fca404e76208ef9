//! Entity for the `decisions` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "decisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub title: String,
    pub amount_fen: Option<i64>,
    pub threshold_fen: i64,
    pub method: String,
    pub decided_on: Date,
    pub meeting: Option<String>,
    pub members_total: i32,
    pub attendees: Json,
    pub recused: Json,
    pub prior_research: bool,
    pub consultation: bool,
    pub legal_review: bool,
    pub statements: Json,
    pub dissent_recorded: bool,
    pub emergency: bool,
    pub emergency_reported_on: Option<Date>,
    pub compliant: bool,
    pub worst_level: Option<String>,
    pub verdict: Json,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
