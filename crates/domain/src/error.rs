//! Validation errors that name the field at fault and the reason, in zh-CN and English.

use serde::Serialize;

/// One rule broken by one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Machine name of the field (`id_number`, `stage_dates.activist`, ...).
    pub field: String,
    /// Stable code of the rule (`id_checksum`, `required`, ...).
    pub code: &'static str,
    /// Message for people, zh-CN.
    pub message_zh: String,
    /// Message for people, English.
    pub message_en: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code,
            message_zh: message_zh.into(),
            message_en: message_en.into(),
        }
    }
}

/// All the field errors of one input; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{} validation error(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when no error was collected.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}
