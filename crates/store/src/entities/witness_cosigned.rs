//! Entity for the `witness_cosigned` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "witness_cosigned")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub origin: String,
    pub size: i64,
    pub root: Vec<u8>,
    pub note: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
