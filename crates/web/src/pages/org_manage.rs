//! Organization management page (DOMAIN.md §2): one screen per organization
//! with forms to set up a child organization, rename, move under another
//! parent, record a committee election (换届) with the seats of the committee
//! elected (DOMAIN.md §2) and dissolve, plus the
//! organization's history. Only users who may manage the organization see
//! it; each form posts back here and shows what was wrong, field by field.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use dangjian_app::AppError;
use dangjian_app::clock::to_local;
use dangjian_app::orgs::{NewOrgInput, OrgView};
use dangjian_app::votes::SeatInput;
use dangjian_domain::orgs::{OrgKind, OrgSetting, allowed_child, effective_term_years, term_years};
use dangjian_domain::votes::CommitteeRole;
use serde::Deserialize;

use super::{error_page, form_errors, render};
use crate::AppState;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{code}/manage", get(manage_page))
        .route("/orgs/{code}/children", post(create_child))
        .route("/orgs/{code}/rename", post(rename))
        .route("/orgs/{code}/move", post(move_org))
        .route("/orgs/{code}/committee", post(committee))
        .route("/orgs/{code}/dissolve", post(dissolve))
}

/// What the user typed into the child-organization form, shown again on error.
#[derive(Debug, Default, Deserialize)]
struct ChildForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    setting: String,
    #[serde(default)]
    committee_elected_on: String,
}

#[derive(Template)]
#[template(path = "org_manage.html")]
struct ManagePage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    kind_label: &'static str,
    dissolved: bool,
    committee_elected_on: String,
    /// Term of the current committee in years (chosen or the longest allowed).
    committee_term_years: u32,
    /// Terms an election may choose (DOMAIN.md §2), when there is a choice.
    term_choices: Vec<u32>,
    /// The committee in office: (name, role, since).
    seats: Vec<(String, &'static str, String)>,
    /// Kinds this organization may contain: (code, label).
    child_kinds: Vec<(&'static str, &'static str)>,
    settings: Vec<(&'static str, &'static str)>,
    child: ChildForm,
    /// Which form the errors belong to, and the errors.
    failed_form: &'static str,
    errors: Vec<String>,
    /// (when, what, detail) newest first.
    history: Vec<(String, String, String)>,
}

async fn manage_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
) -> Response {
    show(&st, lang, &p, &code, ChildForm::default(), "", Vec::new()).await
}

/// Renders the page; `failed_form` and `errors` describe a refused post.
async fn show(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    child: ChildForm,
    failed_form: &'static str,
    errors: Vec<String>,
) -> Response {
    let a = &p.actor;
    let d = match st.app.org_detail(a, code).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, p, e),
    };
    if !a.can_manage_orgs(&d.org.path) {
        return error_page(lang, p, AppError::Forbidden);
    }
    let history = match st.app.org_history(a, code).await {
        Ok(h) => h,
        Err(e) => return error_page(lang, p, e),
    };
    let seats = st
        .app
        .committee(a, code)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.name, s.role.label(lang.code()), s.from_on.to_string()))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        ManagePage {
            seats,
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/manage"),
            code: d.org.code.clone(),
            name: d.org.name.clone(),
            kind_label: d.org.kind.label(lang.code()),
            dissolved: d.org.status.as_str() == "dissolved",
            committee_elected_on: d
                .org
                .committee_elected_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            committee_term_years: effective_term_years(
                d.org.kind,
                d.org.setting,
                d.org
                    .committee_term_years
                    .and_then(|y| u32::try_from(y).ok()),
            ),
            term_choices: {
                let (min, max) = term_years(d.org.kind, d.org.setting);
                if min < max {
                    (min..=max).collect()
                } else {
                    Vec::new()
                }
            },
            child_kinds: OrgKind::ALL
                .iter()
                .filter(|k| allowed_child(d.org.kind, **k))
                .map(|k| (k.as_str(), k.label(lang.code())))
                .collect(),
            settings: OrgSetting::ALL
                .iter()
                .map(|s| (s.as_str(), s.label(lang.code())))
                .collect(),
            child,
            failed_form,
            errors,
            history: history
                .iter()
                .rev()
                .map(|h| {
                    (
                        to_local(h.at).format("%Y-%m-%d %H:%M").to_string(),
                        history_label(&h.action, lang).to_string(),
                        h.detail.to_string(),
                    )
                })
                .collect(),
        },
    )
}

fn history_label(action: &str, lang: Lang) -> &'static str {
    match action {
        "created" => lang.t("设立", "Set up"),
        "renamed" => lang.t("更名", "Renamed"),
        "moved" => lang.t("调整隶属关系", "Moved"),
        "dissolved" => lang.t("撤销", "Dissolved"),
        "committee" => lang.t("换届选举", "Committee election"),
        _ => lang.t("其他", "Other"),
    }
}

/// The outcome of a form post: back to the organization page on success,
/// the management page with the reasons on a refusal the user can fix.
async fn respond(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    form: &'static str,
    child: ChildForm,
    r: Result<OrgView, AppError>,
) -> Response {
    match r {
        Ok(o) => Redirect::to(&format!("/orgs/{}", o.code)).into_response(),
        Err(e) => match form_errors(&e, lang) {
            Some(errors) => show(st, lang, p, code, child, form, errors).await,
            None => error_page(lang, p, e),
        },
    }
}

fn parse_date(s: &str, field: &str) -> Result<Option<NaiveDate>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            AppError::field(
                field,
                "bad_date",
                "日期格式应为 年-月-日，如 2026-07-01",
                "dates are written YYYY-MM-DD, e.g. 2026-07-01",
            )
        })
}

async fn create_child(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<ChildForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let r = async {
        let kind = OrgKind::parse(&f.kind).ok_or_else(|| {
            AppError::field("kind", "unknown_kind", "请选择组织类别", "choose a kind")
        })?;
        let setting = OrgSetting::parse(&f.setting).unwrap_or(OrgSetting::Other);
        let elected = parse_date(&f.committee_elected_on, "committee_elected_on")?;
        st.app
            .create_org(
                &p.actor,
                NewOrgInput {
                    code: f.code.trim().to_string(),
                    name: f.name.clone(),
                    kind,
                    setting,
                    parent_code: Some(code.clone()),
                    has_committee: elected.is_some(),
                    committee_elected_on: elected,
                },
            )
            .await
    }
    .await;
    respond(&st, lang, &p, &code, "child", f, r).await
}

#[derive(Deserialize)]
struct RenameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn rename(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<RenameForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let r = st.app.rename_org(&p.actor, &code, &f.name).await;
    respond(&st, lang, &p, &code, "rename", ChildForm::default(), r).await
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    parent_code: String,
}

async fn move_org(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let r = st.app.move_org(&p.actor, &code, f.parent_code.trim()).await;
    respond(&st, lang, &p, &code, "move", ChildForm::default(), r).await
}

#[derive(Deserialize)]
struct CommitteeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    elected_on: String,
    /// Term chosen at the election, in years (empty: the longest allowed).
    #[serde(default)]
    term_years: String,
    /// The committee elected, one seat per line: member id and role
    /// (书记/副书记/委员 or secretary/deputy/member); empty: the date only.
    #[serde(default)]
    seats: String,
}

/// Parses the seat lines of the committee form.
fn parse_seats(text: &str) -> Result<Vec<SeatInput>, AppError> {
    let bad = |line: &str| {
        AppError::field(
            "seats",
            "invalid_value",
            format!("无法识别：{line}（每行：党员编号 书记/副书记/委员）"),
            format!("cannot read: {line} (one per line: member id, secretary/deputy/member)"),
        )
    };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split(|c: char| c.is_whitespace() || c == ',' || c == '，');
        let id = parts.next().and_then(|x| x.parse::<i64>().ok());
        let role = parts.find(|x| !x.is_empty()).unwrap_or("委员");
        let role = match role {
            "书记" => Some(CommitteeRole::Secretary),
            "副书记" => Some(CommitteeRole::Deputy),
            "委员" => Some(CommitteeRole::Member),
            other => CommitteeRole::parse(other),
        };
        match (id, role) {
            (Some(member_id), Some(role)) => out.push(SeatInput { member_id, role }),
            _ => return Err(bad(line)),
        }
    }
    Ok(out)
}

async fn committee(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<CommitteeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let years = match f.term_years.trim() {
        "" => Ok(None),
        t => t.parse::<u32>().map(Some).map_err(|_| {
            AppError::field(
                "committee_term_years",
                "not_integer",
                "任期年限应为整数",
                "the term must be a whole number of years",
            )
        }),
    };
    if !f.seats.trim().is_empty() {
        // The seats of the committee elected (DOMAIN.md §2): they start its term.
        let r = async {
            let on = parse_date(&f.elected_on, "elected_on")?.ok_or_else(|| {
                AppError::field(
                    "elected_on",
                    "required",
                    "登记支委名单须填写选举日期",
                    "the committee's seats need the election date",
                )
            })?;
            let years = years?;
            let seats = parse_seats(&f.seats)?;
            st.app
                .record_committee(&p.actor, &code, on, years, seats)
                .await
        }
        .await;
        return match r {
            Ok(_) => Redirect::to(&format!("/orgs/{code}")).into_response(),
            Err(e) => {
                respond(
                    &st,
                    lang,
                    &p,
                    &code,
                    "committee",
                    ChildForm::default(),
                    Err(e),
                )
                .await
            }
        };
    }
    let r = match (parse_date(&f.elected_on, "elected_on"), years) {
        (Ok(d), Ok(y)) => st.app.set_committee(&p.actor, &code, d, y).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    respond(&st, lang, &p, &code, "committee", ChildForm::default(), r).await
}

#[derive(Deserialize)]
struct DissolveForm {
    #[serde(default)]
    csrf: String,
    /// The user types the organization's code to confirm.
    #[serde(default)]
    confirm: String,
}

async fn dissolve(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<DissolveForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    // Refuse who may not manage the organization before judging the input.
    match st.app.visible_org(&p.actor, &code).await {
        Ok(o) if p.actor.can_manage_orgs(&o.path) => {}
        Ok(_) => return error_page(lang, &p, AppError::Forbidden),
        Err(e) => return error_page(lang, &p, e),
    }
    let r = if f.confirm.trim() == code {
        st.app.dissolve_org(&p.actor, &code).await
    } else {
        Err(AppError::field(
            "confirm",
            "not_confirmed",
            "请输入本组织代码以确认撤销",
            "type this organization's code to confirm",
        ))
    };
    respond(&st, lang, &p, &code, "dissolve", ChildForm::default(), r).await
}
