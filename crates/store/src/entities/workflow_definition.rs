//! Entity for the `workflow_definitions` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_definitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub process_key: String,
    pub version: i32,
    /// The definition as JSON (`dangjian_workflow::canonical_json`).
    pub definition: String,
    /// SHA-256 of `definition`, lower-case hex.
    pub digest: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
