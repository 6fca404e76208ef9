//! Demo and scale data: a realistic tree (province → cities → counties →
//! grassroots committees → branches → party groups) with Chinese names,
//! valid resident ID numbers and stages in plausible proportions, plus one
//! demo user per role. Deterministic for a given seed.

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::identity::Role;
use dangjian_domain::members::{Education, MemberDraft, Stage, StageDates, validate_member};
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use dangjian_domain::resident_id::compute_check_char;
use dangjian_store::repo::{identity as irepo, members as mrepo, orgs as orepo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::identity::{generate_password, hash_password};
use crate::members::{BIDX_ID, build_row, registered_event};
use crate::orgs::NewOrgInput;
use crate::{Actor, App, AppError};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "欧阳", "司马",
];
/// Given names, by the sex the ID number encodes (DOMAIN.md §3), so a demo
/// man is not called 秀英.
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "平", "刚", "建国", "建华", "志强",
    "文", "华", "德胜", "国庆", "晓东", "鹏", "宇", "浩然", "思远", "振华", "立新", "卫东", "永红",
];
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "秀英", "敏", "静", "丽", "艳", "娟", "秀兰", "霞", "桂英", "海燕", "红梅", "玉兰",
    "春梅", "雪", "欣怡", "子涵", "佳怡", "淑珍", "凤英", "金凤", "华", "平",
];
const ETHNIC: &[(&str, u32)] = &[
    ("汉族", 90),
    ("壮族", 2),
    ("回族", 2),
    ("满族", 2),
    ("苗族", 1),
    ("维吾尔族", 1),
    ("土家族", 1),
    ("蒙古族", 1),
];
const REGIONS: &[&str] = &[
    "110105", "310104", "420106", "510107", "440305", "330106", "320102", "370102", "430102",
    "610113",
];
const PLACES: &[&str] = &[
    "青山", "白水", "东湖", "西岭", "南屏", "北川", "长乐", "永安", "太平", "和平", "新华", "红星",
    "光明", "胜利", "团结", "幸福", "丰收", "金沙", "柳林", "桃源",
];

/// A demo account and its one-time password.
#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub login: String,
    pub password: String,
    pub role: Role,
    pub org: String,
}

/// What `dangjian demo` printed (the automation contract of DESIGN.md).
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub root_org: String,
    pub users: Vec<DemoUser>,
    pub organizations: usize,
    pub members: usize,
    /// False when the data already existed and only passwords were reset.
    pub seeded: bool,
}

/// Progress of seeding, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct SeedProgress {
    pub members_done: usize,
    pub members_total: usize,
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

fn name(rng: &mut StdRng, male: bool) -> String {
    let given = if male { GIVEN_MALE } else { GIVEN_FEMALE };
    format!("{}{}", pick(rng, SURNAMES), pick(rng, given))
}

fn ethnicity(rng: &mut StdRng) -> String {
    let total: u32 = ETHNIC.iter().map(|e| e.1).sum();
    let mut x = rng.gen_range(0..total);
    for (e, w) in ETHNIC {
        if x < *w {
            return e.to_string();
        }
        x -= w;
    }
    "汉族".into()
}

/// A plausible member as of `today`, with a unique valid ID number.
fn member_draft(rng: &mut StdRng, today: NaiveDate, used: &mut HashSet<String>) -> MemberDraft {
    let stage = match rng.gen_range(0..100) {
        0..=69 => Stage::Full,
        70..=77 => Stage::Probationary,
        78..=84 => Stage::DevelopmentTarget,
        85..=92 => Stage::Activist,
        _ => Stage::Applicant,
    };
    // Walk back from the latest stage date (DOMAIN.md §4 intervals).
    let mut dates = StageDates::default();
    let mut d = today - Duration::days(rng.gen_range(10..4000));
    if stage == Stage::Full {
        dates.full_on = Some(d);
        // 366 days: a year of probation spanning 29 February is 366 days long.
        d -= Duration::days(366 + rng.gen_range(0..60));
    }
    if stage >= Stage::Probationary {
        dates.probationary_on = Some(d);
        d -= Duration::days(rng.gen_range(90..270));
    }
    if stage >= Stage::DevelopmentTarget {
        dates.development_target_on = Some(d);
        d -= Duration::days(366 + rng.gen_range(0..365));
    }
    if stage >= Stage::Activist {
        dates.activist_on = Some(d);
        d -= Duration::days(rng.gen_range(60..365));
    }
    dates.applied_on = Some(d);
    let age_years = rng.gen_range(18..45);
    let birth = d - Duration::days(age_years * 365 + rng.gen_range(10..300));
    let id = loop {
        let first17 = format!(
            "{}{:04}{:02}{:02}{:03}",
            pick(rng, REGIONS),
            birth.year(),
            birth.month(),
            birth.day(),
            rng.gen_range(0..1000)
        );
        let id = format!("{first17}{}", compute_check_char(&first17));
        if used.insert(id.clone()) {
            break id;
        }
    };
    let category = match rng.gen_range(0..100) {
        0..=54 => DuesCategory::Employed,
        55..=74 => DuesCategory::Retired,
        75..=89 => DuesCategory::Farmer,
        90..=95 => DuesCategory::Student,
        _ => DuesCategory::Unemployed,
    };
    MemberDraft {
        // The 17th character's parity is the sex (odd = male, GB 11643).
        name: name(
            rng,
            id.as_bytes().get(16).is_some_and(|d| (d - b'0') % 2 == 1),
        ),
        id_number: id,
        ethnicity: ethnicity(rng),
        phone: rng.gen_bool(0.85).then(|| {
            format!(
                "1{}{:09}",
                pick(rng, &["38", "39", "50", "86", "58", "77"]),
                rng.gen_range(0..1_000_000_000u64)
            )
            .chars()
            .take(11)
            .collect()
        }),
        education: Some(*pick(rng, Education::ALL)),
        dues_category: category,
        stage,
        stage_dates: dates,
        mobile: rng.gen_bool(0.05),
    }
}

struct Plan {
    cities: usize,
    counties_per_city: usize,
    committees_per_county: usize,
    branches_per_committee: usize,
}

fn plan(members: usize) -> Plan {
    let branches = members.div_ceil(40).max(12);
    let committees = branches.div_ceil(10).max(4);
    let counties = committees.div_ceil(20).max(4);
    let cities = counties.div_ceil(10).max(2);
    let counties_per_city = counties.div_ceil(cities);
    let committees_per_county = committees.div_ceil(cities * counties_per_city);
    let branches_per_committee =
        branches.div_ceil(cities * counties_per_city * committees_per_county);
    Plan {
        cities,
        counties_per_city,
        committees_per_county,
        branches_per_committee,
    }
}

impl App {
    /// Seeds the demo tree and users into an empty database; on a database
    /// that already holds the demo, issues new passwords to the demo users.
    pub async fn seed_demo(
        &self,
        members: usize,
        progress: &(dyn Fn(SeedProgress) + Sync),
    ) -> Result<DemoReport, AppError> {
        if let Some(root) = orepo::by_code(&self.db.conn, "GD").await? {
            let users = self.reset_demo_passwords().await?;
            return Ok(DemoReport {
                root_org: root.code,
                users,
                organizations: orepo::subtree_count(&self.db.conn, &root.path).await? as usize,
                members: mrepo::count_in_subtree(&self.db.conn, &root.path).await? as usize,
                seeded: false,
            });
        }
        if !orepo::roots(&self.db.conn).await?.is_empty() {
            return Err(AppError::Conflict(dangjian_domain::FieldError::new(
                "data",
                "not_empty",
                "数据库中已有其他组织数据，不能写入演示数据",
                "the database already holds other organizations; demo data is only seeded into an empty database",
            )));
        }
        let mut rng = StdRng::seed_from_u64(20_261_128);
        let today = self.today();
        let sys = Actor::system(0, "/");
        let mk = |code: String,
                  name: String,
                  kind: OrgKind,
                  setting: OrgSetting,
                  parent: Option<String>,
                  committee: bool| NewOrgInput {
            code,
            name,
            kind,
            setting,
            parent_code: parent,
            has_committee: committee,
            committee_elected_on: committee.then(|| today - Duration::days(400)),
        };
        let root = self
            .create_org(
                &sys,
                mk(
                    "GD".into(),
                    "示范省委".into(),
                    OrgKind::Province,
                    OrgSetting::StateOrgan,
                    None,
                    true,
                ),
            )
            .await?;
        let sys = Actor::system(root.id, &root.path);
        let p = plan(members);
        let mut branches: Vec<(i64, String)> = Vec::new();
        let mut orgs = 1;
        for c in 0..p.cities {
            let city_code = format!("GD-C{:02}", c + 1);
            let place = PLACES[c % PLACES.len()];
            self.create_org(
                &sys,
                mk(
                    city_code.clone(),
                    format!("{place}市委"),
                    OrgKind::City,
                    OrgSetting::StateOrgan,
                    Some("GD".into()),
                    true,
                ),
            )
            .await?;
            orgs += 1;
            for x in 0..p.counties_per_city {
                let county_code = format!("{city_code}-X{:02}", x + 1);
                let cplace = PLACES[(c * 7 + x + 3) % PLACES.len()];
                self.create_org(
                    &sys,
                    mk(
                        county_code.clone(),
                        format!("{cplace}县委"),
                        OrgKind::County,
                        OrgSetting::StateOrgan,
                        Some(city_code.clone()),
                        true,
                    ),
                )
                .await?;
                orgs += 1;
                for w in 0..p.committees_per_county {
                    let com_code = format!("{county_code}-W{:02}", w + 1);
                    let wplace = PLACES[(c * 11 + x * 5 + w + 1) % PLACES.len()];
                    self.create_org(
                        &sys,
                        mk(
                            com_code.clone(),
                            format!("{wplace}镇党委"),
                            OrgKind::Committee,
                            OrgSetting::Village,
                            Some(county_code.clone()),
                            true,
                        ),
                    )
                    .await?;
                    orgs += 1;
                    for b in 0..p.branches_per_committee {
                        let br_code = format!("{com_code}-B{:02}", b + 1);
                        let bplace = PLACES[(c * 13 + x * 3 + w * 7 + b) % PLACES.len()];
                        let (bname, setting) = if b % 3 == 2 {
                            (format!("{bplace}社区党支部"), OrgSetting::Community)
                        } else {
                            (format!("{bplace}村党支部"), OrgSetting::Village)
                        };
                        let br = self
                            .create_org(
                                &sys,
                                mk(
                                    br_code.clone(),
                                    bname,
                                    OrgKind::Branch,
                                    setting,
                                    Some(com_code.clone()),
                                    b % 2 == 0,
                                ),
                            )
                            .await?;
                        orgs += 1;
                        for g in 0..2 {
                            self.create_org(
                                &sys,
                                mk(
                                    format!("{br_code}-G{}", g + 1),
                                    format!("第{}党小组", ["一", "二"][g]),
                                    OrgKind::Group,
                                    setting,
                                    Some(br_code.clone()),
                                    false,
                                ),
                            )
                            .await?;
                            orgs += 1;
                        }
                        branches.push((br.id, br_code));
                    }
                }
            }
        }
        // Members: spread over branches; the first branch is large when the
        // demo is large, for the 500-member list benchmark.
        let now = self.clock.now();
        let mut used = HashSet::new();
        let mut done = 0usize;
        let big = if members >= 5_000 { 500 } else { 0 };
        let per_branch_rest = (members.saturating_sub(big)).div_ceil(branches.len().max(1));
        let mut first_member_a: Option<i64> = None;
        let mut batch_rows = Vec::new();
        let mut batch_valid = Vec::new();
        for (bi, (branch_id, _)) in branches.iter().enumerate() {
            let want = if bi == 0 && big > 0 {
                big
            } else {
                per_branch_rest
            };
            for _ in 0..want {
                if done >= members {
                    break;
                }
                let draft = member_draft(&mut rng, today, &mut used);
                let v = validate_member(&draft, today).map_err(|e| {
                    AppError::Internal(format!("demo generated an invalid member: {e:?}"))
                })?;
                batch_rows.push(build_row(self, &v, *branch_id, now)?);
                batch_valid.push((v, *branch_id));
                done += 1;
            }
            if batch_rows.len() >= 5000 || bi + 1 == branches.len() {
                let (_writer, tx) = self.begin_write().await?;
                let rows = std::mem::take(&mut batch_rows);
                let valid = std::mem::take(&mut batch_valid);
                let mut ids = Vec::with_capacity(rows.len());
                let mut rows_iter = rows.into_iter().peekable();
                while rows_iter.peek().is_some() {
                    let chunk: Vec<_> = rows_iter.by_ref().take(400).collect();
                    ids.extend(mrepo::insert_many(&tx, chunk).await?);
                }
                if first_member_a.is_none() {
                    first_member_a = ids.first().copied();
                }
                let mut events = Vec::with_capacity(ids.len());
                for ((v, org_id), id) in valid.iter().zip(&ids) {
                    events.push(registered_event(self, v, *id, *org_id, None, now, "demo")?);
                    if events.len() == 400 {
                        mrepo::add_events(&tx, std::mem::take(&mut events)).await?;
                    }
                }
                mrepo::add_events(&tx, events).await?;
                let mut ledger = self.ledger_appender(&tx).await?;
                ledger.append_members(self, &tx, &ids).await?;
                tx.commit().await?;
                progress(SeedProgress {
                    members_done: done,
                    members_total: members,
                });
            }
        }
        let _ = BIDX_ID;
        self.ledger_checkpoint().await?;
        // Members were bulk-inserted without evaluation: one sweep brings the
        // demo's warnings up to date (DOMAIN.md §9).
        let now = self.clock.now();
        self.sweep(now).await?;
        self.sweep_member_data(now).await?;
        // Demo users, one per role (DOMAIN.md §1).
        let a = branches.first().map(|b| b.1.clone()).unwrap_or_default();
        let b = branches.get(1).map(|b| b.1.clone()).unwrap_or_default();
        let county = "GD-C01-X01".to_string();
        let specs: Vec<(&str, &str, Role, String, Option<i64>)> = vec![
            ("admin", "省委组织部管理员", Role::Admin, "GD".into(), None),
            ("auditor", "省委审计员", Role::Auditor, "GD".into(), None),
            (
                "county_staff",
                "县委组织部干事",
                Role::CommitteeStaff,
                county,
                None,
            ),
            (
                "secretary_a",
                "支部书记甲",
                Role::Secretary,
                a.clone(),
                None,
            ),
            ("secretary_b", "支部书记乙", Role::Secretary, b, None),
            ("member_a", "党员甲", Role::Member, a, first_member_a),
        ];
        let mut users = Vec::new();
        for (login, display, role, org, member_id) in specs {
            let nu = self
                .add_user(&sys, login, display, role, &org, member_id)
                .await?;
            users.push(DemoUser {
                login: nu.login,
                password: nu.password,
                role,
                org,
            });
        }
        Ok(DemoReport {
            root_org: root.code,
            users,
            organizations: orgs,
            members: done,
            seeded: true,
        })
    }

    /// New one-time passwords for the demo users of an existing demo database.
    async fn reset_demo_passwords(&self) -> Result<Vec<DemoUser>, AppError> {
        let mut out = Vec::new();
        for login in [
            "admin",
            "auditor",
            "county_staff",
            "secretary_a",
            "secretary_b",
            "member_a",
        ] {
            let Some(u) = irepo::user_by_login(&self.db.conn, login).await? else {
                continue;
            };
            let grants = irepo::grants_of(&self.db.conn, u.id).await?;
            let Some(g) = grants.first() else { continue };
            let password = generate_password()?;
            irepo::set_password(&self.db.conn, u, &hash_password(&password)?).await?;
            out.push(DemoUser {
                login: login.into(),
                password,
                role: Role::parse(&g.role).unwrap_or(Role::Member),
                org: g.org_code.clone(),
            });
        }
        Ok(out)
    }
}

/// A roster CSV of `n` valid, distinct people (Chinese headers), for import
/// benchmarks and tests. Deterministic for a given seed.
pub fn roster_csv(n: usize, seed: u64, today: NaiveDate) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut used = HashSet::new();
    let mut out = String::with_capacity(n * 120);
    out.push_str("姓名,身份证号,民族,手机号,学历,人员类别,党员阶段,申请入党日期,确定积极分子日期,确定发展对象日期,入党日期,转正日期,流动党员\n");
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    for _ in 0..n {
        let m = member_draft(&mut rng, today, &mut used);
        let s = &m.stage_dates;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            m.name,
            m.id_number,
            m.ethnicity,
            m.phone.unwrap_or_default(),
            m.education.map(|e| e.label_zh()).unwrap_or(""),
            m.dues_category.label_zh(),
            m.stage.label_zh(),
            d(s.applied_on),
            d(s.activist_on),
            d(s.development_target_on),
            d(s.probationary_on),
            d(s.full_on),
            if m.mobile { "是" } else { "否" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_members_are_valid() {
        let mut rng = StdRng::seed_from_u64(1);
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let mut used = HashSet::new();
        for _ in 0..2000 {
            let d = member_draft(&mut rng, today, &mut used);
            validate_member(&d, today).unwrap_or_else(|e| panic!("{d:?}: {e:?}"));
        }
    }

    #[test]
    fn plan_scales() {
        let p = plan(1_000_000);
        let branches =
            p.cities * p.counties_per_city * p.committees_per_county * p.branches_per_committee;
        assert!(branches >= 25_000, "{branches}");
        let p = plan(200);
        assert!(
            p.cities * p.counties_per_city * p.committees_per_county * p.branches_per_committee
                >= 12
        );
    }
}
