//! Entity for the `assembly_votes` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assembly_votes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub meeting_id: i64,
    pub org_id: i64,
    pub admission_id: i64,
    pub step: String,
    pub eligible: i32,
    pub present: i32,
    pub yes: i32,
    pub no: i32,
    pub abstain: i32,
    pub written_yes: i32,
    pub written_no: i32,
    pub written_abstain: i32,
    pub outcome: String,
    pub ballots: Json,
    pub recorded_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
