//! Reading roster files: a CSV or XLSX file into its headers and rows, either
//! all at once ([`read_csv`], [`read_xlsx`]) or, for the import, row by row
//! ([`open_rows`], [`RowSource`]).

use std::io::Cursor;

use crate::{FileError, RosterFormat};

/// A whole roster file: trimmed headers and the data rows as written.
pub(crate) struct Table {
    pub(crate) headers: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

pub(crate) fn read_csv(bytes: &[u8]) -> Result<Table, FileError> {
    let bytes = strip_bom(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| FileError::csv_header(&e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| FileError::csv_line(i + 2, &e))?;
        rows.push(rec.iter().map(|s| s.to_string()).collect());
    }
    Ok(Table { headers, rows })
}

/// Columns of a roster worksheet at most (the roster has 13; extra
/// columns are allowed, a sheet 16,384 wide is not).
pub const XLSX_MAX_COLUMNS: u32 = 256;

/// Rows of a worksheet (Excel's own limit).
pub const XLSX_MAX_ROWS: u32 = 1_048_576;

/// Cells, empty ones included, between a worksheet's first and last
/// written cells at most: 1,000,000 rows of the 13 columns fit, with room.
pub const XLSX_MAX_CELLS: usize = 20_000_000;

pub(crate) fn read_xlsx(bytes: &[u8]) -> Result<Table, FileError> {
    // calamine parses untrusted bytes; a panic inside it (the fuzz target
    // found an arithmetic overflow on a crafted cell reference, which
    // panics in a build with overflow checks) refuses the file instead of
    // ending the request or the import.
    std::panic::catch_unwind(|| read_xlsx_cells(bytes)).unwrap_or_else(|_| {
        Err(FileError::new(
            "XLSX 文件已损坏，无法读取",
            "the XLSX file is damaged and cannot be read",
        ))
    })
}

/// The first worksheet cell by cell (calamine's cell reader). Not
/// `worksheet_range`: that allocates every cell of the rectangle between
/// the first and the last written cell, so a 7 KB file naming cells A1 and
/// XFD1048576 asked for 17 billion cells (512 GiB), and the failed
/// allocation aborted the whole server. Here a cell outside
/// [`XLSX_MAX_COLUMNS`] or [`XLSX_MAX_ROWS`], or a sheet spanning more than
/// [`XLSX_MAX_CELLS`], refuses the file; each row
/// holds its cells up to its last written one, and the rows between the
/// first and the last are all kept (blank ones too), so row numbers in
/// errors are the file's.
fn read_xlsx_cells(bytes: &[u8]) -> Result<Table, FileError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        FileError::new(
            format!("无法打开 XLSX 文件：{e}"),
            format!("cannot open the XLSX file: {e}"),
        )
    })?;
    let sheet =
        wb.sheet_names().first().cloned().ok_or_else(|| {
            FileError::new("XLSX 文件没有工作表", "the XLSX file has no worksheet")
        })?;
    let unreadable = |e: &dyn std::fmt::Display| {
        FileError::new(
            format!("无法读取工作表：{e}"),
            format!("cannot read the worksheet: {e}"),
        )
    };
    let mut reader = wb
        .worksheet_cells_reader(&sheet)
        .map_err(|e| unreadable(&e))?;
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    let (mut row_start, mut row_end, mut col_start) = (u32::MAX, 0u32, u32::MAX);
    while let Some(c) = reader.next_cell().map_err(|e| unreadable(&e))? {
        let (row, col) = c.get_position();
        if row >= XLSX_MAX_ROWS || col >= XLSX_MAX_COLUMNS {
            return Err(FileError::new(
                format!(
                    "工作表的单元格超出范围（第 {} 行第 {} 列）：名册最多 {XLSX_MAX_COLUMNS} 列、{XLSX_MAX_ROWS} 行",
                    u64::from(row) + 1,
                    u64::from(col) + 1
                ),
                format!(
                    "a cell of the worksheet is out of range (row {}, column {}): a roster has at most {XLSX_MAX_COLUMNS} columns and {XLSX_MAX_ROWS} rows",
                    u64::from(row) + 1,
                    u64::from(col) + 1
                ),
            ));
        }
        let value = Data::from(c.get_value().clone());
        if value == Data::Empty {
            continue;
        }
        row_start = row_start.min(row);
        row_end = row_end.max(row);
        col_start = col_start.min(col);
        cells.push((row, col, cell_text(&value)));
    }
    if cells.is_empty() {
        return Ok(Table {
            headers: Vec::new(),
            rows: Vec::new(),
        });
    }
    let span = (row_end - row_start) as usize + 1;
    let widest = cells.iter().map(|c| c.1 - col_start).max().unwrap_or(0) as usize + 1;
    if span.saturating_mul(widest) > XLSX_MAX_CELLS {
        return Err(FileError::new(
            format!("工作表过大：第一个到最后一个单元格之间超过 {XLSX_MAX_CELLS} 个单元格"),
            format!(
                "the worksheet is too large: more than {XLSX_MAX_CELLS} cells between its first and last cell"
            ),
        ));
    }
    let mut grid: Vec<Vec<String>> = vec![Vec::new(); span];
    for (row, col, text) in cells {
        let (r, c) = ((row - row_start) as usize, (col - col_start) as usize);
        let line = &mut grid[r];
        if line.len() <= c {
            line.resize(c + 1, String::new());
        }
        line[c] = text;
    }
    let mut rows = grid.into_iter();
    let headers = rows
        .next()
        .map(|r| r.iter().map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    Ok(Table {
        headers,
        rows: rows.collect(),
    })
}

/// A cell's value as the roster reads it.
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
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
}

/// Rows of a file before it is read, for the progress bar and the choice of
/// bulk mode: the number of line breaks (an upper bound when quoted cells
/// hold line breaks).
pub(crate) fn estimate_csv_rows(bytes: &[u8]) -> usize {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    let last = usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n"));
    (lines + last).saturating_sub(1)
}

/// A roster file opened for the import by [`open_rows`].
pub struct OpenedRoster {
    /// The rows after the header, not yet read (CSV) or read (XLSX).
    pub rows: RowSource,
    /// The headers, trimmed.
    pub headers: Vec<String>,
    /// Data rows in the file: counted for XLSX, estimated from the line
    /// breaks for CSV (an upper bound).
    pub estimate: usize,
}

/// Opens a roster file for the import: reads its headers and, for XLSX, its
/// rows; the rows of a CSV file are read one by one as the import asks for
/// them.
pub fn open_rows(format: RosterFormat, bytes: &[u8]) -> Result<OpenedRoster, FileError> {
    match format {
        RosterFormat::Csv => {
            let data = strip_bom(bytes);
            let estimate = estimate_csv_rows(data);
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(Cursor::new(data.to_vec()));
            let headers: Vec<String> = rdr
                .headers()
                .map_err(|e| FileError::csv_header(&e))?
                .iter()
                .map(|h| h.trim().to_string())
                .collect();
            Ok(OpenedRoster {
                rows: RowSource::Csv(rdr),
                headers,
                estimate,
            })
        }
        RosterFormat::Xlsx => {
            let table = read_xlsx(bytes)?;
            let estimate = table.rows.len();
            Ok(OpenedRoster {
                rows: RowSource::Table(table.rows.into_iter()),
                headers: table.headers,
                estimate,
            })
        }
    }
}

/// Rows of a roster file, in order.
pub enum RowSource {
    /// A CSV reader positioned after the header.
    Csv(csv::Reader<Cursor<Vec<u8>>>),
    /// Rows already read (XLSX).
    Table(std::vec::IntoIter<Vec<String>>),
}

/// One row of either source.
pub enum Row {
    Csv(csv::StringRecord),
    Table(Vec<String>),
}

impl crate::Cells for Row {
    fn cell(&self, i: usize) -> Option<&str> {
        match self {
            Row::Csv(r) => r.get(i),
            Row::Table(r) => r.get(i).map(String::as_str),
        }
    }
    fn is_blank(&self) -> bool {
        match self {
            Row::Csv(r) => r.iter().all(|c| c.trim().is_empty()),
            Row::Table(r) => r.iter().all(|c| c.trim().is_empty()),
        }
    }
}

impl RowSource {
    /// The next row; `index` is its position among the data rows (line
    /// `index + 2`), for the error message.
    pub fn next(&mut self, index: usize) -> Option<Result<Row, FileError>> {
        match self {
            RowSource::Csv(rdr) => {
                let mut rec = csv::StringRecord::new();
                match rdr.read_record(&mut rec) {
                    Ok(true) => Some(Ok(Row::Csv(rec))),
                    Ok(false) => None,
                    Err(e) => Some(Err(FileError::csv_line(index + 2, &e))),
                }
            }
            RowSource::Table(rows) => rows.next().map(|r| Ok(Row::Table(r))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cells;

    #[test]
    fn csv_rows_are_estimated_from_line_breaks() {
        assert_eq!(estimate_csv_rows(b""), 0);
        assert_eq!(estimate_csv_rows(b"a,b\n"), 0);
        assert_eq!(estimate_csv_rows(b"a,b\n1,2"), 1);
        assert_eq!(estimate_csv_rows(b"a,b\n1,2\n3,4\n"), 2);
    }

    #[test]
    fn opened_csv_reads_row_by_row_after_a_bom() {
        let mut f = open_rows(
            RosterFormat::Csv,
            "\u{feff} 姓名 ,stage\n张三,正式党员\n,\n".as_bytes(),
        )
        .expect("open");
        assert_eq!(f.headers, ["姓名", "stage"]);
        assert_eq!(f.estimate, 2);
        let row = f.rows.next(0).expect("row").expect("readable");
        assert_eq!(row.cell(0), Some("张三"));
        assert!(!row.is_blank());
        assert!(f.rows.next(1).expect("row").expect("readable").is_blank());
        assert!(f.rows.next(2).is_none());
    }

    #[test]
    fn a_workbook_reads_as_its_rectangle_of_written_cells() {
        let t = read_xlsx(include_bytes!(
            "../../../fuzz/seeds/roster_xlsx/branch.xlsx"
        ))
        .expect("readable");
        assert_eq!(t.headers.len(), 13, "{:?}", t.headers);
        assert_eq!(t.headers[0], "姓名");
        assert_eq!(t.rows.len(), 25);
        assert!(t.rows.iter().all(|r| !r.is_empty() && r.len() <= 13));
    }

    /// Files that once ended the process: a crafted cell reference whose
    /// column overflowed inside calamine (found by the fuzz target), a cell
    /// at Excel's last column and row (the dense range asked for 17 billion
    /// cells), a span of 1,048,576 rows × 256 columns. Each is refused with
    /// a message, and nothing is allocated for the empty cells between.
    #[test]
    fn hostile_worksheets_are_refused_not_allocated() {
        let overflow =
            include_bytes!("../../../fuzz/seeds/roster_xlsx/regression-column-overflow.xlsx");
        assert!(read_xlsx(overflow).is_err());

        let e = read_xlsx(include_bytes!("../tests/data/far-cell.xlsx"))
            .err()
            .expect("refused");
        assert!(e.message_zh.contains("第 1048576 行第 16384 列"), "{e:?}");
        assert!(e.message_en.contains("row 1048576, column 16384"), "{e:?}");

        let e = read_xlsx(include_bytes!("../tests/data/wide-span.xlsx"))
            .err()
            .expect("refused");
        assert!(
            e.message_en.starts_with("the worksheet is too large"),
            "{e:?}"
        );
    }

    #[test]
    fn unreadable_files_say_so_in_both_languages() {
        let e = read_xlsx(b"not a workbook").err().expect("refused");
        assert!(e.message_zh.starts_with("无法打开 XLSX 文件："), "{e:?}");
        assert!(
            e.message_en.starts_with("cannot open the XLSX file: "),
            "{e:?}"
        );
        // Invalid UTF-8 on line 3 (the header is line 1).
        let e = read_csv(b"name,stage\na,b\n\xff,c\n")
            .err()
            .expect("refused");
        assert!(e.message_zh.starts_with("第 3 行无法读取："), "{e:?}");
        assert!(e.message_en.starts_with("line 3 cannot be read: "), "{e:?}");
    }
}
