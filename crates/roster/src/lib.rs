//! Roster files (CSV, XLSX) without a database: the columns ([`COLUMNS`]),
//! reading a file into headers and rows, the date spellings
//! ([`parse_date`]), the mapping of headers, one row to a member draft with
//! the errors of its cells, and [`check_roster_file`], the validation of a
//! whole file as of a day. The file layout is documented in the README
//! ("Roster files").
//!
//! The import itself — people already registered, encryption, the writing
//! pipeline, all or nothing — and the export live in `dangjian-app`
//! (`roster.rs`, `roster_pipeline.rs`), which re-exports this crate's items
//! as `dangjian_app::roster`. They are a crate of their own so that the
//! roster parsers build without the application's database, HTTP and PDF
//! stack: the fuzz targets (`fuzz/`) compile this crate and
//! `dangjian-domain`, not the application.
//!
//! Invariant: no database, no IO beyond the bytes given, no clock ("today"
//! is a parameter); depends on nothing of dangjian but `dangjian-domain`.

mod error;
mod read;
mod row;

use chrono::NaiveDate;
use dangjian_domain::members::validate_member;
use serde::Serialize;

pub use error::FileError;
pub use read::{OpenedRoster, Row, RowSource, open_rows};
pub use row::{Cells, column_of, map_headers, parse_date, row_to_draft};

/// Columns of a roster file: (field, zh-CN header, other accepted headers).
pub const COLUMNS: &[(&str, &str, &[&str])] = &[
    ("name", "姓名", &["name"]),
    (
        "id_number",
        "身份证号",
        &["公民身份号码", "身份证号码", "id_number"],
    ),
    ("ethnicity", "民族", &["ethnicity"]),
    ("phone", "手机号", &["手机", "联系电话", "phone"]),
    ("education", "学历", &["education"]),
    (
        "dues_category",
        "人员类别",
        &["缴费类别", "dues_category", "category"],
    ),
    ("stage", "党员阶段", &["人员阶段", "stage"]),
    ("applied_on", "申请入党日期", &["applied_on"]),
    ("activist_on", "确定积极分子日期", &["activist_on"]),
    (
        "development_target_on",
        "确定发展对象日期",
        &["development_target_on"],
    ),
    (
        "probationary_on",
        "入党日期",
        &["接收预备党员日期", "probationary_on"],
    ),
    ("full_on", "转正日期", &["full_on"]),
    ("mobile", "流动党员", &["is_mobile", "mobile"]),
];

/// File formats of rosters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RosterFormat {
    Csv,
    Xlsx,
}

impl RosterFormat {
    /// Guesses the format from a file name.
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase();
        if n.ends_with(".csv") {
            Some(Self::Csv)
        } else if n.ends_with(".xlsx") {
            Some(Self::Xlsx)
        } else {
            None
        }
    }
}

/// One problem in a roster file.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    /// Line of the file (the header is line 1).
    pub row: usize,
    /// Header of the column as written in the file (empty when about the whole row).
    pub column: String,
    pub field: String,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

/// The database-free first phase of the application's roster import
/// (`App::import_roster`): read the file, map its headers and validate every
/// row as of `today`. Returns the number of rows and the errors found. The
/// fuzz targets (`fuzz/`) drive the roster parsers through this function; it
/// must never panic.
pub fn check_roster_file(
    format: RosterFormat,
    bytes: &[u8],
    today: NaiveDate,
) -> Result<(usize, Vec<RowError>), FileError> {
    let table = match format {
        RosterFormat::Csv => read::read_csv(bytes)?,
        RosterFormat::Xlsx => read::read_xlsx(bytes)?,
    };
    let (map, mut errors) = map_headers(&table.headers);
    if !errors.is_empty() {
        return Ok((table.rows.len(), errors));
    }
    for (i, row) in table.rows.iter().enumerate() {
        let draft = row_to_draft(&map, row, i + 2, &table.headers, &mut errors);
        if let Err(ve) = validate_member(&draft, today) {
            errors.extend(ve.0.into_iter().map(|fe| RowError {
                row: i + 2,
                column: String::new(),
                field: fe.field,
                code: fe.code.into(),
                message_zh: fe.message_zh,
                message_en: fe.message_en,
            }));
        }
    }
    Ok((table.rows.len(), errors))
}
