//! Test harness of the `app` story tests (STYLE.md idea 7).
//!
//! [`TestDb::new`] gives a fresh, migrated database: SQLite in a private temp
//! directory by default, or — when `DANGJIAN_TEST_DATABASE_URL` names a
//! PostgreSQL server — a database of its own created on that server for this
//! test and dropped afterwards (STYLE.md idea 6: one story, both backends).
//! [`Fixture::new`] builds an [`App`] on it with a clock standing at
//! 2026-11-28T02:00:00Z and a small tree created the way `seed_demo` does it:
//!
//! ```text
//! province SX ─ city SX-C1 ─ county SX-C1-X1 ─ committee SX-C1-X1-W1 ─┬─ branch A (SX-…-BA)
//!                                                                       └─ branch B (SX-…-BB)
//! ```
//!
//! (DOMAIN.md §2 does not let a county sit directly under a province, so the
//! tree has a city between them.)

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use dangjian_app::members::MemberSummary;
use dangjian_app::orgs::{NewOrgInput, OrgView};
use dangjian_app::{Actor, App, AppError, Backend, Db, FixedClock, Keyring};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::identity::Role;
use dangjian_domain::members::{Education, MemberDraft, Stage, StageDates};
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use dangjian_domain::resident_id::compute_check_char;
use dangjian_store::entities::{audit, member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

/// Environment variable naming a PostgreSQL server for the suite.
pub const PG_ENV: &str = "DANGJIAN_TEST_DATABASE_URL";

/// Codes of the fixture's organizations.
pub const PROVINCE: &str = "SX";
pub const CITY: &str = "SX-C1";
pub const COUNTY: &str = "SX-C1-X1";
pub const COMMITTEE: &str = "SX-C1-X1-W1";
pub const BRANCH_A: &str = "SX-C1-X1-W1-BA";
pub const BRANCH_B: &str = "SX-C1-X1-W1-BB";
/// Names of the two branches; branch A's must never leak to branch B.
pub const BRANCH_A_NAME: &str = "青松村党支部";
pub const BRANCH_B_NAME: &str = "翠柏社区党支部";

/// The instant the fixture's clock stands at.
pub fn fixture_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0)
        .single()
        .expect("valid instant")
}

/// A name no other test in this run (or a concurrent run) uses.
fn unique_name(prefix: &str) -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let mut rnd = [0u8; 4];
    getrandom::getrandom(&mut rnd).expect("random bytes");
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        hex::encode(rnd)
    )
}

/// `url` with its database name replaced by `name` (query string dropped).
fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{name}")
}

/// Where a test database lives, so it can be removed afterwards.
enum Location {
    /// SQLite files in a temp directory of their own.
    Sqlite(PathBuf),
    /// A PostgreSQL database created for this test on the admin URL's server.
    Postgres { admin_url: String, name: String },
}

/// A fresh, migrated database for one test.
pub struct TestDb {
    pub db: Db,
    location: Location,
}

impl TestDb {
    /// SQLite in a temp dir, or a new PostgreSQL database when
    /// `DANGJIAN_TEST_DATABASE_URL` is set.
    pub async fn new() -> Self {
        Self::migrated(None).await
    }

    /// [`TestDb::new`] with only the first `steps` migrations applied
    /// (`None`: all), for tests of a migration on older data.
    pub async fn migrated(steps: Option<u32>) -> Self {
        let t = match std::env::var(PG_ENV) {
            Ok(url) if !url.trim().is_empty() => Self::postgres(url.trim()).await,
            _ => Self::sqlite().await,
        };
        match steps {
            Some(n) => t.db.migrate_steps(n).await.expect("migrate"),
            None => t.db.migrate().await.expect("migrate"),
        };
        t
    }

    /// True when the selected backend is SQLite.
    pub fn is_sqlite() -> bool {
        !matches!(std::env::var(PG_ENV), Ok(u) if !u.trim().is_empty())
    }

    async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name("dangjian-test"));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}", dir.join("dangjian.db").display());
        let db = Db::connect(&url).await.expect("open SQLite");
        assert_eq!(db.backend, Backend::Sqlite);
        Self {
            db,
            location: Location::Sqlite(dir),
        }
    }

    async fn postgres(admin_url: &str) -> Self {
        let name = unique_name("dj_test");
        let admin = Database::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {PG_ENV}={admin_url}: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let db = Db::connect(&with_database(admin_url, &name))
            .await
            .expect("open test database");
        assert_eq!(db.backend, Backend::Postgres);
        Self {
            db,
            location: Location::Postgres {
                admin_url: admin_url.to_string(),
                name,
            },
        }
    }

    /// Directory of the SQLite files (`None` on PostgreSQL).
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match &self.location {
            Location::Sqlite(dir) => Some(dir),
            Location::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.location {
            Location::Sqlite(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Location::Postgres { admin_url, name } => {
                // Drop runs inside the test's runtime; do the async work on a
                // thread with a runtime of its own. FORCE ends the pool's
                // remaining connections.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await
                                .ok();
                            admin.close().await.ok();
                        }
                    });
                });
                done.join().ok();
            }
        }
    }
}

/// An app on a fresh database with the fixture tree.
pub struct Fixture {
    pub app: App,
    pub clock: Arc<FixedClock>,
    /// Administrator of the whole fixture tree (acts as `seed_demo` does).
    pub sys: Actor,
    pub province: OrgView,
    pub city: OrgView,
    pub county: OrgView,
    pub committee: OrgView,
    pub branch_a: OrgView,
    pub branch_b: OrgView,
    // Declared last: fields drop in order, so the app's pool goes before the
    // database is removed.
    pub tdb: TestDb,
}

/// Input of a new organization under `parent`.
pub fn org_input(
    code: &str,
    name: &str,
    kind: OrgKind,
    setting: OrgSetting,
    parent: Option<&str>,
) -> NewOrgInput {
    NewOrgInput {
        code: code.into(),
        name: name.into(),
        kind,
        setting,
        parent_code: parent.map(str::to_string),
        has_committee: kind != OrgKind::Group,
        committee_elected_on: (kind != OrgKind::Group).then(|| date(2025, 6, 1)),
    }
}

impl Fixture {
    /// A fresh database, the app and the fixture tree.
    pub async fn new() -> Self {
        Self::with_keyring(Keyring::generate().expect("keyring")).await
    }

    /// [`Fixture::new`] with the given keys (e.g. the national suite).
    pub async fn with_keyring(keys: Keyring) -> Self {
        let fx = Self::on(TestDb::new().await, keys).await;
        fx.app.start_workflows().await.expect("start workflows");
        fx
    }

    /// The fixture tree on a given database (e.g. one migrated part way,
    /// so [`App::start_workflows`] is left to the test).
    pub async fn on(tdb: TestDb, keys: Keyring) -> Self {
        let clock = Arc::new(FixedClock::new(fixture_now()));
        let app = App::new(tdb.db.clone(), keys, clock.clone());
        let root_sys = Actor::system(0, "/");
        let province = app
            .create_org(
                &root_sys,
                org_input(
                    PROVINCE,
                    "山溪省委",
                    OrgKind::Province,
                    OrgSetting::StateOrgan,
                    None,
                ),
            )
            .await
            .expect("create province");
        let sys = Actor::system(province.id, &province.path);
        let mk = |code: &'static str, name: &'static str, kind, setting, parent: &'static str| {
            org_input(code, name, kind, setting, Some(parent))
        };
        let city = app
            .create_org(
                &sys,
                mk(
                    CITY,
                    "青山市委",
                    OrgKind::City,
                    OrgSetting::StateOrgan,
                    PROVINCE,
                ),
            )
            .await
            .expect("create city");
        let county = app
            .create_org(
                &sys,
                mk(
                    COUNTY,
                    "白水县委",
                    OrgKind::County,
                    OrgSetting::StateOrgan,
                    CITY,
                ),
            )
            .await
            .expect("create county");
        let committee = app
            .create_org(
                &sys,
                mk(
                    COMMITTEE,
                    "东湖镇党委",
                    OrgKind::Committee,
                    OrgSetting::Village,
                    COUNTY,
                ),
            )
            .await
            .expect("create committee");
        let branch_a = app
            .create_org(
                &sys,
                mk(
                    BRANCH_A,
                    BRANCH_A_NAME,
                    OrgKind::Branch,
                    OrgSetting::Village,
                    COMMITTEE,
                ),
            )
            .await
            .expect("create branch A");
        let branch_b = app
            .create_org(
                &sys,
                mk(
                    BRANCH_B,
                    BRANCH_B_NAME,
                    OrgKind::Branch,
                    OrgSetting::Community,
                    COMMITTEE,
                ),
            )
            .await
            .expect("create branch B");
        Self {
            app,
            clock,
            sys,
            province,
            city,
            county,
            committee,
            branch_a,
            branch_b,
            tdb,
        }
    }

    /// A new user holding `role` at `org_code`, signed in (its grants loaded).
    pub async fn user(&self, role: Role, org_code: &str) -> Actor {
        self.user_for_member(role, org_code, None).await
    }

    /// Like [`Fixture::user`], linked to a member record.
    pub async fn user_for_member(
        &self,
        role: Role,
        org_code: &str,
        member_id: Option<i64>,
    ) -> Actor {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let login = format!("{}_{}", role.as_str(), SEQ.fetch_add(1, Ordering::Relaxed));
        let nu = self
            .app
            .add_user(&self.sys, &login, &login, role, org_code, member_id)
            .await
            .expect("add user");
        self.app
            .actor_for(nu.user_id, Some("127.0.0.1".into()))
            .await
            .expect("actor")
    }

    /// Registers `draft` in `org_code` as the fixture's administrator.
    pub async fn register(&self, org_code: &str, draft: MemberDraft) -> MemberSummary {
        self.app
            .register_member(&self.sys, org_code, draft)
            .await
            .expect("register member")
    }

    /// Number of member rows in the whole database.
    pub async fn member_rows(&self) -> u64 {
        member::Entity::find()
            .count(&self.app.db.conn)
            .await
            .expect("count members")
    }

    /// Audit rows with `action`, oldest first.
    pub async fn audit_rows(&self, action: &str) -> Vec<audit::Model> {
        audit::Entity::find()
            .filter(audit::Column::Action.eq(action))
            .order_by_asc(audit::Column::Id)
            .all(&self.app.db.conn)
            .await
            .expect("read audit log")
    }
}

/// A calendar date.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A valid resident ID number, distinct for each `seq` below 1000 (born
/// 1990-01-01 + `seq` days, region 110105).
pub fn id_number(seq: u32) -> String {
    let birth = date(1990, 1, 1) + chrono::Duration::days(i64::from(seq % 1000));
    let first17 = format!(
        "110105{}{:03}",
        birth.format("%Y%m%d"),
        (seq * 7 + 11) % 1000
    );
    format!("{first17}{}", compute_check_char(&first17))
}

/// `id` with its check character replaced by a wrong one.
pub fn with_bad_checksum(id: &str) -> String {
    let (first17, check) = id.split_at(17);
    let bad = if check == "0" { '1' } else { '0' };
    assert_ne!(compute_check_char(first17).to_string(), bad.to_string());
    format!("{first17}{bad}")
}

/// A distinct valid mobile number for each `seq`.
pub fn phone(seq: u32) -> String {
    format!("1390{:07}", 1_234_567 + seq * 7919)
}

/// A distinct two- or three-character Chinese name for each `seq`.
pub fn person_name(seq: u32) -> String {
    const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄"];
    const GIVEN: &[&str] = &["伟", "芳", "敏", "静", "磊", "军", "洋", "勇", "杰", "涛"];
    let s = SURNAMES[(seq as usize) % SURNAMES.len()];
    let g1 = GIVEN[(seq as usize / SURNAMES.len()) % GIVEN.len()];
    let g2 = GIVEN[(seq as usize / (SURNAMES.len() * GIVEN.len())) % GIVEN.len()];
    if seq < (SURNAMES.len() * GIVEN.len()) as u32 {
        format!("{s}{g1}")
    } else {
        format!("{s}{g1}{g2}")
    }
}

/// Stage dates of a full member whose road took the minimum periods.
pub fn full_member_dates() -> StageDates {
    StageDates {
        applied_on: Some(date(2015, 3, 1)),
        activist_on: Some(date(2015, 9, 1)),
        development_target_on: Some(date(2016, 10, 1)),
        probationary_on: Some(date(2017, 1, 10)),
        full_on: Some(date(2018, 1, 15)),
    }
}

/// A valid full member numbered `seq` (name, ID and phone derive from it).
pub fn draft(seq: u32) -> MemberDraft {
    MemberDraft {
        name: person_name(seq),
        id_number: id_number(seq),
        ethnicity: "汉族".into(),
        phone: Some(phone(seq)),
        education: Some(Education::Bachelor),
        dues_category: DuesCategory::Employed,
        stage: Stage::Full,
        stage_dates: full_member_dates(),
        mobile: false,
    }
}

/// The field names of a validation error, or a panic naming what came instead.
pub fn fields_of(r: Result<impl std::fmt::Debug, AppError>) -> Vec<String> {
    match r {
        Err(AppError::Validation(v)) => v.0.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}
