//! Entity for the `users` table (columns and classification in migration.rs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub login: String,
    pub password_hash: String,
    pub display_name: String,
    pub member_id: Option<i64>,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    /// TOTP secret, encrypted (AAD `users.totp_secret`).
    pub totp_secret_enc: Option<Vec<u8>>,
    /// Whether the second factor is confirmed and required at sign-in.
    pub totp_enabled: bool,
    /// Last TOTP time step accepted.
    pub totp_last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
