//! Vote and attachment pages (DOMAIN.md §2, §4, §5): the votes page of a
//! branch assembly — results of its admission and conversion votes and of
//! its committee election rounds, the committee in office, and for the
//! secretary the forms that record a vote voter by voter and count a secret
//! ballot from its papers — and the meeting attachments' upload (multipart,
//! size-limited) and download. All work without JavaScript.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use dangjian_app::AppError;
use dangjian_app::votes::{AssemblyVoteInput, ElectionInput, MeetingVotes};
use dangjian_domain::meetings::MeetingKind;
use dangjian_domain::votes::{Ballot, Choice, VoterChoice};
use serde::Deserialize;

use super::{error_messages, error_page, render};
use crate::AppState;
use crate::api::votes::{MULTIPART_SLACK, download_response, purpose_of, read_upload};
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/meetings/{id}/votes", get(votes_page))
        .route("/meetings/{id}/votes/assembly", post(assembly_submit))
        .route("/meetings/{id}/votes/election", post(election_submit))
        .route("/meetings/{id}/attachments/{attachment_id}", get(download))
}

/// The upload route, with the body limit of the configured largest attachment.
pub fn upload_routes(max_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/meetings/{id}/attachments", post(upload_submit))
        .layer(DefaultBodyLimit::max(
            max_bytes.saturating_add(MULTIPART_SLACK),
        ))
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::NotFound("meeting"))
}

struct VoterRow {
    member_id: i64,
    name: String,
    state: &'static str,
}

struct VoteRow {
    admission_id: i64,
    step: &'static str,
    counts: String,
    outcome: String,
    passed: bool,
    ballots: String,
}

struct CandRow {
    name: String,
    votes: u32,
    mark: &'static str,
}

struct ElectionRow {
    id: i64,
    outcome: &'static str,
    counts: String,
    candidates: Vec<CandRow>,
}

struct SeatRow {
    name: String,
    role: &'static str,
    from_on: String,
}

#[derive(Template)]
#[template(path = "meeting_votes.html")]
struct VotesPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    title: String,
    when: String,
    can_record: bool,
    voters: Vec<VoterRow>,
    votes: Vec<VoteRow>,
    elections: Vec<ElectionRow>,
    committee: Vec<SeatRow>,
    errors: Vec<String>,
    notice: String,
}

async fn show(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    id: i64,
    errors: Vec<String>,
    notice: &str,
) -> Response {
    let d = match st.app.meeting_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, p, e),
    };
    if d.meeting.kind != MeetingKind::BranchAssembly {
        return error_page(lang, p, AppError::NotFound("meeting"));
    }
    let v: MeetingVotes = match st.app.meeting_votes(&p.actor, id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, p, e),
    };
    let l = lang.code();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        VotesPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/meetings/{id}/votes"),
            id,
            title: d.meeting.title.clone(),
            when: dangjian_app::clock::to_local(d.meeting.starts_at)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            can_record: v.can_record,
            voters: d
                .attendance
                .iter()
                .map(|r| VoterRow {
                    member_id: r.member_id,
                    name: r.name.clone(),
                    state: r.state.label(l),
                })
                .collect(),
            votes: v
                .assembly_votes
                .iter()
                .map(|a| {
                    let c = &a.counts;
                    VoteRow {
                        admission_id: a.admission_id,
                        step: if a.step == "assembly" {
                            lang.t("接收预备党员", "Admission")
                        } else {
                            lang.t("预备党员转正", "Conversion")
                        },
                        counts: lang
                            .t(
                                "应到{e} 实到{p} · 赞成{y} 反对{n} 弃权{a} · 书面赞成{wy} 反对{wn} 弃权{wa}",
                                "{e} entitled, {p} present · yes {y} no {n} abstain {a} · written yes {wy} no {wn} abstain {wa}",
                            )
                            .replace("{e}", &c.eligible.to_string())
                            .replace("{p}", &c.present.to_string())
                            .replace("{y}", &c.yes.to_string())
                            .replace("{n}", &c.no.to_string())
                            .replace("{a}", &c.abstain.to_string())
                            .replace("{wy}", &c.written_yes.to_string())
                            .replace("{wn}", &c.written_no.to_string())
                            .replace("{wa}", &c.written_abstain.to_string()),
                        outcome: match a.outcome.as_str() {
                            "passed" => lang.t("通过", "Passed"),
                            "quorum_not_met" => lang.t("到会人数不足，未能表决", "No quorum"),
                            "majority_not_reached" => lang.t("赞成票未过半数，未通过", "Not passed: no majority"),
                            _ => lang.t("未通过", "Not passed"),
                        }
                        .to_string(),
                        passed: a.outcome == "passed",
                        ballots: a
                            .ballots
                            .iter()
                            .map(|b| {
                                format!(
                                    "{}{}：{}",
                                    b.name,
                                    if b.written { lang.t("（书面）", " (written)") } else { "" },
                                    b.choice.label(l)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("；"),
                    }
                })
                .collect(),
            elections: v
                .elections
                .iter()
                .map(|e| ElectionRow {
                    id: e.id,
                    outcome: e.outcome.label(l),
                    counts: lang
                        .t(
                            "应选{s}名 · 应到{e} 实到{p} · 发出{i}张 收回{r}张 无效{x}张 · 空缺{u}名",
                            "{s} seats · {e} entitled, {p} present · {i} issued, {r} returned, {x} invalid · {u} unfilled",
                        )
                        .replace("{s}", &e.seats.to_string())
                        .replace("{e}", &e.entitled.to_string())
                        .replace("{p}", &e.present.to_string())
                        .replace("{i}", &e.issued.to_string())
                        .replace("{r}", &e.returned.to_string())
                        .replace("{x}", &e.invalid.to_string())
                        .replace("{u}", &e.unfilled.to_string()),
                    candidates: e
                        .candidates
                        .iter()
                        .map(|c| CandRow {
                            name: c.name.clone(),
                            votes: c.votes,
                            mark: if c.elected {
                                lang.t("当选", "Elected")
                            } else if c.tied {
                                lang.t("票数相同，另行选举", "Tied: another round")
                            } else {
                                ""
                            },
                        })
                        .collect(),
                })
                .collect(),
            committee: v
                .committee
                .iter()
                .map(|s| SeatRow {
                    name: s.name.clone(),
                    role: s.role.label(l),
                    from_on: s.from_on.to_string(),
                })
                .collect(),
            errors,
            notice: notice.to_string(),
        },
    )
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

async fn votes_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let n = match q.done.as_deref() {
        Some("vote") => lang.t("表决结果已记录。", "Vote recorded."),
        Some("election") => lang.t("选举结果已记录。", "Election counted."),
        _ => "",
    };
    show(&st, lang, &p, id, Vec::new(), n).await
}

async fn after<T>(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    id: i64,
    r: Result<T, AppError>,
    done: &str,
) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/meetings/{id}/votes?done={done}")).into_response(),
        Err(e) => match error_messages(&e, lang) {
            Some(m) => show(st, lang, p, id, m, "").await,
            None => error_page(lang, p, e),
        },
    }
}

fn field_error(field: &str, zh: &str, en: &str) -> AppError {
    AppError::field(field, "invalid_value", zh, en)
}

/// `admission_id`, and `v_<member id>` = yes | no | abstain (at the
/// meeting) or w_yes | w_no | w_abstain (written opinion of an absent voter).
async fn assembly_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let fields: HashMap<String, String> = f.into_iter().collect();
    if fields.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let r = async {
        let admission_id: i64 = fields
            .get("admission_id")
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                field_error(
                    "admission_id",
                    "请填写发展党员流程编号",
                    "enter the admission number",
                )
            })?;
        let mut input = AssemblyVoteInput {
            admission_id,
            ..AssemblyVoteInput::default()
        };
        let mut keys: Vec<(&String, &String)> = fields.iter().collect();
        keys.sort();
        for (k, v) in keys {
            let Some(member_id) = k.strip_prefix("v_").and_then(|m| m.parse::<i64>().ok()) else {
                continue;
            };
            let (written, code) = match v.strip_prefix("w_") {
                Some(c) => (true, c),
                None => (false, v.as_str()),
            };
            if code.is_empty() {
                continue;
            }
            let choice = Choice::parse(code)
                .ok_or_else(|| field_error("ballots", "未知的表决意见", "unknown choice"))?;
            let c = VoterChoice { member_id, choice };
            if written {
                input.written.push(c);
            } else {
                input.ballots.push(c);
            }
        }
        st.app.record_assembly_vote(&p.actor, id, input).await
    }
    .await;
    after(&st, lang, &p, id, r, "vote").await
}

/// `seats`, `issued`, `candidate` (repeated member ids), `ballots`: one
/// paper per line, the member ids marked YES separated by spaces or
/// commas; a line "作废" or "x" is a spoiled paper; an empty line a blank one.
async fn election_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = f.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.clone());
    if csrf.as_deref() != Some(p.csrf.as_str()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let get = |k: &str| {
        f.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let r = async {
        let num = |k: &str, zh: &str, en: &str| -> Result<u32, AppError> {
            get(k)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| field_error(k, zh, en))
        };
        let seats = num("seats", "请填写应选名额", "enter the seats")?;
        let issued = num("issued", "请填写发出的选票数", "enter the ballots issued")?;
        let candidates: Vec<i64> = f
            .iter()
            .filter(|(k, _)| k == "candidate")
            .filter_map(|(_, v)| v.parse().ok())
            .collect();
        let mut ballots = Vec::new();
        for line in get("ballots").unwrap_or_default().lines() {
            let line = line.trim();
            if line == "作废" || line.eq_ignore_ascii_case("x") {
                ballots.push(Ballot {
                    yes: vec![],
                    spoiled: true,
                });
                continue;
            }
            let yes = line
                .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    field_error(
                        "ballots",
                        "每行填写一张选票上划赞成的候选人编号",
                        "one paper per line: the ids marked YES",
                    )
                })?;
            ballots.push(Ballot {
                yes,
                spoiled: false,
            });
        }
        st.app
            .record_election(
                &p.actor,
                id,
                ElectionInput {
                    seats,
                    issued,
                    candidates,
                    ballots,
                },
            )
            .await
    }
    .await;
    after(&st, lang, &p, id, r, "election").await
}

async fn upload_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    mut mp: Multipart,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let (purpose, csrf, file) = match read_upload(&mut mp).await {
        Ok(x) => x,
        Err(e) => return upload_refused(lang, &p, e),
    };
    if csrf.as_deref() != Some(p.csrf.as_str()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let r = async {
        let purpose = purpose_of(purpose.as_deref())?;
        let (name, bytes) =
            file.ok_or_else(|| AppError::field("file", "required", "请选择文件", "choose a file"))?;
        st.app
            .upload_attachment(&p.actor, id, purpose, &name, bytes)
            .await
    }
    .await;
    match r {
        Ok(_) => {
            Redirect::to(&format!("/meetings/{id}?done=attachment#attachments")).into_response()
        }
        Err(e) => upload_refused(lang, &p, e),
    }
}

/// A refused upload: the message page with 413 or 422.
fn upload_refused(lang: Lang, p: &PageActor, e: AppError) -> Response {
    let status = crate::error::ApiError(e).status();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::BAD_REQUEST => (
            status,
            lang.t(
                "文件未上传：只接受不超过大小限制的JPEG、PNG或PDF文件。",
                "Not uploaded: only JPEG, PNG or PDF files within the size limit are accepted.",
            ),
        )
            .into_response(),
        _ => error_page(lang, p, AppError::NotFound("meeting")),
    }
}

async fn download(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Response {
    let (Ok(id), Ok(aid)) = (id.parse::<i64>(), attachment_id.parse::<i64>()) else {
        return error_page(lang, &p, AppError::NotFound("attachment"));
    };
    match st.app.download_attachment(&p.actor, id, aid).await {
        Ok((v, bytes)) => download_response(&v, bytes),
        Err(e) => error_page(lang, &p, e),
    }
}
