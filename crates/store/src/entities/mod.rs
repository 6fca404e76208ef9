//! SeaORM entities, one module per table.

pub mod api_token;
pub mod audit;
pub mod decision;
pub mod ledger_checkpoint;
pub mod ledger_cosignature;
pub mod ledger_leaf;
pub mod ledger_node;
pub mod login_throttle;
pub mod meeting;
pub mod meeting_attendance;
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
pub mod witness_cosigned;
pub mod witness_log;
pub mod workflow_entry;
pub mod workflow_instance;
pub mod workflow_timer;
