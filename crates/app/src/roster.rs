//! Roster import (CSV, XLSX; all or nothing, every error by row and column)
//! and export (CSV, XLSX; masked unless the user may read sensitive fields).
//! The file layout is documented in the README ("Roster files").

use std::collections::HashMap;
use std::io::Cursor;

use chrono::NaiveDate;
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{Education, MemberDraft, Stage, StageDates, validate_member};
use dangjian_store::repo::{audit, members as repo};
use serde::Serialize;

use crate::members::{AAD_ID, AAD_PHONE, check_member_org};
use crate::roster_pipeline::{RowSource, estimate_csv_rows};
use crate::{Actor, App, AppError};

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

/// Outcome of an import: either every row imported, or none and every error.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub errors: Vec<RowError>,
}

/// Progress of a long import, for the CLI's progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Validated(usize, usize),
    Written(usize, usize),
}

struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn file_error(zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::field("file", "unreadable_file", zh, en)
}

fn read_csv(bytes: &[u8]) -> Result<Table, AppError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| {
            file_error(
                format!("无法读取 CSV 表头：{e}"),
                format!("cannot read the CSV header: {e}"),
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            file_error(
                format!("第 {} 行无法读取：{e}", i + 2),
                format!("line {} cannot be read: {e}", i + 2),
            )
        })?;
        rows.push(rec.iter().map(|s| s.to_string()).collect());
    }
    Ok(Table { headers, rows })
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, AppError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        file_error(
            format!("无法打开 XLSX 文件：{e}"),
            format!("cannot open the XLSX file: {e}"),
        )
    })?;
    let sheet = wb
        .worksheet_range_at(0)
        .ok_or_else(|| file_error("XLSX 文件没有工作表", "the XLSX file has no worksheet"))?
        .map_err(|e| {
            file_error(
                format!("无法读取工作表：{e}"),
                format!("cannot read the worksheet: {e}"),
            )
        })?;
    let cell = |d: &Data| -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => {
                if *b {
                    "是".into()
                } else {
                    "否".into()
                }
            }
            Data::DateTime(dt) => dt
                .as_datetime()
                .map(|t| t.date().to_string())
                .unwrap_or_default(),
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(e) => format!("#{e:?}"),
        }
    };
    let mut it = sheet.rows();
    let headers = it
        .next()
        .map(|r| r.iter().map(|c| cell(c).trim().to_string()).collect())
        .unwrap_or_default();
    let rows = it.map(|r| r.iter().map(cell).collect()).collect();
    Ok(Table { headers, rows })
}

/// Accepted date spellings: 2020-01-31, 2020/1/31, 2020.01.31, 20200131, 2020年1月31日.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s
        .trim()
        .replace(['年', '月'], "-")
        .replace('日', "")
        .replace(['/', '.'], "-");
    if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&t, "%Y%m%d").ok();
    }
    NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "否" | "no" | "false" | "0" | "n" => Some(false),
        "是" | "yes" | "true" | "1" | "y" => Some(true),
        _ => None,
    }
}

fn map_headers(headers: &[String]) -> (HashMap<&'static str, usize>, Vec<RowError>) {
    let mut map = HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let found = COLUMNS.iter().find(|(f, zh, alts)| {
            h == zh || h == f || alts.iter().any(|a| a.eq_ignore_ascii_case(h))
        });
        if let Some((f, _, _)) = found {
            map.insert(*f, i);
        }
    }
    for (f, zh, _) in COLUMNS {
        if matches!(*f, "name" | "id_number" | "stage") && !map.contains_key(f) {
            errors.push(RowError {
                row: 1,
                column: zh.to_string(),
                field: f.to_string(),
                code: "missing_column".into(),
                message_zh: format!("缺少必需的列「{zh}」"),
                message_en: format!("required column \"{zh}\" ({f}) is missing"),
            });
        }
    }
    (map, errors)
}

/// The cells of one row, whichever reader produced it.
pub(crate) trait Cells {
    fn cell(&self, i: usize) -> Option<&str>;
    /// Every cell empty or blank: the row is skipped.
    fn is_blank(&self) -> bool;
}

impl Cells for Vec<String> {
    fn cell(&self, i: usize) -> Option<&str> {
        self.get(i).map(String::as_str)
    }
    fn is_blank(&self) -> bool {
        self.iter().all(|c| c.trim().is_empty())
    }
}

/// Header of the column holding `field`, as written in the file (empty when
/// the file has no such column).
pub(crate) fn column_of(
    map: &HashMap<&'static str, usize>,
    headers: &[String],
    field: &str,
) -> String {
    map.get(field)
        .and_then(|&i| headers.get(i))
        .cloned()
        .unwrap_or_default()
}

/// Builds a member draft from one row, collecting the cell-level errors.
pub(crate) fn row_to_draft(
    map: &HashMap<&'static str, usize>,
    row: &impl Cells,
    line: usize,
    headers: &[String],
    errors: &mut Vec<RowError>,
) -> MemberDraft {
    let get = |f: &str| {
        map.get(f)
            .and_then(|&i| row.cell(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut err = |f: &str, code: &str, zh: String, en: String| {
        let column = column_of(map, headers, f);
        errors.push(RowError {
            row: line,
            column,
            field: f.to_string(),
            code: code.into(),
            message_zh: zh,
            message_en: en,
        });
    };
    let mut dates = StageDates::default();
    for stage in Stage::ALL {
        let f = stage.date_field();
        let v = get(f);
        if v.is_empty() {
            continue;
        }
        match parse_date(&v) {
            Some(d) => dates.set(*stage, Some(d)),
            None => err(
                f,
                "invalid_date",
                format!("日期「{v}」无法识别，请写作 2020-01-31"),
                format!("date {v:?} is not recognised; write 2020-01-31"),
            ),
        }
    }
    let stage_s = get("stage");
    let stage = Stage::parse(&stage_s).unwrap_or_else(|| {
        if !stage_s.is_empty() {
            err(
                "stage",
                "invalid_stage",
                format!("党员阶段「{stage_s}」无效"),
                format!("stage {stage_s:?} is not valid"),
            );
        }
        Stage::Full
    });
    let cat_s = get("dues_category");
    let dues_category = if cat_s.is_empty() {
        DuesCategory::Employed
    } else {
        DuesCategory::parse(&cat_s).unwrap_or_else(|| {
            err(
                "dues_category",
                "invalid_category",
                format!("人员类别「{cat_s}」无效"),
                format!("category {cat_s:?} is not valid"),
            );
            DuesCategory::Employed
        })
    };
    let edu_s = get("education");
    let education = if edu_s.is_empty() {
        None
    } else {
        let e = Education::parse(&edu_s);
        if e.is_none() {
            err(
                "education",
                "invalid_education",
                format!("学历「{edu_s}」无效"),
                format!("education {edu_s:?} is not valid"),
            );
        }
        e
    };
    let mob_s = get("mobile");
    let mobile = parse_bool(&mob_s).unwrap_or_else(|| {
        err(
            "mobile",
            "invalid_bool",
            format!("流动党员应填「是」或「否」，而不是「{mob_s}」"),
            format!("mobile must be yes or no, not {mob_s:?}"),
        );
        false
    });
    let phone = get("phone");
    let ethnicity = get("ethnicity");
    MemberDraft {
        name: get("name"),
        id_number: get("id_number"),
        ethnicity: if ethnicity.is_empty() {
            "汉族".into()
        } else {
            ethnicity
        },
        phone: (!phone.is_empty()).then_some(phone),
        education,
        dues_category,
        stage,
        stage_dates: dates,
        mobile,
    }
}

/// The database-free first phase of [`App::import_roster`]: read the file,
/// map its headers and validate every row as of `today`. Returns the number
/// of rows and the errors found. The fuzz targets (`fuzz/`) drive the
/// roster parsers through this function; it must never panic.
pub fn check_roster_file(
    format: RosterFormat,
    bytes: &[u8],
    today: NaiveDate,
) -> Result<(usize, Vec<RowError>), AppError> {
    let table = match format {
        RosterFormat::Csv => read_csv(bytes)?,
        RosterFormat::Xlsx => read_xlsx(bytes)?,
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

impl App {
    /// Imports a roster into the branch `org_code`: validates every row and
    /// writes nothing unless every row is valid. Rows are prepared on a
    /// second thread while earlier ones are written, in one transaction
    /// (see [`crate::roster_pipeline`]).
    pub async fn import_roster(
        &self,
        actor: &Actor,
        org_code: &str,
        format: RosterFormat,
        bytes: &[u8],
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ImportReport, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        check_member_org(&o)?;
        let (rows, headers, estimate) = match format {
            RosterFormat::Csv => {
                let data = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                let estimate = estimate_csv_rows(data);
                let mut rdr = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(std::io::Cursor::new(data.to_vec()));
                let headers: Vec<String> = rdr
                    .headers()
                    .map_err(|e| {
                        file_error(
                            format!("无法读取 CSV 表头：{e}"),
                            format!("cannot read the CSV header: {e}"),
                        )
                    })?
                    .iter()
                    .map(|h| h.trim().to_string())
                    .collect();
                (RowSource::Csv(rdr), headers, estimate)
            }
            RosterFormat::Xlsx => {
                let table = read_xlsx(bytes)?;
                let n = table.rows.len();
                (RowSource::Table(table.rows.into_iter()), table.headers, n)
            }
        };
        let (map, errors) = map_headers(&headers);
        if !errors.is_empty() {
            return Ok(ImportReport {
                rows: estimate,
                imported: 0,
                errors,
            });
        }
        self.import_rows(actor, &o, rows, map, headers, estimate, progress)
            .await
    }

    /// Exports a branch's roster. ID numbers and phones are masked unless the
    /// actor may read sensitive fields; an unmasked export is audited as such.
    pub async fn export_roster(
        &self,
        actor: &Actor,
        org_code: &str,
        format: RosterFormat,
    ) -> Result<Vec<u8>, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let clear = actor.can_read_sensitive(&o.path);
        let members = repo::all_by_org(&self.db.conn, o.id).await?;
        let mut rows: Vec<Vec<String>> = Vec::with_capacity(members.len());
        for m in &members {
            let (id, phone) = if clear {
                (
                    self.keys.decrypt_str(&m.id_enc, AAD_ID)?,
                    match &m.phone_enc {
                        Some(p) => self.keys.decrypt_str(p, AAD_PHONE)?,
                        None => String::new(),
                    },
                )
            } else {
                (
                    m.id_masked.clone(),
                    m.phone_masked.clone().unwrap_or_default(),
                )
            };
            let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
            rows.push(vec![
                m.name.clone(),
                id,
                m.ethnicity.clone(),
                phone,
                m.education
                    .as_deref()
                    .and_then(Education::parse)
                    .map(|e| e.label_zh().to_string())
                    .unwrap_or_default(),
                DuesCategory::parse(&m.dues_category)
                    .map(|c| c.label_zh().to_string())
                    .unwrap_or_default(),
                Stage::parse(&m.stage)
                    .map(|s| s.label_zh().to_string())
                    .unwrap_or_default(),
                d(m.applied_on),
                d(m.activist_on),
                d(m.development_target_on),
                d(m.probationary_on),
                d(m.full_on),
                if m.is_mobile { "是" } else { "否" }.to_string(),
            ]);
        }
        self.record_audit(audit::Entry {
            user_id: actor.audit_id(),
            action: if clear {
                "roster.export_sensitive"
            } else {
                "roster.export"
            }
            .into(),
            target_kind: "org".into(),
            target_id: Some(o.id),
            org_id: Some(o.id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({"rows": rows.len()}),
        })
        .await?;
        let headers: Vec<&str> = COLUMNS.iter().map(|(_, zh, _)| *zh).collect();
        match format {
            RosterFormat::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                let io = |e: csv::Error| AppError::Internal(e.to_string());
                w.write_record(&headers).map_err(io)?;
                for r in &rows {
                    w.write_record(r).map_err(io)?;
                }
                let mut out = b"\xEF\xBB\xBF".to_vec();
                out.extend(
                    w.into_inner()
                        .map_err(|e| AppError::Internal(e.to_string()))?,
                );
                Ok(out)
            }
            RosterFormat::Xlsx => {
                let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
                let mut wb = rust_xlsxwriter::Workbook::new();
                let ws = wb.add_worksheet();
                for (c, h) in headers.iter().enumerate() {
                    ws.write_string(0, c as u16, *h).map_err(x)?;
                }
                for (r, row) in rows.iter().enumerate() {
                    for (c, v) in row.iter().enumerate() {
                        ws.write_string(r as u32 + 1, c as u16, v).map_err(x)?;
                    }
                }
                wb.save_to_buffer().map_err(x)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_common_spellings() {
        let d = NaiveDate::from_ymd_opt(2020, 1, 31);
        for s in [
            "2020-01-31",
            "2020/1/31",
            "2020.01.31",
            "20200131",
            "2020年1月31日",
        ] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        assert_eq!(parse_date("2020-02-30"), None);
        assert_eq!(parse_date("31/01/2020"), None);
    }

    #[test]
    fn chinese_and_english_headers_map() {
        let h: Vec<String> = ["姓名", "公民身份号码", "stage"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (map, errs) = map_headers(&h);
        assert!(errs.is_empty());
        assert_eq!(map["id_number"], 1);
        let (_, errs) = map_headers(&["姓名".to_string()]);
        assert_eq!(errs.len(), 2);
    }
}
