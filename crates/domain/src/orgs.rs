//! Organizations: levels and kinds of the five-level tree (DOMAIN.md §2) and
//! the structural rules a branch must meet.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

code_enum! {
    /// What an organization is. The first four are leadership levels
    /// (中央 → 省 → 市 → 县); the rest are grassroots units (DOMAIN.md §2).
    pub enum OrgKind {
        Central = ("central", "中央", "Central"),
        Province = ("province", "省级党委", "Province"),
        City = ("city", "市级党委", "City"),
        County = ("county", "县级党委", "County"),
        Committee = ("committee", "基层党委", "Grassroots committee"),
        GeneralBranch = ("general_branch", "党总支", "General branch"),
        Branch = ("branch", "党支部", "Branch"),
        Group = ("group", "党小组", "Party group"),
    }
}

code_enum! {
    /// Where a grassroots organization sits; decides its committee term (DOMAIN.md §2).
    pub enum OrgSetting {
        Village = ("village", "农村", "Village"),
        Community = ("community", "社区", "Community"),
        StateOrgan = ("state_organ", "党政机关", "Party or state organ"),
        Enterprise = ("enterprise", "企业", "Enterprise"),
        Institution = ("institution", "事业单位", "Public institution"),
        School = ("school", "学校", "School"),
        Other = ("other", "其他", "Other"),
    }
}

code_enum! {
    /// Whether an organization is in use or dissolved (archived, never deleted).
    pub enum OrgStatus {
        Active = ("active", "正常", "Active"),
        Dissolved = ("dissolved", "已撤销", "Dissolved"),
    }
}

impl OrgKind {
    /// Central, province, city and county committees (DOMAIN.md §2).
    pub fn is_leadership_level(self) -> bool {
        matches!(
            self,
            OrgKind::Central | OrgKind::Province | OrgKind::City | OrgKind::County
        )
    }

    /// Grassroots committee, general branch, branch or party group (DOMAIN.md §2).
    pub fn is_grassroots(self) -> bool {
        !self.is_leadership_level()
    }

    /// Whether the organization is led by an elected committee with a term
    /// (every kind but the party group, which has a group leader).
    pub fn has_elected_committee(self) -> bool {
        self != OrgKind::Group
    }
}

/// Whether `child` may sit directly under `parent` in the tree (DOMAIN.md §2):
/// central → province → city → county; a province, city or county may also
/// hold grassroots committees, general branches or branches directly; a
/// grassroots committee holds general branches and branches; a general branch
/// holds branches; a branch holds party groups; a group holds nothing.
pub fn allowed_child(parent: OrgKind, child: OrgKind) -> bool {
    use OrgKind::*;
    let grassroots_unit = matches!(child, Committee | GeneralBranch | Branch);
    match parent {
        Central => child == Province,
        Province => child == City || grassroots_unit,
        City => child == County || grassroots_unit,
        County => grassroots_unit,
        Committee => matches!(child, GeneralBranch | Branch),
        GeneralBranch => child == Branch,
        Branch => child == Group,
        Group => false,
    }
}

/// Longest organization name, in characters (full official names such as
/// 中共某某县某某镇某某村股份经济合作社支部委员会 fit easily).
pub const ORG_NAME_MAX_CHARS: usize = 100;
/// Shortest and longest organization code.
pub const ORG_CODE_MIN_LEN: usize = 2;
pub const ORG_CODE_MAX_LEN: usize = 32;

/// Checks an organization name: 2–100 characters after trimming, no control
/// characters, not only digits or punctuation. Returns the trimmed name.
pub fn validate_org_name(name: &str) -> Result<String, FieldError> {
    let n = name.trim();
    let err = |code, zh: &str, en: &str| FieldError::new("name", code, zh, en);
    if n.is_empty() {
        return Err(err("required", "请填写组织名称", "The name is required"));
    }
    let len = n.chars().count();
    if !(2..=ORG_NAME_MAX_CHARS).contains(&len) {
        return Err(err(
            "org_name_length",
            "组织名称应为2至100个字",
            "An organization name has 2 to 100 characters",
        ));
    }
    if n.chars().any(char::is_control) || !n.chars().any(char::is_alphabetic) {
        return Err(err(
            "org_name_chars",
            "组织名称含有不允许的字符或缺少文字",
            "An organization name needs letters and no control characters",
        ));
    }
    Ok(n.to_string())
}

/// Checks an organization code: 2–32 characters of `A`–`Z`, `0`–`9` and `-`.
/// Surrounding whitespace is ignored; case is not changed.
pub fn validate_org_code(code: &str) -> Result<String, FieldError> {
    let c = code.trim();
    let err = |rule, zh: &str, en: &str| FieldError::new("code", rule, zh, en);
    if c.is_empty() {
        return Err(err("required", "请填写组织代码", "The code is required"));
    }
    let ok_len = (ORG_CODE_MIN_LEN..=ORG_CODE_MAX_LEN).contains(&c.len());
    let ok_chars = c
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !ok_len || !ok_chars {
        return Err(err(
            "org_code_format",
            "组织代码应为2至32位大写字母、数字或“-”",
            "An organization code has 2 to 32 characters of A-Z, 0-9 and -",
        ));
    }
    Ok(c.to_string())
}

/// Fewest full members a branch needs (DOMAIN.md §2).
pub const MIN_FULL_MEMBERS: u32 = 3;
/// Full members from which a branch elects a committee (DOMAIN.md §2).
pub const COMMITTEE_FULL_MEMBERS: u32 = 7;
/// Members a branch generally has at most (DOMAIN.md §2).
pub const BRANCH_MAX_MEMBERS: u32 = 50;
/// Members from which a grassroots committee may be formed (DOMAIN.md §2).
pub const COMMITTEE_MIN_MEMBERS: u32 = 100;

/// What the structure checks need to know of one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchFacts {
    pub kind: OrgKind,
    pub setting: OrgSetting,
    /// Full members (正式党员), those who vote.
    pub full_members: u32,
    /// Full and probationary members.
    pub total_members: u32,
    /// Whether an elected committee is in office.
    pub has_committee: bool,
    /// When the committee in office was elected.
    pub committee_elected_on: Option<NaiveDate>,
}

/// One departure from the structural rules of DOMAIN.md §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StructureFinding {
    /// A branch with fewer than 3 full members; it should join a joint branch.
    TooFewFullMembers { have: u32 },
    /// A branch with 7 or more full members, a general branch or a grassroots
    /// committee, without an elected committee.
    CommitteeRequired { full: u32 },
    /// A branch of more than 50 members; it may form a general branch (with approval).
    OverBranchLimit { members: u32 },
    /// A branch or general branch of 100 or more members; it may form a
    /// grassroots committee (with approval).
    OverGeneralBranchLimit { members: u32 },
    /// The committee's term ended and no re-election (换届) is recorded.
    TermOverdue {
        elected_on: NaiveDate,
        ended_on: NaiveDate,
    },
}

impl StructureFinding {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            StructureFinding::TooFewFullMembers { .. } => "too_few_full_members",
            StructureFinding::CommitteeRequired { .. } => "committee_required",
            StructureFinding::OverBranchLimit { .. } => "over_branch_limit",
            StructureFinding::OverGeneralBranchLimit { .. } => "over_general_branch_limit",
            StructureFinding::TermOverdue { .. } => "term_overdue",
        }
    }

    /// Message for people, zh-CN.
    pub fn message_zh(&self) -> String {
        match *self {
            StructureFinding::TooFewFullMembers { have } => {
                format!("党支部正式党员仅{have}名，不足3名，应与邻近单位成立联合党支部")
            }
            StructureFinding::CommitteeRequired { full } => {
                format!("有正式党员{full}名，应选举产生委员会")
            }
            StructureFinding::OverBranchLimit { members } => {
                format!("党支部党员{members}名，超过50名，经批准可成立党总支")
            }
            StructureFinding::OverGeneralBranchLimit { members } => {
                format!("党员{members}名，达到100名，经批准可成立基层党委")
            }
            StructureFinding::TermOverdue {
                elected_on,
                ended_on,
            } => format!("委员会于{elected_on}选举产生，任期已于{ended_on}届满，应按期换届"),
        }
    }

    /// Message for people, English.
    pub fn message_en(&self) -> String {
        match *self {
            StructureFinding::TooFewFullMembers { have } => format!(
                "The branch has {have} full members, fewer than 3: form a joint branch with neighbouring units"
            ),
            StructureFinding::CommitteeRequired { full } => {
                format!("With {full} full members, a committee must be elected")
            }
            StructureFinding::OverBranchLimit { members } => format!(
                "The branch has {members} members, more than 50: it may form a general branch with approval"
            ),
            StructureFinding::OverGeneralBranchLimit { members } => format!(
                "{members} members, 100 or more: a grassroots committee may be formed with approval"
            ),
            StructureFinding::TermOverdue {
                elected_on,
                ended_on,
            } => format!(
                "The committee elected on {elected_on} reached the end of its term on {ended_on}: re-election is due"
            ),
        }
    }
}

/// Checks the structural rules of DOMAIN.md §2 for one organization on
/// `today`; the findings are in a stable order, empty when all is well.
/// Leadership levels and party groups have no findings.
pub fn check_structure(facts: &BranchFacts, today: NaiveDate) -> Vec<StructureFinding> {
    let mut out = Vec::new();
    let members = facts.total_members;
    match facts.kind {
        OrgKind::Branch => {
            if facts.full_members < MIN_FULL_MEMBERS {
                out.push(StructureFinding::TooFewFullMembers {
                    have: facts.full_members,
                });
            }
            if facts.full_members >= COMMITTEE_FULL_MEMBERS && !facts.has_committee {
                out.push(StructureFinding::CommitteeRequired {
                    full: facts.full_members,
                });
            }
            if members >= COMMITTEE_MIN_MEMBERS {
                out.push(StructureFinding::OverGeneralBranchLimit { members });
            } else if members > BRANCH_MAX_MEMBERS {
                out.push(StructureFinding::OverBranchLimit { members });
            }
        }
        OrgKind::GeneralBranch | OrgKind::Committee => {
            if !facts.has_committee {
                out.push(StructureFinding::CommitteeRequired {
                    full: facts.full_members,
                });
            }
            if facts.kind == OrgKind::GeneralBranch && members >= COMMITTEE_MIN_MEMBERS {
                out.push(StructureFinding::OverGeneralBranchLimit { members });
            }
        }
        _ => return out,
    }
    if let (true, Some(elected_on)) = (facts.has_committee, facts.committee_elected_on) {
        let (_, max) = term_years(facts.kind, facts.setting);
        let ended_on = term_ends_on(elected_on, max);
        if today > ended_on {
            out.push(StructureFinding::TermOverdue {
                elected_on,
                ended_on,
            });
        }
    }
    out
}

/// Shortest and longest committee term in years (DOMAIN.md §2): branch and
/// general branch committees 3, those of villages and communities 5;
/// grassroots committees 3 to 5, 5 in party and state organs, villages and
/// communities; leadership levels 5 (Party Constitution). A party group has
/// no elected committee: `(0, 0)`.
pub fn term_years(kind: OrgKind, setting: OrgSetting) -> (u32, u32) {
    let village_or_community = matches!(setting, OrgSetting::Village | OrgSetting::Community);
    match kind {
        OrgKind::Central | OrgKind::Province | OrgKind::City | OrgKind::County => (5, 5),
        OrgKind::Committee if village_or_community || setting == OrgSetting::StateOrgan => (5, 5),
        OrgKind::Committee => (3, 5),
        OrgKind::GeneralBranch | OrgKind::Branch if village_or_community => (5, 5),
        OrgKind::GeneralBranch | OrgKind::Branch => (3, 3),
        OrgKind::Group => (0, 0),
    }
}

/// The term in force for a committee elected with `chosen` years (DOMAIN.md
/// §2): the chosen length when the kind allows it, else the longest allowed
/// (a grassroots committee elected without a recorded choice: 5 years).
pub fn effective_term_years(kind: OrgKind, setting: OrgSetting, chosen: Option<u32>) -> u32 {
    let (min, max) = term_years(kind, setting);
    match chosen {
        Some(y) if (min..=max).contains(&y) => y,
        _ => max,
    }
}

/// Whether `years` is a term an election of this organization may choose
/// (DOMAIN.md §2: 3–5 years for most grassroots committees, else fixed).
pub fn term_years_allowed(kind: OrgKind, setting: OrgSetting, years: u32) -> bool {
    let (min, max) = term_years(kind, setting);
    max > 0 && (min..=max).contains(&years)
}

/// Last day of a term of `years` years that began on `elected_on`: the same
/// calendar day `years` later (29 February ends on 28 February).
pub fn term_ends_on(elected_on: NaiveDate, years: u32) -> NaiveDate {
    elected_on
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_term_applies_within_the_range_of_domain_2() {
        use OrgKind as K;
        use OrgSetting as S;
        assert_eq!(effective_term_years(K::Committee, S::Enterprise, None), 5);
        assert_eq!(
            effective_term_years(K::Committee, S::Enterprise, Some(3)),
            3
        );
        assert_eq!(
            effective_term_years(K::Committee, S::Enterprise, Some(4)),
            4
        );
        assert_eq!(
            effective_term_years(K::Committee, S::Enterprise, Some(6)),
            5
        );
        assert_eq!(effective_term_years(K::Branch, S::Enterprise, Some(5)), 3);
        assert!(term_years_allowed(K::Committee, S::School, 3));
        assert!(!term_years_allowed(K::Committee, S::School, 2));
        assert!(!term_years_allowed(K::Committee, S::StateOrgan, 3));
        assert!(term_years_allowed(K::Branch, S::Village, 5));
        assert!(!term_years_allowed(K::Group, S::Other, 0));
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn branch(full: u32, total: u32, has_committee: bool) -> BranchFacts {
        BranchFacts {
            kind: OrgKind::Branch,
            setting: OrgSetting::Enterprise,
            full_members: full,
            total_members: total,
            has_committee,
            committee_elected_on: None,
        }
    }

    fn today() -> NaiveDate {
        d(2025, 6, 1)
    }

    #[test]
    fn leadership_levels() {
        let leaders: Vec<OrgKind> = OrgKind::ALL
            .iter()
            .copied()
            .filter(|k| k.is_leadership_level())
            .collect();
        assert_eq!(
            leaders,
            [
                OrgKind::Central,
                OrgKind::Province,
                OrgKind::City,
                OrgKind::County
            ]
        );
        assert!(OrgKind::Branch.is_grassroots());
    }

    #[test]
    fn tree_shape() {
        use OrgKind::*;
        let allowed = [
            (Central, Province),
            (Province, City),
            (Province, Committee),
            (Province, GeneralBranch),
            (Province, Branch),
            (City, County),
            (City, Committee),
            (City, GeneralBranch),
            (City, Branch),
            (County, Committee),
            (County, GeneralBranch),
            (County, Branch),
            (Committee, GeneralBranch),
            (Committee, Branch),
            (GeneralBranch, Branch),
            (Branch, Group),
        ];
        for p in OrgKind::ALL.iter().copied() {
            for c in OrgKind::ALL.iter().copied() {
                assert_eq!(
                    allowed_child(p, c),
                    allowed.contains(&(p, c)),
                    "{p:?} → {c:?}"
                );
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            validate_org_name("  中共某某村支部委员会 "),
            Ok("中共某某村支部委员会".into())
        );
        let code = |n: &str| validate_org_name(n).err().map(|e| e.code);
        assert_eq!(code(""), Some("required"));
        assert_eq!(code("党"), Some("org_name_length"));
        assert_eq!(code(&"党".repeat(101)), Some("org_name_length"));
        assert_eq!(code(&"党".repeat(100)), None);
        assert_eq!(code("第1\n支部"), Some("org_name_chars"));
        assert_eq!(code("12345"), Some("org_name_chars"));
        assert_eq!(code("Branch 3"), None);
    }

    #[test]
    fn codes() {
        assert_eq!(validate_org_code(" CN-33-01 "), Ok("CN-33-01".into()));
        let code = |c: &str| validate_org_code(c).err().map(|e| e.code);
        assert_eq!(code(""), Some("required"));
        assert_eq!(code("A"), Some("org_code_format"));
        assert_eq!(code("AB"), None);
        assert_eq!(code(&"A".repeat(32)), None);
        assert_eq!(code(&"A".repeat(33)), Some("org_code_format"));
        assert_eq!(code("cn-33"), Some("org_code_format"));
        assert_eq!(code("CN_33"), Some("org_code_format"));
        assert_eq!(code("CN 33"), Some("org_code_format"));
        assert_eq!(code("党支部"), Some("org_code_format"));
        assert_eq!(
            validate_org_code("A").err().map(|e| e.field),
            Some("code".into())
        );
    }

    #[test]
    fn full_member_minimum_2_3() {
        assert_eq!(
            check_structure(&branch(2, 4, false), today()),
            [StructureFinding::TooFewFullMembers { have: 2 }]
        );
        assert!(check_structure(&branch(3, 4, false), today()).is_empty());
    }

    #[test]
    fn committee_from_7_full_members_6_7() {
        assert!(check_structure(&branch(6, 10, false), today()).is_empty());
        assert_eq!(
            check_structure(&branch(7, 10, false), today()),
            [StructureFinding::CommitteeRequired { full: 7 }]
        );
        assert!(check_structure(&branch(7, 10, true), today()).is_empty());
    }

    #[test]
    fn branch_size_50_51_99_100() {
        assert!(check_structure(&branch(40, 50, true), today()).is_empty());
        assert_eq!(
            check_structure(&branch(40, 51, true), today()),
            [StructureFinding::OverBranchLimit { members: 51 }]
        );
        assert_eq!(
            check_structure(&branch(80, 99, true), today()),
            [StructureFinding::OverBranchLimit { members: 99 }]
        );
        assert_eq!(
            check_structure(&branch(80, 100, true), today()),
            [StructureFinding::OverGeneralBranchLimit { members: 100 }]
        );
    }

    #[test]
    fn general_branch_99_100() {
        let mut gb = branch(80, 99, true);
        gb.kind = OrgKind::GeneralBranch;
        assert!(check_structure(&gb, today()).is_empty());
        gb.total_members = 100;
        assert_eq!(
            check_structure(&gb, today()),
            [StructureFinding::OverGeneralBranchLimit { members: 100 }]
        );
        gb.has_committee = false;
        assert_eq!(check_structure(&gb, today()).len(), 2);
    }

    #[test]
    fn leadership_levels_and_groups_have_no_findings() {
        let mut f = branch(0, 0, false);
        for k in [OrgKind::County, OrgKind::Group] {
            f.kind = k;
            assert!(check_structure(&f, today()).is_empty());
        }
    }

    #[test]
    fn terms() {
        use OrgSetting::*;
        assert_eq!(term_years(OrgKind::Branch, Enterprise), (3, 3));
        assert_eq!(term_years(OrgKind::GeneralBranch, School), (3, 3));
        assert_eq!(term_years(OrgKind::Branch, Village), (5, 5));
        assert_eq!(term_years(OrgKind::Branch, Community), (5, 5));
        assert_eq!(term_years(OrgKind::Committee, Enterprise), (3, 5));
        assert_eq!(term_years(OrgKind::Committee, StateOrgan), (5, 5));
        assert_eq!(term_years(OrgKind::County, Other), (5, 5));
        assert_eq!(term_years(OrgKind::Group, Other), (0, 0));
        assert_eq!(term_ends_on(d(2021, 6, 15), 3), d(2024, 6, 15));
        assert_eq!(term_ends_on(d(2020, 2, 29), 3), d(2023, 2, 28));
        assert_eq!(term_ends_on(NaiveDate::MAX, 5), NaiveDate::MAX);
    }

    #[test]
    fn term_overdue() {
        let mut f = branch(8, 12, true);
        f.committee_elected_on = Some(d(2021, 6, 15));
        assert!(check_structure(&f, d(2024, 6, 15)).is_empty());
        assert_eq!(
            check_structure(&f, d(2024, 6, 16)),
            [StructureFinding::TermOverdue {
                elected_on: d(2021, 6, 15),
                ended_on: d(2024, 6, 15)
            }]
        );
        f.setting = OrgSetting::Village;
        assert!(check_structure(&f, d(2026, 6, 15)).is_empty());
    }

    #[test]
    fn findings_have_messages() {
        let all = [
            StructureFinding::TooFewFullMembers { have: 2 },
            StructureFinding::CommitteeRequired { full: 7 },
            StructureFinding::OverBranchLimit { members: 51 },
            StructureFinding::OverGeneralBranchLimit { members: 100 },
            StructureFinding::TermOverdue {
                elected_on: d(2021, 1, 1),
                ended_on: d(2024, 1, 1),
            },
        ];
        for f in all {
            assert!(!f.code().is_empty());
            assert!(!f.message_zh().is_empty() && !f.message_en().is_empty());
        }
    }
}
