//! Roster import (CSV, XLSX; all or nothing, every error by row and column)
//! and export (CSV, XLSX; masked unless the user may read sensitive fields).
//! The file layout is documented in the README ("Roster files"); reading
//! and validating the file without a database is the `dangjian-roster`
//! crate, whose items are re-exported here.

use chrono::NaiveDate;
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{Education, Stage};
use dangjian_roster::{OpenedRoster, map_headers, open_rows};
use dangjian_store::repo::{audit, members as repo};
use serde::Serialize;

pub use dangjian_roster::{COLUMNS, RosterFormat, RowError, parse_date};

use crate::members::{AAD_ID, AAD_PHONE, check_member_org};
use crate::{Actor, App, AppError};

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

/// The database-free first phase of [`App::import_roster`]: read the file,
/// map its headers and validate every row as of `today`
/// ([`dangjian_roster::check_roster_file`], its file-level error as the
/// application's). Returns the number of rows and the errors found.
pub fn check_roster_file(
    format: RosterFormat,
    bytes: &[u8],
    today: NaiveDate,
) -> Result<(usize, Vec<RowError>), AppError> {
    Ok(dangjian_roster::check_roster_file(format, bytes, today)?)
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
        let OpenedRoster {
            rows,
            headers,
            estimate,
        } = open_rows(format, bytes)?;
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
