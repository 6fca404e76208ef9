//! The authorization matrix (issue 5, item 1): every route of the router ×
//! every role × the organization it is aimed at (own, child, sibling,
//! parent), checked against the expected outcomes in `authz_matrix.toml`.
//!
//! The list of routes comes from the router itself (its path table, and a
//! probe of each path with every method: axum answers 405 for a method it
//! does not route), so a route added without an entry in the table fails
//! the test, and so does an entry whose route is gone. Every `/api/v1`
//! route must also be in the OpenAPI document.
//!
//! Cells: `A` allowed (the request got past authorization: 2xx, 3xx not to
//! the login page, or 400/409/422 from validation), `D` denied (403 or 404),
//! `U` unauthenticated (401 or a redirect to the login page), `-` nothing of
//! that kind exists at that organization (not sent). A 5xx fails always.
//!
//! A second test sends every unsafe route with a session cookie but without
//! its CSRF token and expects a CSRF refusal.
//!
//! `DANGJIAN_AUTHZ_RECORD=1` rewrites the table from what the router
//! answers (review the diff like any other change of access rules).

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use dangjian_app::{Actor, App};
use dangjian_domain::identity::Role;
use dangjian_store::entities::{
    certificate, decision, meeting, meeting_attachment, member, org, transfer_letter, warning,
    workflow_instance,
};
use dangjian_store::sea_orm::{EntityTrait, QueryOrder};
use serde::Deserialize;

mod common;

const TABLE: &str = "tests/authz_matrix.toml";
const ROLES: [&str; 6] = [
    "anonymous",
    "member",
    "secretary",
    "staff",
    "auditor",
    "admin",
];
const RELATIONS: [&str; 4] = ["own", "child", "sibling", "parent"];

#[derive(Debug, Deserialize)]
struct Table {
    route: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    route: String,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(flatten)]
    expect: BTreeMap<String, String>,
}

/// A caller: credentials and the organizations around the one it acts for.
struct Subject {
    role: &'static str,
    token: Option<String>,
    session: Option<(String, String)>,
    actor: Option<Actor>,
    /// own, child, sibling, parent: organization codes.
    orgs: [String; 4],
}

struct World {
    orgs: Vec<org::Model>,
    members: Vec<member::Model>,
    warnings: Vec<warning::Model>,
    decisions: Vec<decision::Model>,
    meetings: Vec<meeting::Model>,
    letters: Vec<transfer_letter::Model>,
    certificates: Vec<certificate::Model>,
    /// (attachment id, meeting id)
    attachments: Vec<(i64, i64)>,
    admissions: Vec<workflow_instance::Model>,
    /// (attachment id, admission id)
    admission_attachments: Vec<(i64, i64)>,
}

impl World {
    fn org(&self, code: &str) -> &org::Model {
        self.orgs.iter().find(|o| o.code == code).expect("org")
    }

    fn in_scope(&self, org_id: i64, target: &str, exact: bool) -> bool {
        let t = self.org(target);
        match self.orgs.iter().find(|o| o.id == org_id) {
            Some(o) if exact => o.id == t.id,
            Some(o) => o.path.starts_with(&t.path),
            None => false,
        }
    }

    /// The first resource of the route's kind at the target organization
    /// (its subtree, or exactly it for the parent relation).
    fn resource(&self, path: &str, target: &str, relation: &str) -> Option<i64> {
        let exact = relation == "parent";
        if path.contains("/members/{id}") {
            self.members
                .iter()
                .find(|m| self.in_scope(m.org_id, target, exact))
                .map(|m| m.id)
        } else if path.contains("/admissions/{id}") {
            self.admissions
                .iter()
                .find(|a| self.in_scope(a.org_id, target, exact))
                .map(|a| a.id)
        } else if path.contains("/warnings/{id}") {
            self.warnings
                .iter()
                .find(|w| self.in_scope(w.org_id, target, exact))
                .map(|w| w.id)
        } else if path.contains("/decisions/{id}") {
            self.decisions
                .iter()
                .find(|d| self.in_scope(d.org_id, target, exact))
                .map(|d| d.id)
        } else if path.contains("/meetings/{id}") {
            self.meetings
                .iter()
                .find(|m| self.in_scope(m.org_id, target, exact))
                .map(|m| m.id)
        } else if path.contains("/transfers/{id}") {
            // The signed letter exists for letters to another server; the
            // other routes aim at a letter within this server.
            let kind = if path.contains("/letter") {
                "outgoing"
            } else {
                "local"
            };
            self.letters
                .iter()
                .filter(|l| l.kind == kind)
                .find(|l| {
                    l.from_org_id
                        .is_some_and(|o| self.in_scope(o, target, exact))
                })
                .map(|l| l.id)
        } else if path.contains("/certificate") && path.contains("{number}") {
            self.certificates
                .iter()
                .find(|c| self.in_scope(c.org_id, target, exact))
                .map(|c| c.id)
        } else {
            None
        }
    }
}

/// Paths in the router's table, read from its `Debug` form
/// (`Node { paths: {RouteId(n): "/path", …} }`).
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let dbg = format!("{router:?}");
    let mut out = BTreeSet::new();
    let mut rest = dbg.as_str();
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i + "RouteId(".len()..];
        let Some(close) = rest.find(')') else { break };
        let after = &rest[close + 1..];
        if let Some(q) = after.strip_prefix(": \"")
            && let Some(end) = q.find('"')
            && !q[..end].contains("__private__")
        {
            out.insert(q[..end].to_string());
        }
    }
    assert!(
        out.len() > 30 && out.contains("/api/v1/members/{id}"),
        "could not read the route table from the router's Debug form: {out:?}"
    );
    out
}

/// Sample values for path parameters, used only to find the methods.
fn probe_path(p: &str) -> String {
    p.replace("{code}", "GD")
        .replace("{id}", "1")
        .replace("{index}", "0")
        .replace("{ext}", "csv")
        .replace("{month}", "2026-11")
        .replace("{member_id}", "1")
        .replace("{attachment_id}", "1")
        .replace("{login}", "admin")
        .replace("{number}", "0000-0000-0000-0000")
        .replace("{*path}", "0/000.p/1")
        .replace("{step}", "talk")
        .replace("{form}", "application_record")
}

/// Every (method, path) the router serves.
async fn router_routes(router: &axum::Router) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in router_paths(router) {
        for m in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let req = Request::builder()
                .method(m.clone())
                .uri(probe_path(&p))
                .body(Body::empty())
                .expect("req");
            let r = common::send_raw(router, req).await;
            if r.status != StatusCode::METHOD_NOT_ALLOWED {
                out.insert(format!("{m} {p}"));
            }
        }
    }
    out
}

fn org_relative(e: &Entry) -> bool {
    let (_, path) = e.route.split_once(' ').expect("METHOD PATH");
    let uses = |s: &str| {
        s.contains("{code}")
            || s.contains("{id}")
            || s.contains("{number}")
            || s.contains("/{login}")
    };
    !path.starts_with("/lang/")
        && (uses(path)
            || e.query.as_deref().is_some_and(uses)
            || e.body.as_deref().is_some_and(uses))
}

fn classify(status: StatusCode, location: Option<&str>, body: &str) -> char {
    match status.as_u16() {
        401 => 'U',
        300..=399 if location.is_some_and(|l| l.starts_with("/login?next=")) => 'U',
        403 | 404 => 'D',
        // A reference to an organization the caller may not see is refused
        // as an unknown value of that field.
        422 if body.contains("\"unknown_org\"") => 'D',
        500.. => 'E',
        _ => 'A',
    }
}

async fn user(app: &App, login: &str) -> Actor {
    let u = dangjian_store::repo::identity::user_by_login(&app.db.conn, login)
        .await
        .expect("db")
        .expect("user");
    app.actor_for(u.id, None).await.expect("actor")
}

const BRANCH: &str = "GD-C01-X01-W01-B01";
const COUNTY: &str = "GD-C01-X01";

async fn subjects(app: &App) -> Vec<Subject> {
    // The demo's auditor and admin act for the root, which has no sibling
    // or parent; these two act for a county like the committee staff.
    let root = user(app, "admin").await;
    app.add_user(&root, "auditor_x", "县审计员", Role::Auditor, COUNTY, None)
        .await
        .expect("auditor_x");
    app.add_user(&root, "admin_x", "县管理员", Role::Admin, COUNTY, None)
        .await
        .expect("admin_x");
    let branch_orgs = [
        BRANCH.to_string(),
        format!("{BRANCH}-G1"),
        "GD-C01-X01-W01-B02".to_string(),
        "GD-C01-X01-W01".to_string(),
    ];
    let county_orgs = [
        COUNTY.to_string(),
        BRANCH.to_string(),
        "GD-C01-X02".to_string(),
        "GD-C01".to_string(),
    ];
    // One user with a role at each organization aimed at, for user routes.
    for code in branch_orgs.iter().chain(&county_orgs) {
        if dangjian_store::repo::identity::user_by_login(&app.db.conn, &format!("u-{code}"))
            .await
            .expect("db")
            .is_none()
        {
            app.add_user(
                &root,
                &format!("u-{code}"),
                "用户",
                Role::Member,
                code,
                None,
            )
            .await
            .expect("user");
        }
    }
    let mut out = vec![Subject {
        role: "anonymous",
        token: None,
        session: None,
        actor: None,
        orgs: branch_orgs.clone(),
    }];
    for (role, login, orgs) in [
        ("member", "member_a", &branch_orgs),
        ("secretary", "secretary_a", &branch_orgs),
        ("staff", "county_staff", &county_orgs),
        ("auditor", "auditor_x", &county_orgs),
        ("admin", "admin_x", &county_orgs),
    ] {
        let actor = user(app, login).await;
        let token = app.create_token(login, "authz").await.expect("token");
        let session = app.open_session(&actor).await.expect("session");
        out.push(Subject {
            role,
            token: Some(token),
            session: Some(session),
            actor: Some(actor),
            orgs: orgs.clone(),
        });
    }
    out
}

/// One decision at each organization the subjects aim at, so the decision
/// routes have something to find.
async fn seed_decisions(app: &App) {
    use dangjian_app::decisions::DecisionInput;
    use dangjian_domain::decisions::{DecisionKind, DecisionMethod, Position, Statement};
    let root = user(app, "admin").await;
    for code in [
        BRANCH,
        "GD-C01-X01-W01-B02",
        "GD-C01-X01-W01",
        COUNTY,
        "GD-C01-X02",
        "GD-C01",
    ] {
        let input = DecisionInput {
            kind: DecisionKind::MajorPolicy,
            title: "关于矩阵测试的决定".into(),
            amount_fen: None,
            method: DecisionMethod::Meeting,
            decided_on: app.today(),
            meeting: Some("党委会".into()),
            members_total: 3,
            attendees: vec![1, 2, 3],
            recused: vec![],
            prior_research: true,
            consultation: true,
            legal_review: true,
            statements: (1..=3)
                .map(|id| Statement {
                    member_id: id,
                    position: Position::Agree,
                    is_principal_leader: id == 3,
                })
                .collect(),
            dissent_recorded: false,
            emergency: false,
            emergency_reported_on: None,
        };
        app.record_decision(&root, code, input)
            .await
            .expect("decision");
    }
}

/// A branch assembly, open for sign-in now, at each organization that holds
/// one among those the subjects aim at, so the meeting routes have
/// something to find.
async fn seed_meetings(app: &App) {
    use dangjian_app::meetings::MeetingInput;
    use dangjian_domain::meetings::MeetingKind;
    let root = user(app, "admin").await;
    let now = app.clock.now();
    for code in [BRANCH, "GD-C01-X01-W01-B02", "GD-C01-X01-W01"] {
        let input = MeetingInput {
            kind: MeetingKind::BranchAssembly,
            title: "矩阵测试党员大会".into(),
            agenda: String::new(),
            place: Some("村部".into()),
            online_link: None,
            lecturer: None,
            by_secretary: false,
            starts_at: now - chrono::Duration::minutes(10),
            ends_at: now + chrono::Duration::minutes(50),
            repeat: None,
            repeat_count: 1,
            attendee_ids: None,
        };
        app.schedule_meeting(&root, code, input)
            .await
            .expect("meeting");
    }
    // Earlier meetings of the two branches, held, with every expected
    // member present: their certificates (issue 6). Scheduled after the
    // open ones, so the meeting routes still find those first.
    for code in [BRANCH, "GD-C01-X01-W01-B02"] {
        let input = MeetingInput {
            kind: MeetingKind::PartyLecture,
            title: "矩阵测试党课".into(),
            agenda: String::new(),
            place: Some("村部".into()),
            online_link: None,
            lecturer: None,
            by_secretary: false,
            starts_at: now - chrono::Duration::hours(3),
            ends_at: now - chrono::Duration::hours(2),
            repeat: None,
            repeat_count: 1,
            attendee_ids: None,
        };
        let m = app
            .schedule_meeting(&root, code, input)
            .await
            .expect("meeting")
            .remove(0);
        let d = app.meeting_detail(&root, m.id).await.expect("detail");
        let entries = d
            .attendance
            .iter()
            .map(|a| dangjian_app::meetings::OfflineEntry {
                member_id: a.member_id,
                state: dangjian_domain::meetings::AttendanceState::Present,
                leave_reason: None,
            })
            .collect();
        app.record_offline(&root, m.id, entries)
            .await
            .expect("paper list");
        app.set_meeting_status(&root, m.id, dangjian_domain::meetings::MeetingStatus::Held)
            .await
            .expect("held");
    }
    // One attachment on every meeting, so the attachment routes have one
    // to find at the meeting each cell aims at.
    for m in meeting::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("meetings")
    {
        app.upload_attachment(
            &root,
            m.id,
            dangjian_domain::meetings::AttachmentPurpose::Minutes,
            "minutes.pdf",
            b"%PDF-1.7\n".to_vec(),
        )
        .await
        .expect("attachment");
    }
}

/// At each of the two branches, an open letter to the other branch and
/// one to another server (DOMAIN.md §12), each for a full member, so the
/// transfer routes have something to find.
async fn seed_letters(app: &App) {
    use dangjian_app::transfers::IssueInput;
    let root = user(app, "admin").await;
    let (b1, b2) = (BRANCH, "GD-C01-X01-W01-B02");
    for (from, to) in [(b1, b2), (b2, b1)] {
        let page = app
            .list_members(&root, from, None, 500)
            .await
            .expect("members");
        let mut full = page
            .items
            .iter()
            .filter(|m| m.stage.as_str() == "full")
            .map(|m| m.id);
        for to_origin in [None, Some("dangjian/HN".to_string())] {
            let member_id = full.next().expect("a full member");
            app.issue_letter(
                &root,
                IssueInput {
                    member_id,
                    to_org_code: to.into(),
                    to_origin,
                    ..Default::default()
                },
            )
            .await
            .expect("letter");
        }
    }
}

/// At each of the two branches (and one branch of the sibling county), an
/// admission of a new applicant who applied today (DOMAIN.md §4), its next
/// step the talk, so the admission routes have something to find.
async fn seed_admissions(app: &App) {
    use dangjian_app::admissions::{Applicant, NewApplicant};
    use dangjian_domain::resident_id::compute_check_char;
    let root = user(app, "admin").await;
    for (code, first17, name) in [
        (BRANCH, "44010519950612457", "陈晓东"),
        ("GD-C01-X01-W01-B02", "44010519960713458", "林小梅"),
        // In the sibling county, for the county roles' sibling cells.
        ("GD-C01-X02-W01-B01", "44010519970814459", "黄志强"),
    ] {
        app.start_admission(
            &root,
            code,
            Applicant::Person(NewApplicant {
                name: name.into(),
                id_number: format!("{first17}{}", compute_check_char(first17)),
                ethnicity: "汉族".into(),
                phone: None,
                education: None,
                dues_category: dangjian_domain::dues::DuesCategory::Employed,
                applied_on: app.today(),
            }),
        )
        .await
        .expect("admission");
    }
    // One material on record per admission, so the materials routes have
    // one to find at the admission each cell aims at.
    for a in workflow_instance::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("admissions")
        .into_iter()
        .filter(|a| a.process_key == dangjian_app::admissions::PROCESS_KEY)
    {
        app.upload_admission_attachment(
            &root,
            a.id,
            "other",
            "material.pdf",
            b"%PDF-1.7\n".to_vec(),
        )
        .await
        .expect("admission attachment");
    }
}

async fn world(app: &App) -> World {
    let c = &app.db.conn;
    World {
        orgs: org::Entity::find().all(c).await.expect("orgs"),
        members: member::Entity::find()
            .order_by_asc(member::Column::Id)
            .all(c)
            .await
            .expect("members"),
        warnings: warning::Entity::find()
            .order_by_asc(warning::Column::Id)
            .all(c)
            .await
            .expect("warnings"),
        decisions: decision::Entity::find()
            .order_by_asc(decision::Column::Id)
            .all(c)
            .await
            .expect("decisions"),
        meetings: meeting::Entity::find()
            .order_by_asc(meeting::Column::Id)
            .all(c)
            .await
            .expect("meetings"),
        letters: transfer_letter::Entity::find()
            .order_by_asc(transfer_letter::Column::Id)
            .all(c)
            .await
            .expect("letters"),
        certificates: certificate::Entity::find()
            .order_by_asc(certificate::Column::Id)
            .all(c)
            .await
            .expect("certificates"),
        attachments: meeting_attachment::Entity::find()
            .all(c)
            .await
            .expect("attachments")
            .into_iter()
            .map(|a| (a.id, a.meeting_id))
            .collect(),
        admission_attachments: dangjian_store::entities::admission_attachment::Entity::find()
            .all(c)
            .await
            .expect("admission attachments")
            .into_iter()
            .map(|a| (a.id, a.instance_id))
            .collect(),
        admissions: workflow_instance::Entity::find()
            .order_by_asc(workflow_instance::Column::Id)
            .all(c)
            .await
            .expect("admissions")
            .into_iter()
            .filter(|a| a.process_key == dangjian_app::admissions::PROCESS_KEY)
            .collect(),
    }
}

fn fill(s: &str, code: &str, id: Option<i64>, csrf: &str, role: &str) -> String {
    s.replace("{code}", code)
        .replace("{id}", &id.map(|i| i.to_string()).unwrap_or_default())
        .replace("{csrf}", csrf)
        .replace("{login}", &format!("nobody-{role}"))
        .replace("{index}", "0")
        .replace("{ext}", "csv")
        .replace("{month}", "2026-11")
        .replace("{member_id}", "1")
        .replace("{*path}", "0/000.p/1")
        .replace("{step}", "talk")
        .replace("{form}", "application_record")
}

/// Sends one cell's request; `None` when there is nothing to aim at.
/// How a cell's request carries the session's CSRF token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Csrf {
    /// API by bearer token, pages by cookie with the right token.
    Right,
    /// API and pages by cookie, with a wrong token in forms and none in
    /// the header.
    Missing,
}

async fn cell(
    env: &common::Env,
    w: &World,
    e: &Entry,
    s: &Subject,
    relation: usize,
) -> Option<(char, StatusCode)> {
    let r = send_cell(env, w, e, s, relation, Csrf::Right).await?;
    Some((classify(r.status, r.location.as_deref(), &r.body), r.status))
}

async fn send_cell(
    env: &common::Env,
    w: &World,
    e: &Entry,
    s: &Subject,
    relation: usize,
    mode: Csrf,
) -> Option<common::Sent> {
    let (method, path) = e.route.split_once(' ').expect("METHOD PATH");
    let target = &s.orgs[relation];
    let id = if path.contains("{id}") || path.contains("{number}") {
        Some(w.resource(path, target, RELATIONS[relation])?)
    } else {
        None
    };
    // A certificate route aims at the certificate's number.
    let path = match (path.contains("{number}"), id) {
        (true, Some(id)) => {
            let c = w.certificates.iter().find(|c| c.id == id).expect("cert");
            path.replace("{number}", &c.number)
        }
        _ => path.to_string(),
    };
    let path = path.as_str();
    let path = if path.starts_with("/lang/") {
        path.replace("{code}", "en")
    } else {
        // A user route aims at the user who holds a role at the target.
        path.replace("{login}", &format!("u-{target}"))
    };
    // Signing out ends the session: give that route a session of its own.
    let session = match (&s.session, &s.actor) {
        (Some(_), Some(a)) if path.ends_with("logout") => {
            Some(env.app.open_session(a).await.expect("session"))
        }
        (other, _) => other.clone(),
    };
    let csrf = match mode {
        Csrf::Right => session.as_ref().map(|x| x.1.clone()).unwrap_or_default(),
        Csrf::Missing => "wrong".to_string(),
    };
    let attachments = if path.contains("/admissions/") {
        &w.admission_attachments
    } else {
        &w.attachments
    };
    let attachment = attachments
        .iter()
        .find(|a| Some(a.1) == id)
        .map_or(0, |a| a.0);
    let mut uri =
        fill(&path, target, id, &csrf, s.role).replace("{attachment_id}", &attachment.to_string());
    if let Some(q) = &e.query {
        uri = format!("{uri}?{}", fill(q, target, id, &csrf, s.role));
    }
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(uri);
    let api = path.starts_with("/api/") || path.starts_with("/ledger/");
    match (mode, api, &s.token, &session) {
        (Csrf::Right, true, Some(t), _) => {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        (Csrf::Right, false, _, Some((secret, csrf))) => {
            req = req
                .header(header::COOKIE, format!("dj_session={secret}"))
                .header("x-csrf-token", csrf.as_str());
        }
        (Csrf::Missing, _, _, Some((secret, _))) => {
            req = req.header(header::COOKIE, format!("dj_session={secret}"));
        }
        _ => {}
    }
    let body = match &e.body {
        Some(b) => {
            let ct = e.content_type.clone().unwrap_or_else(|| {
                if b.starts_with('{') {
                    "application/json".into()
                } else {
                    "application/x-www-form-urlencoded".into()
                }
            });
            req = req.header(header::CONTENT_TYPE, ct);
            Body::from(fill(b, target, id, &csrf, s.role).replace("\\n", "\r\n"))
        }
        None => Body::empty(),
    };
    Some(common::send_raw(&env.router, req.body(body).expect("req")).await)
}

#[tokio::test]
async fn every_route_by_every_role_and_relation_matches_the_table() {
    let env = common::env("authz").await;
    seed_decisions(&env.app).await;
    seed_meetings(&env.app).await;
    seed_letters(&env.app).await;
    seed_admissions(&env.app).await;
    let subjects = subjects(&env.app).await;
    let w = world(&env.app).await;
    let text = std::fs::read_to_string(TABLE).expect("authz_matrix.toml");
    let table: Table = toml::from_str(&text).expect("authz_matrix.toml parses");
    let record = std::env::var("DANGJIAN_AUTHZ_RECORD").is_ok_and(|v| v == "1");

    // 1. The table and the router list the same routes.
    let served = router_routes(&env.router).await;
    let listed: BTreeSet<String> = table.route.iter().map(|e| e.route.clone()).collect();
    let missing: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        record || missing.is_empty(),
        "routes without an entry in {TABLE}: {missing:#?}"
    );
    assert!(stale.is_empty(), "entries without a route: {stale:#?}");
    assert_eq!(listed.len(), table.route.len(), "duplicate entries");

    // 2. Every API route is documented in the OpenAPI document.
    let doc = serde_json::to_value(<dangjian_web::api::ApiDoc as utoipa::OpenApi>::openapi())
        .expect("openapi");
    for r in &served {
        let (m, p) = r.split_once(' ').expect("route");
        if p.starts_with("/api/v1/") && p != "/api/v1/openapi.json" {
            assert!(
                doc["paths"][p][m.to_lowercase()].is_object(),
                "{r} is not in the OpenAPI document"
            );
        }
    }

    // 3. Every cell.
    let mut failures = Vec::new();
    let mut recorded = Vec::new();
    let mut entries = table.route.clone();
    for r in &missing {
        entries.push(Entry {
            route: (*r).clone(),
            query: None,
            body: None,
            content_type: None,
            expect: BTreeMap::new(),
        });
    }
    entries.sort_by(|a, b| a.route.cmp(&b.route));
    for e in &entries {
        let relative = org_relative(e);
        let mut got_row = BTreeMap::new();
        let mut statuses = Vec::new();
        for s in &subjects {
            let n = if relative { 4 } else { 1 };
            let mut got = String::new();
            for (rel, relation) in RELATIONS.iter().enumerate().take(n) {
                match cell(&env, &w, e, s, rel).await {
                    Some((c, st)) => {
                        got.push(c);
                        statuses.push(format!("{}/{relation}:{}", s.role, st.as_u16()));
                    }
                    None => got.push('-'),
                }
            }
            let want = e.expect.get(s.role).map(String::as_str).unwrap_or("");
            if got.contains('E') || (!record && got != want) {
                failures.push(format!(
                    "{} as {} (own/child/sibling/parent): expected {want:?}, got {got:?}",
                    e.route, s.role
                ));
            }
            got_row.insert(s.role.to_string(), got);
        }
        if record {
            eprintln!("{}: {}", e.route, statuses.join(" "));
        }
        recorded.push((e.clone(), got_row));
    }
    if record {
        std::fs::write(TABLE, render(&text, &recorded)).expect("write table");
    }
    assert!(
        failures.is_empty(),
        "{} cells differ from {TABLE}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// CSRF (issue 5, item 3): every unsafe route the router serves, sent with
/// an administrator's session cookie but without the session's CSRF token,
/// is refused for that reason (pages: 403; API: 422 naming `x-csrf-token`)
/// and changes nothing. Sign-in is exempt: it
/// has no session yet (SameSite=Lax cookies cover it). So are the witness
/// endpoints of federation (`/witness/…`): they ignore cookies and accept
/// only what a registered child log signed.
#[tokio::test]
async fn every_unsafe_route_refuses_a_session_without_its_csrf_token() {
    let env = common::env("csrf").await;
    seed_decisions(&env.app).await;
    seed_meetings(&env.app).await;
    seed_letters(&env.app).await;
    seed_admissions(&env.app).await;
    let subjects = subjects(&env.app).await;
    let admin = subjects.iter().find(|s| s.role == "admin").expect("admin");
    let w = world(&env.app).await;
    let text = std::fs::read_to_string(TABLE).expect("authz_matrix.toml");
    let table: Table = toml::from_str(&text).expect("authz_matrix.toml parses");
    let served = router_routes(&env.router).await;
    let audit_rows = || async {
        dangjian_store::repo::audit::page(&env.app.db.conn, None, 100_000)
            .await
            .expect("audit")
            .len()
    };
    let before = audit_rows().await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for e in &table.route {
        let (method, path) = e.route.split_once(' ').expect("route");
        if method == "GET"
            || path == "/login"
            || path == "/api/v1/auth/login"
            || path.starts_with("/witness/")
        {
            continue;
        }
        assert!(served.contains(&e.route), "{} is not routed", e.route);
        // Child of the county: a branch with members, warnings, decisions.
        let Some(r) = send_cell(&env, &w, e, admin, 1, Csrf::Missing).await else {
            continue;
        };
        checked += 1;
        let api = path.starts_with("/api/");
        let refused = if api {
            r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("x-csrf-token")
        } else {
            r.status == StatusCode::FORBIDDEN
        };
        if !refused {
            failures.push(format!("{}: {} {}", e.route, r.status, r.body));
        }
    }
    assert!(checked > 20, "only {checked} unsafe routes checked");
    assert!(
        failures.is_empty(),
        "accepted without CSRF token: {failures:#?}"
    );
    assert_eq!(
        audit_rows().await,
        before,
        "a refused request wrote something"
    );
}

/// The table as TOML: the file's leading comment, then one block per route.
fn render(old: &str, rows: &[(Entry, BTreeMap<String, String>)]) -> String {
    let head: String = old
        .lines()
        .take_while(|l| !l.starts_with("[[route]]"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut out = head;
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    for (e, got) in rows {
        out.push_str("[[route]]\n");
        out.push_str(&format!("route = {}\n", q(&e.route)));
        if let Some(v) = &e.query {
            out.push_str(&format!("query = {}\n", q(v)));
        }
        if let Some(v) = &e.body {
            out.push_str(&format!("body = {}\n", q(v)));
        }
        if let Some(v) = &e.content_type {
            out.push_str(&format!("content_type = {}\n", q(v)));
        }
        for r in ROLES {
            out.push_str(&format!(
                "{r:<9} = {}\n",
                q(got.get(r).map(String::as_str).unwrap_or(""))
            ));
        }
        out.push('\n');
    }
    out
}
