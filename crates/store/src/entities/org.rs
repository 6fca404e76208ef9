//! Entity for the `orgs` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orgs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub kind: String,
    pub setting: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub depth: i32,
    pub status: String,
    pub has_committee: bool,
    pub committee_elected_on: Option<Date>,
    /// Term chosen at the election, in years; `None`: the longest allowed.
    pub committee_term_years: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
