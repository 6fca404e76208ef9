//! Server-rendered, phone-first pages: sign-in, organization tree,
//! organization page with its roster, member page, roster import with its
//! error report, ID search. They work without JavaScript; every form carries
//! the session's CSRF token.

pub mod admission_materials;
mod admissions;
mod certificates;
mod chart;
mod dues;
pub(crate) mod meetings;
mod org_manage;
mod participation;
mod supervision;
mod transfers;
pub mod votes;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use dangjian_app::roster::{ImportReport, RosterFormat};
use dangjian_app::{Actor, AppError};
use dangjian_domain::members::Stage;
use dangjian_domain::orgs::OrgKind;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{
    LANG_COOKIE, PageActor, RemoteAddr, SESSION_COOKIE, clear_session_cookie, cookie, safe_next,
    session_cookie,
};
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/me", get(me))
        .route("/orgs/{code}", get(org_page))
        .route("/orgs/{code}/import", get(import_page).post(import_submit))
        .route("/members/{id}", get(member_page))
        .route("/search", post(search))
        .merge(org_manage::routes())
        .route("/orgs/{code}/audit", get(audit_page))
        .merge(supervision::routes())
        .merge(admissions::routes())
        .merge(meetings::routes())
        .merge(participation::routes())
        .merge(certificates::routes())
        .merge(votes::routes())
        .merge(admission_materials::routes())
        .merge(dues::routes())
        .merge(transfers::routes())
}

fn render<T: Template>(status: StatusCode, t: T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    title: String,
    text: String,
}

/// An application error as a page (404 hides what the user may not see).
fn error_page(lang: Lang, p: &PageActor, e: AppError) -> Response {
    let (status, title, text) = match &e {
        AppError::NotFound(_) | AppError::Forbidden => (
            StatusCode::NOT_FOUND,
            lang.t("未找到", "Not found"),
            lang.t(
                "没有找到该页面，或您无权查看。",
                "This page does not exist or you may not see it.",
            )
            .to_string(),
        ),
        AppError::Validation(v) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("输入有误", "Invalid input"),
            v.0.iter()
                .map(|f| {
                    if lang.is_en() {
                        f.message_en.clone()
                    } else {
                        f.message_zh.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join("；"),
        ),
        AppError::Conflict(f) => (
            StatusCode::CONFLICT,
            lang.t("冲突", "Conflict"),
            if lang.is_en() {
                f.message_en.clone()
            } else {
                f.message_zh.clone()
            },
        ),
        AppError::Unauthorized => return Redirect::to("/login").into_response(),
        AppError::Throttled(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            lang.t("尝试次数过多", "Too many attempts"),
            if lang.is_en() {
                format!("Please try again in {secs} seconds.")
            } else {
                format!("请 {secs} 秒后再试。")
            },
        ),
        AppError::Internal(m) => {
            tracing::error!(error = %m, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.t("服务器错误", "Server error"),
                lang.t("请稍后再试。", "Please try again later.")
                    .to_string(),
            )
        }
    };
    render(
        status,
        MessagePage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: "/".into(),
            title: title.into(),
            text,
        },
    )
}

/// The reasons a form was refused that the user can fix, one line per field
/// ("field：reason"); `None` for errors that are not about the input.
fn form_errors(e: &AppError, lang: Lang) -> Option<Vec<String>> {
    refusal_lines(e, lang, true)
}

/// [`form_errors`] without the field names, for forms whose messages name
/// the field themselves.
fn error_messages(e: &AppError, lang: Lang) -> Option<Vec<String>> {
    refusal_lines(e, lang, false)
}

fn refusal_lines(e: &AppError, lang: Lang, with_field: bool) -> Option<Vec<String>> {
    let line = |f: &dangjian_domain::FieldError| {
        let m = if lang.is_en() {
            &f.message_en
        } else {
            &f.message_zh
        };
        if with_field {
            format!("{}：{m}", f.field)
        } else {
            m.clone()
        }
    };
    match e {
        AppError::Validation(v) => Some(v.0.iter().map(line).collect()),
        AppError::Conflict(f) => Some(vec![line(f)]),
        _ => None,
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    next: String,
    login: String,
    error: Option<String>,
}

async fn login_page(
    lang: Lang,
    q: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(q.as_ref().ok().and_then(|q| q.next.as_deref()));
    render(
        StatusCode::OK,
        LoginPage {
            lang,
            user: None,
            csrf: String::new(),
            here: format!("/login?next={next}"),
            next,
            login: String::new(),
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
    next: Option<String>,
}

async fn login_submit(
    State(st): State<AppState>,
    lang: Lang,
    RemoteAddr(addr): RemoteAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    match st
        .app
        .authenticate_with_code(f.login.trim(), &f.password, f.totp.as_deref(), addr)
        .await
    {
        Ok(actor) => match st.app.open_session(&actor).await {
            Ok((secret, _)) => {
                let c = session_cookie(
                    &secret,
                    st.secure_cookies,
                    st.app.config.session_hours * 3600,
                );
                (
                    AppendHeaders([(header::SET_COOKIE, c)]),
                    Redirect::to(&next),
                )
                    .into_response()
            }
            Err(e) => {
                tracing::error!(error = %e, "session");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        Err(e) => {
            let (status, error, retry) = match e {
                AppError::Throttled(secs) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    if lang.is_en() {
                        format!("Too many failed sign-ins. Try again in {secs} seconds.")
                    } else {
                        format!("登录失败次数过多，请 {secs} 秒后再试。")
                    },
                    Some(secs),
                ),
                AppError::Validation(v) => (
                    StatusCode::UNAUTHORIZED,
                    v.0.iter()
                        .map(|e| {
                            if lang.is_en() {
                                e.message_en.clone()
                            } else {
                                e.message_zh.clone()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("；"),
                    None,
                ),
                _ => (
                    StatusCode::UNAUTHORIZED,
                    lang.t("登录名或密码错误。", "Wrong login or password.")
                        .into(),
                    None,
                ),
            };
            let mut res = render(
                status,
                LoginPage {
                    lang,
                    user: None,
                    csrf: String::new(),
                    here: "/login".into(),
                    next,
                    login: f.login,
                    error: Some(error),
                },
            );
            if let Some(secs) = retry {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, secs.max(1).into());
            }
            res
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    p: PageActor,
    Form(f): Form<CsrfForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    if let Some(s) = cookie(&headers, SESSION_COOKIE) {
        let _ = st.app.close_session(s).await;
    }
    (
        AppendHeaders([(header::SET_COOKIE, clear_session_cookie())]),
        Redirect::to("/login"),
    )
        .into_response()
}

async fn set_lang(
    Path(code): Path<String>,
    q: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let v = if code == "en" { "en" } else { "zh-CN" };
    let next = safe_next(q.as_ref().ok().and_then(|q| q.next.as_deref()));
    (
        AppendHeaders([(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={v}; Path=/; SameSite=Lax; Max-Age=31536000"),
        )]),
        Redirect::to(&next),
    )
        .into_response()
}

struct TreeRow {
    code: String,
    name: String,
    kind: &'static str,
    kind_label: &'static str,
    rel_depth: i32,
    dissolved: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    orgs: Vec<TreeRow>,
    truncated: bool,
    can_search: bool,
}

fn can_search(a: &Actor) -> bool {
    a.grants.iter().any(|g| a.can_list_members(&g.org_path))
}

async fn home(State(st): State<AppState>, lang: Lang, p: PageActor) -> Response {
    let a = &p.actor;
    if let (false, Some(mid)) = (can_search(a), a.member_id) {
        return Redirect::to(&format!("/members/{mid}")).into_response();
    }
    let mut orgs = Vec::new();
    let mut truncated = false;
    let roots = match st.app.org_roots(a).await {
        Ok(r) => r,
        Err(e) => return error_page(lang, &p, e),
    };
    for r in roots {
        let levels = 4;
        match st.app.org_subtree(a, &r.code, levels).await {
            Ok(list) => {
                truncated |= list.iter().any(|o| o.depth == r.depth + levels);
                orgs.extend(list.iter().map(|o| TreeRow {
                    code: o.code.clone(),
                    name: o.name.clone(),
                    kind: o.kind.as_str(),
                    kind_label: o.kind.label(lang.code()),
                    rel_depth: o.depth - r.depth,
                    dissolved: o.status.as_str() == "dissolved",
                }))
            }
            Err(e) => return error_page(lang, &p, e),
        }
    }
    render(
        StatusCode::OK,
        HomePage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: "/".into(),
            orgs,
            truncated,
            can_search: can_search(a),
        },
    )
}

async fn me(p: PageActor) -> Response {
    match p.actor.member_id {
        Some(id) => Redirect::to(&format!("/members/{id}")).into_response(),
        None => Redirect::to("/").into_response(),
    }
}

struct MemberRow {
    id: i64,
    name: String,
    stage: &'static str,
    id_masked: String,
    phone_masked: String,
    mobile: bool,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    org: dangjian_app::orgs::OrgView,
    kind_label: &'static str,
    dissolved: bool,
    parent: Option<(String, String)>,
    children: Vec<(String, String, &'static str)>,
    members_in_subtree: u64,
    stage_chart: String,
    is_branch: bool,
    can_manage: bool,
    can_manage_orgs: bool,
    can_audit: bool,
    members: Vec<MemberRow>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn org_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    q: Result<Query<CursorQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let a = &p.actor;
    let d = match st.app.org_detail(a, &code).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, &p, e),
    };
    let is_branch = d.org.kind == OrgKind::Branch && a.can_list_members(&d.org.path);
    let (members, next_cursor) = if is_branch {
        match st
            .app
            .list_members(
                a,
                &code,
                q.as_ref().ok().and_then(|q| q.cursor.as_deref()),
                50,
            )
            .await
        {
            Ok(pg) => (
                pg.items
                    .iter()
                    .map(|m| MemberRow {
                        id: m.id,
                        name: m.name.clone(),
                        stage: m.stage.label(lang.code()),
                        id_masked: m.id_number_masked.clone(),
                        phone_masked: m.phone_masked.clone().unwrap_or_default(),
                        mobile: m.is_mobile,
                    })
                    .collect(),
                pg.next_cursor,
            ),
            Err(e) => return error_page(lang, &p, e),
        }
    } else {
        (Vec::new(), None)
    };
    let bars: Vec<(String, i64)> = Stage::ALL
        .iter()
        .map(|s| {
            (
                s.label(lang.code()).to_string(),
                d.stage_counts
                    .iter()
                    .find(|(k, _)| k == s.as_str())
                    .map(|(_, n)| *n)
                    .unwrap_or(0),
            )
        })
        .collect();
    let stage_chart = if bars.iter().any(|(_, n)| *n > 0) {
        chart::bars(&bars, lang.t("人员构成", "Members by stage"))
    } else {
        String::new()
    };
    render(
        StatusCode::OK,
        OrgPage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}"),
            kind_label: d.org.kind.label(lang.code()),
            dissolved: d.org.status.as_str() == "dissolved",
            parent: d.parent.as_ref().map(|o| (o.code.clone(), o.name.clone())),
            children: d
                .children
                .iter()
                .map(|c| (c.code.clone(), c.name.clone(), c.kind.label(lang.code())))
                .collect(),
            members_in_subtree: d.members_in_subtree,
            stage_chart,
            is_branch,
            can_manage: a.can_manage_members(&d.org.path),
            can_manage_orgs: a.can_manage_orgs(&d.org.path),
            can_audit: a.can_read_audit(&d.org.path),
            org: d.org,
            members,
            next_cursor,
        },
    )
}

struct MemberView {
    name: String,
    stage: &'static str,
    sex: &'static str,
    birth_date: String,
    ethnicity: String,
    id_number: String,
    phone: String,
    education: &'static str,
    category: &'static str,
    mobile: bool,
    sensitive_visible: bool,
    stages: Vec<(&'static str, String)>,
    events: Vec<(String, String)>,
    /// Whether the archive history verifies against the latest ledger
    /// checkpoint, as a sentence; empty when it could not be checked.
    archive_check: String,
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    org_code: String,
    org_name: String,
    m: MemberView,
    letters: Vec<LetterRow>,
}

/// An introduction letter of the member (DOMAIN.md §12) on their page.
struct LetterRow {
    id: i64,
    number: String,
    from: String,
    /// The sending branch's transfers page, when on this server ("" else).
    from_link: String,
    to: String,
    /// The receiving branch's transfers page, when on this server ("" else).
    to_link: String,
    issued_on: String,
    valid_until: String,
    status: String,
    arrived_on: String,
    expired: bool,
    has_document: bool,
}

fn letter_row(l: &dangjian_app::transfers::LetterView, lang: Lang) -> LetterRow {
    use dangjian_domain::transfers::LetterKind;
    let from_here = l.kind != LetterKind::Incoming;
    let to_here = l.kind != LetterKind::Outgoing;
    LetterRow {
        id: l.id,
        number: l.number.clone(),
        from: if from_here {
            format!("{}（{}）", l.from_org_name, l.from_org_code)
        } else {
            format!("{}（{}，{}）", l.from_org_name, l.from_org_code, l.origin)
        },
        from_link: if from_here {
            format!("/orgs/{}/transfers#letter-{}", l.from_org_code, l.id)
        } else {
            String::new()
        },
        to: match &l.to_origin {
            Some(o) => format!("{}（{}，{o}）", l.to_org_name, l.to_org_code),
            None => format!("{}（{}）", l.to_org_name, l.to_org_code),
        },
        to_link: if to_here {
            format!("/orgs/{}/transfers#letter-{}", l.to_org_code, l.id)
        } else {
            String::new()
        },
        issued_on: l.issued_on.to_string(),
        valid_until: l.valid_until.to_string(),
        status: l.status.label(lang.code()).into(),
        arrived_on: l.arrived_on.map(|d| d.to_string()).unwrap_or_default(),
        expired: l.expired,
        has_document: l.has_document,
    }
}

async fn member_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("member"));
    };
    let d = match st.app.member_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, &p, e),
    };
    let l = lang.code();
    let stages = Stage::ALL
        .iter()
        .filter_map(|s| d.stage_dates.get(*s).map(|dt| (s.label(l), dt.to_string())))
        .collect();
    let events = d
        .events
        .iter()
        .map(|e| {
            (
                dangjian_app::clock::to_local(e.at)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                match e.kind.as_str() {
                    "registered" => lang.t("登记入册", "Registered").to_string(),
                    dangjian_app::keys::EVENT_REENCRYPTED => lang
                        .t(
                            "敏感字段已用新密钥重新加密",
                            "Sensitive fields re-encrypted under a new key",
                        )
                        .to_string(),
                    k => k.to_string(),
                },
            )
        })
        .collect();
    let archive_check = match st.app.ledger_member_status(&p.actor, id).await {
        Ok(s) if s.verified => lang
            .t(
                &format!("✓ 档案记录与第 {} 号检查点核验一致", s.checkpoint_size),
                &format!(
                    "✓ Archive verifies against checkpoint {}",
                    s.checkpoint_size
                ),
            )
            .to_string(),
        Ok(s) if s.row_matches && s.events.iter().all(|e| e.status != "mismatch") => lang
            .t(
                "档案记录待纳入下一检查点",
                "Archive awaits the next checkpoint",
            )
            .to_string(),
        Ok(_) => lang
            .t(
                "✗ 档案记录与账本不符，请联系审计员",
                "✗ Archive does not match the ledger; contact an auditor",
            )
            .to_string(),
        Err(_) => String::new(),
    };
    // The member's introduction letters, scoped like the member.
    let letters = match st.app.member_letters(&p.actor, id).await {
        Ok(v) => v.iter().map(|l| letter_row(l, lang)).collect(),
        Err(e) => return error_page(lang, &p, e),
    };
    let m = MemberView {
        archive_check,
        name: d.summary.name.clone(),
        stage: d.summary.stage.label(l),
        sex: d.summary.sex.label(l),
        birth_date: d.summary.birth_date.to_string(),
        ethnicity: d.ethnicity.clone(),
        id_number: d.id_number.clone(),
        phone: d.phone.clone().unwrap_or_default(),
        education: d.education.map(|e| e.label(l)).unwrap_or(""),
        category: d.dues_category.label(l),
        mobile: d.summary.is_mobile,
        sensitive_visible: d.sensitive_visible,
        stages,
        events,
    };
    render(
        StatusCode::OK,
        MemberPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/members/{id}"),
            org_code: d.org.code.clone(),
            org_name: d.org.name.clone(),
            m,
            letters,
        },
    )
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    org_code: String,
    org_name: String,
    report: Option<ImportReport>,
}

async fn import_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
) -> Response {
    match st.app.visible_org(&p.actor, &code).await {
        Ok(o) if p.actor.can_manage_members(&o.path) => render(
            StatusCode::OK,
            ImportPage {
                lang,
                user: Some(p.actor.display_name.clone()),
                csrf: p.csrf.clone(),
                here: format!("/orgs/{code}/import"),
                org_code: o.code,
                org_name: o.name,
                report: None,
            },
        ),
        Ok(_) => error_page(lang, &p, AppError::Forbidden),
        Err(e) => error_page(lang, &p, e),
    }
}

async fn import_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    mut mp: Multipart,
) -> Response {
    let mut csrf = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = mp.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(_) => {
                        return error_page(
                            lang,
                            &p,
                            AppError::field(
                                "file",
                                "upload_failed",
                                "文件上传失败",
                                "the upload failed",
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if csrf.as_deref() != Some(p.csrf.as_str()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some((name, bytes)) = file else {
        return error_page(
            lang,
            &p,
            AppError::field("file", "required", "请选择名册文件", "choose a roster file"),
        );
    };
    let Some(format) = RosterFormat::from_name(&name) else {
        return error_page(
            lang,
            &p,
            AppError::field(
                "file",
                "unsupported_format",
                "只支持 .csv 或 .xlsx 文件",
                "only .csv and .xlsx files are accepted",
            ),
        );
    };
    let o = match st.app.visible_org(&p.actor, &code).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &p, e),
    };
    match st
        .app
        .import_roster(&p.actor, &code, format, &bytes, &|_| {})
        .await
    {
        Ok(report) => {
            let status = if report.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render(
                status,
                ImportPage {
                    lang,
                    user: Some(p.actor.display_name.clone()),
                    csrf: p.csrf.clone(),
                    here: format!("/orgs/{code}/import"),
                    org_code: o.code,
                    org_name: o.name,
                    report: Some(report),
                },
            )
        }
        Err(e) => error_page(lang, &p, e),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    results: Vec<(i64, String, String)>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SearchForm {
    csrf: String,
    id_number: String,
}

async fn search(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Form(f): Form<SearchForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let (results, error) = match st.app.search_by_id_number(&p.actor, &f.id_number).await {
        Ok(r) => (
            r.iter()
                .map(|m| (m.id, m.name.clone(), m.id_number_masked.clone()))
                .collect(),
            None,
        ),
        Err(AppError::Validation(v)) => (
            Vec::new(),
            Some(
                v.0.iter()
                    .map(|e| {
                        if lang.is_en() {
                            e.message_en.clone()
                        } else {
                            e.message_zh.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("；"),
            ),
        ),
        Err(e) => return error_page(lang, &p, e),
    };
    render(
        StatusCode::OK,
        SearchPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: "/".into(),
            results,
            error,
        },
    )
}

struct AuditRow {
    at: String,
    login: String,
    action: String,
    target: String,
    addr: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPageT {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    rows: Vec<AuditRow>,
    next_before: Option<i64>,
}

#[derive(Deserialize)]
struct BeforeQuery {
    before: Option<i64>,
}

/// The audit log of a subtree, for its auditors and administrators.
async fn audit_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    q: Result<Query<BeforeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let before = q.ok().and_then(|q| q.before);
    let o = match st.app.visible_org(&p.actor, &code).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, &p, e),
    };
    let page = match st.app.audit_entries(&p.actor, &code, before, 100).await {
        Ok(pg) => pg,
        Err(e) => return error_page(lang, &p, e),
    };
    let rows = page
        .items
        .into_iter()
        .map(|v| AuditRow {
            at: dangjian_app::clock::to_local(v.at)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            login: v.login.unwrap_or_else(|| "-".into()),
            action: v.action,
            target: match v.target_id {
                Some(id) => format!("{} {id}", v.target_kind),
                None => v.target_kind,
            },
            addr: v.remote_addr.unwrap_or_default(),
            hash: v
                .hash
                .map(|h| h.chars().take(12).collect())
                .unwrap_or_default(),
        })
        .collect();
    render(
        StatusCode::OK,
        AuditPageT {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/audit"),
            code: o.code,
            name: o.name,
            rows,
            next_before: page.next_before,
        },
    )
}
