//! Entity for the `dues_bases` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dues_bases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub member_id: i64,
    pub org_id: i64,
    pub year: i32,
    pub effective_from: Date,
    pub category: String,
    pub base_enc: Option<Vec<u8>>,
    pub fee_fen: i64,
    pub rule: String,
    pub relief: Option<String>,
    pub approval_ref: Option<String>,
    pub declared_by: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
