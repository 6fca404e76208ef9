//! Entity for the `dues_payments` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dues_payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub org_id: i64,
    pub member_id: i64,
    pub kind: String,
    pub method: String,
    pub reference: String,
    pub amount_fen: i64,
    pub paid_on: Date,
    pub approval_ref: Option<String>,
    pub special: bool,
    pub reverses_id: Option<i64>,
    pub reason: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
