//! Storage of dangjian: schema and migrations, repositories, field encryption
//! and blind indexes, on SQLite (embedded, WAL) or PostgreSQL through one code
//! path (SeaORM). Repository functions take any connection or transaction so
//! the `app` crate can run a whole use case in one transaction.

pub mod crypto;
pub mod db;
pub mod direct;
pub mod entities;
pub mod migration;
pub mod repo;

pub use crypto::{CryptoError, Keyring};
pub use db::{Backend, Db, StoreError};
pub use rusqlite;
pub use sea_orm;
