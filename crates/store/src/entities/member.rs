//! Entity for the `members` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uid: Uuid,
    pub org_id: i64,
    pub group_id: Option<i64>,
    pub name: String,
    pub id_enc: Vec<u8>,
    pub id_bidx: String,
    pub id_masked: String,
    pub birth_date: Date,
    pub sex: String,
    pub ethnicity: String,
    pub phone_enc: Option<Vec<u8>>,
    pub phone_masked: Option<String>,
    pub education: Option<String>,
    pub dues_category: String,
    pub stage: String,
    pub applied_on: Option<Date>,
    pub activist_on: Option<Date>,
    pub development_target_on: Option<Date>,
    pub probationary_on: Option<Date>,
    pub full_on: Option<Date>,
    pub is_mobile: bool,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
