//! SeaORM entities, one module per table.

pub mod api_token;
pub mod audit;
pub mod decision;
pub mod dues_base;
pub mod dues_charge;
pub mod dues_payment;
pub mod ledger_checkpoint;
pub mod ledger_leaf;
pub mod ledger_node;
pub mod member;
pub mod member_event;
pub mod org;
pub mod org_history;
pub mod role_grant;
pub mod session;
pub mod threshold_override;
pub mod user;
pub mod warning;
pub mod warning_event;
