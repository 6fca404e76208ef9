//! Repositories: queries and writes per context. Each function takes any
//! `ConnectionTrait` (a pool or an open transaction) and knows no rules.

pub mod audit;
pub mod bulk;
pub mod certificates;
pub mod decisions;
pub mod dues;
pub mod federation;
pub mod identity;
pub mod ledger;
pub mod meetings;
pub mod members;
pub mod minutes;
pub mod orgs;
pub mod participation;
pub mod transfers;
pub mod votes;
pub mod warnings;
pub mod workflow;
