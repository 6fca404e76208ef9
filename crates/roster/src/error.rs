//! The file-level error of a roster: a file that cannot be read at all, in
//! zh-CN and English.

/// A roster file that cannot be read (not CSV, not a workbook, a line the
/// CSV reader refuses): the whole file is refused. The application reports
/// it as a validation error of the field [`FileError::FIELD`] with the code
/// [`FileError::CODE`] (`dangjian_app::AppError` converts it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message_en}")]
pub struct FileError {
    pub message_zh: String,
    pub message_en: String,
}

impl FileError {
    /// The field a file-level error is reported on.
    pub const FIELD: &'static str = "file";
    /// The error code of a file-level error.
    pub const CODE: &'static str = "unreadable_file";

    pub(crate) fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            message_zh: zh.into(),
            message_en: en.into(),
        }
    }

    /// The CSV header cannot be read.
    pub(crate) fn csv_header(e: &csv::Error) -> Self {
        Self::new(
            format!("无法读取 CSV 表头：{e}"),
            format!("cannot read the CSV header: {e}"),
        )
    }

    /// Line `line` of a CSV file (the header is line 1) cannot be read.
    pub(crate) fn csv_line(line: usize, e: &csv::Error) -> Self {
        Self::new(
            format!("第 {line} 行无法读取：{e}"),
            format!("line {line} cannot be read: {e}"),
        )
    }
}
