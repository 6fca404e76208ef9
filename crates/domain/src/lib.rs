//! Pure domain types and rules of dangjian, one module per context.
//!
//! Every rule here cites the section of `shared/DOMAIN.md` (or the regulation
//! it names) that it enforces. Nothing in this crate does IO, is async, or
//! knows about storage or HTTP: callers pass in everything, including "today".

#[macro_use]
pub mod codes;
pub mod admissions;
pub mod classification;
pub mod decisions;
pub mod dues;
pub mod dues_ledger;
pub mod error;
pub mod identity;
pub mod meetings;
pub mod members;
pub mod orgs;
pub mod participation;
pub mod resident_id;
pub mod security;
pub mod transfers;
pub mod votes;
pub mod warnings;

pub use error::{FieldError, ValidationErrors};
