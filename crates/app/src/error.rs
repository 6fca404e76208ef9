//! The application error: what went wrong for the caller, in zh-CN and English.
//! The web layer maps each variant to one HTTP status and a problem details body;
//! the CLI prints the message and exits non-zero.

use dangjian_domain::{FieldError, ValidationErrors};
use dangjian_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input broke one or more rules; each error names its field.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// Not signed in, or the credentials are wrong.
    #[error("authentication required")]
    Unauthorized,
    /// Signed in, but the user's roles do not cover the object.
    #[error("forbidden")]
    Forbidden,
    /// No such object, or the user may not know it exists.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write conflicts with stored data (e.g. a person already registered).
    #[error("conflict: {}", .0.message_en)]
    Conflict(FieldError),
    /// Too many attempts: try again after this many seconds (sign-in
    /// lockout, rate limits).
    #[error("too many attempts; retry after {0} s")]
    Throttled(i64),
    /// A fault of ours or of the infrastructure; details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A single-field validation error.
    pub fn field(
        field: &str,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        AppError::Validation(ValidationErrors(vec![FieldError::new(field, code, zh, en)]))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Validation(e)
    }
}

impl From<dangjian_store::CryptoError> for AppError {
    fn from(e: dangjian_store::CryptoError) -> Self {
        AppError::Internal(e.to_string())
    }
}

/// A roster file that cannot be read: the same single-field validation error
/// (field `file`, code `unreadable_file`) the import always returned.
impl From<dangjian_roster::FileError> for AppError {
    fn from(e: dangjian_roster::FileError) -> Self {
        AppError::field(
            dangjian_roster::FileError::FIELD,
            dangjian_roster::FileError::CODE,
            e.message_zh,
            e.message_en,
        )
    }
}
