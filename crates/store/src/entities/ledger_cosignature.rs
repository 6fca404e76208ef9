//! Entity for the `ledger_cosignatures` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_cosignatures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub witness: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub size: i64,
    pub note: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
