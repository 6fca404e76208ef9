//! Wire types of the JSON API (read models for clients), converted from the
//! application's views. No logic here.

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::members::{MemberDetail, MemberSummary};
use dangjian_app::orgs::{OrgDetail, OrgView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// central, province, city, county, committee, general_branch, branch, group
    pub kind: String,
    pub kind_label: String,
    pub setting: String,
    pub parent_id: Option<i64>,
    pub depth: i32,
    /// active or dissolved
    pub status: String,
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
    /// Term chosen at the election, in years; null: the longest allowed.
    pub committee_term_years: Option<i32>,
}

impl OrgOut {
    pub fn from_view(o: &OrgView) -> Self {
        Self {
            id: o.id,
            code: o.code.clone(),
            name: o.name.clone(),
            kind: o.kind.as_str().into(),
            kind_label: o.kind.label_zh().into(),
            setting: o.setting.as_str().into(),
            parent_id: o.parent_id,
            depth: o.depth,
            status: o.status.as_str().into(),
            has_committee: o.has_committee,
            committee_elected_on: o.committee_elected_on,
            committee_term_years: o.committee_term_years,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageCount {
    pub stage: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDetailOut {
    pub org: OrgOut,
    pub parent: Option<OrgOut>,
    pub children: Vec<OrgOut>,
    pub stage_counts: Vec<StageCount>,
    pub members_in_subtree: u64,
}

impl From<OrgDetail> for OrgDetailOut {
    fn from(d: OrgDetail) -> Self {
        Self {
            org: OrgOut::from_view(&d.org),
            parent: d.parent.as_ref().map(OrgOut::from_view),
            children: d.children.iter().map(OrgOut::from_view).collect(),
            stage_counts: d
                .stage_counts
                .into_iter()
                .map(|(stage, count)| StageCount { stage, count })
                .collect(),
            members_in_subtree: d.members_in_subtree,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgListOut {
    pub items: Vec<OrgOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrgIn {
    pub code: String,
    pub name: String,
    /// province, city, county, committee, general_branch, branch, group
    pub kind: String,
    /// village, community, state_organ, enterprise, institution, school, other
    pub setting: Option<String>,
    pub parent_code: String,
    #[serde(default)]
    pub has_committee: bool,
    pub committee_elected_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameIn {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveIn {
    pub parent_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    pub at: DateTime<Utc>,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub id: i64,
    pub name: String,
    /// male or female, derived from the ID number
    pub sex: String,
    pub birth_date: NaiveDate,
    pub stage: String,
    pub stage_label: String,
    pub status: String,
    /// Always masked in lists.
    pub id_number_masked: String,
    pub phone_masked: Option<String>,
    pub is_mobile: bool,
    pub org_id: i64,
}

impl From<&MemberSummary> for MemberOut {
    fn from(m: &MemberSummary) -> Self {
        Self {
            id: m.id,
            name: m.name.clone(),
            sex: m.sex.as_str().into(),
            birth_date: m.birth_date,
            stage: m.stage.as_str().into(),
            stage_label: m.stage.label_zh().into(),
            status: m.status.as_str().into(),
            id_number_masked: m.id_number_masked.clone(),
            phone_masked: m.phone_masked.clone(),
            is_mobile: m.is_mobile,
            org_id: m.org_id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPageOut {
    pub items: Vec<MemberOut>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageDatesOut {
    pub applied_on: Option<NaiveDate>,
    pub activist_on: Option<NaiveDate>,
    pub development_target_on: Option<NaiveDate>,
    pub probationary_on: Option<NaiveDate>,
    pub full_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub at: DateTime<Utc>,
    pub kind: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDetailOut {
    #[serde(flatten)]
    pub member: MemberOut,
    /// In clear only when `sensitive_visible`; that read is audited.
    pub id_number: String,
    pub phone: Option<String>,
    pub ethnicity: String,
    pub education: Option<String>,
    pub dues_category: String,
    pub stage_dates: StageDatesOut,
    pub org: OrgOut,
    pub sensitive_visible: bool,
    pub events: Vec<EventOut>,
}

impl From<MemberDetail> for MemberDetailOut {
    fn from(d: MemberDetail) -> Self {
        let sd = &d.stage_dates;
        Self {
            member: MemberOut::from(&d.summary),
            id_number: d.id_number,
            phone: d.phone,
            ethnicity: d.ethnicity,
            education: d.education.map(|e| e.as_str().to_string()),
            dues_category: d.dues_category.as_str().into(),
            stage_dates: StageDatesOut {
                applied_on: sd.applied_on,
                activist_on: sd.activist_on,
                development_target_on: sd.development_target_on,
                probationary_on: sd.probationary_on,
                full_on: sd.full_on,
            },
            org: OrgOut::from_view(&d.org),
            sensitive_visible: d.sensitive_visible,
            events: d
                .events
                .into_iter()
                .map(|e| EventOut {
                    at: e.at,
                    kind: e.kind,
                    detail: e.detail,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMemberIn {
    pub name: String,
    pub id_number: String,
    pub ethnicity: Option<String>,
    pub phone: Option<String>,
    pub education: Option<String>,
    /// employed, retired, farmer, student, unemployed, subsistence
    pub dues_category: Option<String>,
    /// applicant, activist, development_target, probationary, full
    pub stage: String,
    pub applied_on: Option<NaiveDate>,
    pub activist_on: Option<NaiveDate>,
    pub development_target_on: Option<NaiveDate>,
    pub probationary_on: Option<NaiveDate>,
    pub full_on: Option<NaiveDate>,
    #[serde(default)]
    pub is_mobile: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IdSearchIn {
    pub id_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberListOut {
    pub items: Vec<MemberOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginIn {
    pub login: String,
    pub password: String,
    /// Code of the second factor, required once the user enrolled one.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOut {
    pub role: String,
    pub org_code: String,
    pub org_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub login: String,
    pub display_name: String,
    pub member_id: Option<i64>,
    pub grants: Vec<GrantOut>,
    /// Send as `X-CSRF-Token` on unsafe requests authenticated by the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

impl MeOut {
    pub fn new(a: &dangjian_app::Actor, csrf: Option<String>) -> Self {
        Self {
            login: a.login.clone(),
            display_name: a.display_name.clone(),
            member_id: a.member_id,
            grants: a
                .grants
                .iter()
                .map(|g| GrantOut {
                    role: g.role.as_str().into(),
                    org_code: g.org_code.clone(),
                    org_name: g.org_name.clone(),
                })
                .collect(),
            csrf_token: csrf,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowErrorOut {
    pub row: usize,
    pub column: String,
    pub field: String,
    pub code: String,
    pub message: String,
    pub message_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOut {
    pub rows: usize,
    pub imported: usize,
    pub errors: Vec<RowErrorOut>,
}

impl From<dangjian_app::roster::ImportReport> for ImportOut {
    fn from(r: dangjian_app::roster::ImportReport) -> Self {
        Self {
            rows: r.rows,
            imported: r.imported,
            errors: r
                .errors
                .into_iter()
                .map(|e| RowErrorOut {
                    row: e.row,
                    column: e.column,
                    field: e.field,
                    code: e.code,
                    message: e.message_zh,
                    message_en: e.message_en,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    pub status: String,
}
