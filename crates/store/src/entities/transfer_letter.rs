//! Entity for the `transfer_letters` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transfer_letters")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub origin: String,
    pub number: String,
    pub kind: String,
    pub member_id: i64,
    pub member_name: String,
    pub member_stage: String,
    pub from_org_id: Option<i64>,
    pub from_org_code: String,
    pub from_org_name: String,
    pub to_org_id: Option<i64>,
    pub to_org_code: String,
    pub to_org_name: String,
    pub to_origin: Option<String>,
    pub issued_on: Date,
    pub valid_until: Date,
    pub arrived_on: Option<Date>,
    pub cancel_reason: Option<String>,
    pub issued_by: Option<i64>,
    pub closed_by: Option<i64>,
    pub document_enc: Option<Vec<u8>>,
    pub receipt: Option<String>,
    /// The letter's run of the `transfer` process (where it stands).
    pub instance_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
