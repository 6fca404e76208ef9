//! From cells to a member: date and yes/no spellings, the mapping of a
//! file's headers onto [`COLUMNS`](crate::COLUMNS), and one row to a
//! [`MemberDraft`] with the errors of its cells.

use std::collections::HashMap;

use chrono::NaiveDate;
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{Education, MemberDraft, Stage, StageDates};

use crate::{COLUMNS, RowError};

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

/// Maps a file's headers to the fields of [`COLUMNS`] (field → position),
/// with an error for each required column (name, ID number, stage) missing.
pub fn map_headers(headers: &[String]) -> (HashMap<&'static str, usize>, Vec<RowError>) {
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
pub trait Cells {
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
pub fn column_of(map: &HashMap<&'static str, usize>, headers: &[String], field: &str) -> String {
    map.get(field)
        .and_then(|&i| headers.get(i))
        .cloned()
        .unwrap_or_default()
}

/// Builds a member draft from one row, collecting the cell-level errors.
pub fn row_to_draft(
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
