//! Admission endpoints (发展党员, DOMAIN.md §4): the process definition,
//! start an admission for a registered applicant or a new person, act on a
//! step or side action with its form (overriding a warning with a reason),
//! end one with a reason, a branch's pipeline, an admission's timeline, a member's admissions.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::admissions::{
    AdmissionDetail, AdmissionSummary, Applicant, EntryView, NewApplicant, PROCESS_KEY, StepInput,
    StepView, TimerView,
};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::Education;
use dangjian_workflow::{FieldKind, Override};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::body;
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// A person applying who is not registered yet.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PersonIn {
    pub name: String,
    /// 18-character resident ID number (birth date and sex derive from it).
    pub id_number: String,
    /// 民族, e.g. 汉族
    pub ethnicity: String,
    pub phone: Option<String>,
    /// primary … doctor (or the Chinese label)
    pub education: Option<String>,
    /// Dues category code (default employed).
    pub dues_category: Option<String>,
    /// Day the application was submitted (§4 step 1).
    pub applied_on: NaiveDate,
}

/// Whom to start an admission for: `member_id` of a registered applicant,
/// or `person` to register as applicant in the same transaction.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartIn {
    pub member_id: Option<i64>,
    pub person: Option<PersonIn>,
}

/// A warning overridden with a reason.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OverrideIo {
    /// Code of the warning (from the 422 answer's `errors[].code`).
    pub code: String,
    pub reason: String,
}

/// An action on a step or side action.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StepIn {
    /// The step's fields (see the definition): dates `YYYY-MM-DD`, counts,
    /// text, lists of member ids.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub form: serde_json::Map<String, serde_json::Value>,
    /// References of the attachments handed in (required kinds per step).
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub overrides: Vec<OverrideIo>,
}

/// A form field of a step.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOut {
    pub key: String,
    pub label: String,
    pub label_en: String,
    /// date, count, text or ids
    pub kind: String,
    pub required: bool,
}

/// A step or side action.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub key: String,
    /// Number of the step in DOMAIN.md §4 (0 for side actions).
    pub number: u32,
    pub label: String,
    pub label_en: String,
    /// Roles that may act on it.
    pub roles: Vec<String>,
    pub fields: Vec<FieldOut>,
    pub attachments: Vec<String>,
}

fn kind_str(k: FieldKind) -> &'static str {
    match k {
        FieldKind::Date => "date",
        FieldKind::Count => "count",
        FieldKind::Text => "text",
        FieldKind::Ids => "ids",
    }
}

impl From<&StepView> for StepOut {
    fn from(s: &StepView) -> Self {
        Self {
            key: s.key.clone(),
            number: s.number,
            label: s.label_zh.clone(),
            label_en: s.label_en.clone(),
            roles: s.roles.clone(),
            fields: s
                .fields
                .iter()
                .map(|f| FieldOut {
                    key: f.key.clone(),
                    label: f.label_zh.clone(),
                    label_en: f.label_en.clone(),
                    kind: kind_str(f.kind).into(),
                    required: f.required,
                })
                .collect(),
            attachments: s.attachments.clone(),
        }
    }
}

/// An open deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimerOut {
    pub key: String,
    pub label: String,
    pub label_en: String,
    pub due_on: NaiveDate,
    pub remind_on: NaiveDate,
    /// pending, due_soon or overdue
    pub state: String,
    pub rule: String,
}

impl From<&TimerView> for TimerOut {
    fn from(t: &TimerView) -> Self {
        Self {
            key: t.key.clone(),
            label: t.label_zh.clone(),
            label_en: t.label_en.clone(),
            due_on: t.due_on,
            remind_on: t.remind_on,
            state: t.state.as_str().into(),
            rule: t.rule.clone(),
        }
    }
}

/// An admission: who, where they stand, what is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionOut {
    pub id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub stage: String,
    pub stage_label: String,
    pub org_code: String,
    pub org_name: String,
    /// active, completed or cancelled
    pub status: String,
    pub steps_done: u32,
    pub steps_total: u32,
    pub next_step: Option<StepOut>,
    pub timers: Vec<TimerOut>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&AdmissionSummary> for AdmissionOut {
    fn from(s: &AdmissionSummary) -> Self {
        Self {
            id: s.id,
            member_id: s.member_id,
            member_name: s.member_name.clone(),
            stage: s.stage.as_str().into(),
            stage_label: s.stage.label_zh().into(),
            org_code: s.org.code.clone(),
            org_name: s.org.name.clone(),
            status: s.status.as_str().into(),
            steps_done: s.steps_done,
            steps_total: s.steps_total,
            next_step: s.next_step.as_ref().map(StepOut::from),
            timers: s.timers.iter().map(TimerOut::from).collect(),
            started_at: s.started_at,
            updated_at: s.updated_at,
        }
    }
}

/// A warning recorded with an entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingOut {
    pub code: String,
    pub field: String,
    pub rule: String,
    pub message: String,
    pub message_en: String,
}

/// One recorded action of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionEntryOut {
    pub seq: u32,
    /// step, side or cancel
    pub kind: String,
    pub key: String,
    pub number: u32,
    pub label: String,
    pub label_en: String,
    pub actor_user_id: Option<i64>,
    pub role: String,
    pub at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub form: serde_json::Value,
    pub attachments: Vec<String>,
    /// Warnings overridden on this action.
    pub warnings: Vec<FindingOut>,
    pub overrides: Vec<OverrideIo>,
}

impl From<&EntryView> for AdmissionEntryOut {
    fn from(e: &EntryView) -> Self {
        Self {
            seq: e.seq,
            kind: e.kind.as_str().into(),
            key: e.key.clone(),
            number: e.number,
            label: e.label_zh.clone(),
            label_en: e.label_en.clone(),
            actor_user_id: e.actor_user_id,
            role: e.role.clone(),
            at: e.at,
            form: serde_json::to_value(&e.form.0).unwrap_or(serde_json::Value::Null),
            attachments: e.attachments.clone(),
            warnings: e
                .warnings
                .iter()
                .map(|f| FindingOut {
                    code: f.code.clone(),
                    field: f.field.clone(),
                    rule: f.rule.clone(),
                    message: f.message_zh.clone(),
                    message_en: f.message_en.clone(),
                })
                .collect(),
            overrides: e
                .overrides
                .iter()
                .map(|o| OverrideIo {
                    code: o.code.clone(),
                    reason: o.reason.clone(),
                })
                .collect(),
        }
    }
}

/// An admission with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionDetailOut {
    pub admission: AdmissionOut,
    pub history: Vec<AdmissionEntryOut>,
    /// Side actions open now that the caller may take (half-yearly
    /// assessment, probation extension).
    pub side_actions: Vec<StepOut>,
    /// The caller may act on the next step.
    pub can_act: bool,
}

impl From<&AdmissionDetail> for AdmissionDetailOut {
    fn from(d: &AdmissionDetail) -> Self {
        Self {
            admission: AdmissionOut::from(&d.summary),
            history: d.history.iter().map(AdmissionEntryOut::from).collect(),
            side_actions: d.side_actions.iter().map(StepOut::from).collect(),
            can_act: d.can_act,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionListOut {
    pub items: Vec<AdmissionOut>,
}

/// A process definition as data (issue 8: definitions are versioned data).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessOut {
    pub key: String,
    pub version: u32,
    pub name: String,
    pub name_en: String,
    /// SHA-256 of the definition's JSON, as stored in `workflow_definitions`.
    pub digest: String,
    pub steps: Vec<StepOut>,
    pub side_actions: Vec<StepOut>,
    /// Ways to end a run early (a letter cancelled or returned), each with
    /// its roles and form.
    pub exits: Vec<StepOut>,
    /// Deadlines: what they count from and the rule they enforce.
    #[schema(value_type = Vec<Object>)]
    pub deadlines: serde_json::Value,
}

fn invalid(field: &str, v: &str) -> ApiError {
    ApiError(AppError::field(
        field,
        "invalid_value",
        format!("「{v}」不是有效的取值"),
        format!("{v:?} is not a valid value"),
    ))
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError(AppError::NotFound("admission")))
}

fn applicant(b: StartIn) -> ApiResult<Applicant> {
    match (b.member_id, b.person) {
        (Some(id), None) => Ok(Applicant::Member(id)),
        (None, Some(p)) => {
            let education = match p.education.as_deref() {
                Some(e) if !e.trim().is_empty() => {
                    Some(Education::parse(e).ok_or_else(|| invalid("person.education", e))?)
                }
                _ => None,
            };
            let dues_category = match p.dues_category.as_deref() {
                Some(c) => {
                    DuesCategory::parse(c).ok_or_else(|| invalid("person.dues_category", c))?
                }
                None => DuesCategory::Employed,
            };
            Ok(Applicant::Person(NewApplicant {
                name: p.name,
                id_number: p.id_number,
                ethnicity: p.ethnicity,
                phone: p.phone,
                education,
                dues_category,
                applied_on: p.applied_on,
            }))
        }
        _ => Err(ApiError(AppError::field(
            "member_id",
            "bad_request",
            "请提供 member_id 或 person 之一",
            "give exactly one of member_id and person",
        ))),
    }
}

/// A definition as served by the `…/process` endpoints.
pub(crate) fn process_out(def: &dangjian_workflow::ProcessDef) -> ProcessOut {
    let view = |s: &dangjian_workflow::StepDef| StepView {
        key: s.key.clone(),
        number: s.number,
        label_zh: s.label_zh.clone(),
        label_en: s.label_en.clone(),
        roles: s.roles.clone(),
        fields: s.fields.clone(),
        attachments: s.attachments.clone(),
    };
    let other = |key: &str,
                 zh: &str,
                 en: &str,
                 roles: &[String],
                 fields: &[dangjian_workflow::FieldDef]| {
        StepOut::from(&StepView {
            key: key.into(),
            number: 0,
            label_zh: zh.into(),
            label_en: en.into(),
            roles: roles.to_vec(),
            fields: fields.to_vec(),
            attachments: vec![],
        })
    };
    ProcessOut {
        key: def.key.clone(),
        version: def.version,
        name: def.name_zh.clone(),
        name_en: def.name_en.clone(),
        digest: dangjian_workflow::digest(def),
        steps: def.steps.iter().map(|s| StepOut::from(&view(s))).collect(),
        side_actions: def
            .side_actions
            .iter()
            .map(|s| other(&s.key, &s.label_zh, &s.label_en, &s.roles, &s.fields))
            .collect(),
        exits: def
            .exits
            .iter()
            .map(|x| other(&x.key, &x.label_zh, &x.label_en, &x.roles, &x.fields))
            .collect(),
        deadlines: serde_json::to_value(&def.deadlines).unwrap_or(serde_json::Value::Null),
    }
}

/// The admission process of DOMAIN.md §4 as data — the latest version,
/// the one new admissions start on: its 25 steps in order, who may act on
/// each, their fields and attachments, side actions and deadlines.
#[utoipa::path(get, path = "/api/v1/admissions/process", security(("bearer" = [])),
    responses((status = 200, body = ProcessOut), (status = 401, body = Problem)))]
pub async fn process(
    State(st): State<AppState>,
    ApiActor(_a): ApiActor,
) -> ApiResult<Json<ProcessOut>> {
    let def = st.app.latest_definition(PROCESS_KEY)?;
    Ok(Json(process_out(def)))
}

/// Starts an admission in a branch and records step 1 (the application).
#[utoipa::path(post, path = "/api/v1/orgs/{code}/admissions", params(("code" = String, Path)), request_body = StartIn, security(("bearer" = [])),
    responses((status = 201, body = AdmissionDetailOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn start(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<StartIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AdmissionDetailOut>)> {
    let who = applicant(body(b)?)?;
    let d = st.app.start_admission(&a, &code, who).await?;
    Ok((StatusCode::CREATED, Json(AdmissionDetailOut::from(&d))))
}

/// The branch's applicant pipeline: open admissions with their next step
/// and open deadlines, overdue first.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/admissions", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AdmissionListOut), (status = 404, body = Problem)))]
pub async fn pipeline(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<AdmissionListOut>> {
    let items = st.app.admission_pipeline(&a, &code).await?;
    Ok(Json(AdmissionListOut {
        items: items.iter().map(AdmissionOut::from).collect(),
    }))
}

/// An admission with its whole timeline.
#[utoipa::path(get, path = "/api/v1/admissions/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AdmissionDetailOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<AdmissionDetailOut>> {
    let d = st.app.admission_detail(&a, parse_id(&id)?).await?;
    Ok(Json(AdmissionDetailOut::from(&d)))
}

/// Acts on a step (the next one) or an open side action. A fixed rule of
/// DOMAIN.md §4 answers 422 naming the field and citing the rule; a
/// warning answers 422 with field `overrides` and its code, and passes when
/// repeated with `overrides: [{code, reason}]`.
#[utoipa::path(post, path = "/api/v1/admissions/{id}/steps/{step}", params(("id" = i64, Path), ("step" = String, Path)), request_body = StepIn, security(("bearer" = [])),
    responses((status = 200, body = AdmissionDetailOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn act(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, step)): Path<(String, String)>,
    b: Result<Json<StepIn>, JsonRejection>,
) -> ApiResult<Json<AdmissionDetailOut>> {
    let b = body(b)?;
    let input = StepInput {
        form: b.form,
        attachments: b.attachments,
        overrides: b
            .overrides
            .into_iter()
            .map(|o| Override {
                code: o.code,
                reason: o.reason,
            })
            .collect(),
    };
    let d = st
        .app
        .act_on_admission(&a, parse_id(&id)?, &step, input)
        .await?;
    Ok(Json(AdmissionDetailOut::from(&d)))
}

/// Why an admission ends.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelIn {
    pub reason: String,
}

/// Ends an open admission (the applicant withdraws); the reason is kept.
#[utoipa::path(post, path = "/api/v1/admissions/{id}/cancel", params(("id" = i64, Path)), request_body = CancelIn, security(("bearer" = [])),
    responses((status = 200, body = AdmissionDetailOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<CancelIn>, JsonRejection>,
) -> ApiResult<Json<AdmissionDetailOut>> {
    let b = body(b)?;
    let d = st
        .app
        .cancel_admission(&a, parse_id(&id)?, &b.reason)
        .await?;
    Ok(Json(AdmissionDetailOut::from(&d)))
}

/// The admissions of a member (a member sees their own).
#[utoipa::path(get, path = "/api/v1/members/{id}/admissions", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AdmissionListOut), (status = 404, body = Problem)))]
pub async fn of_member(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<AdmissionListOut>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))?;
    let items = st.app.member_admissions(&a, id).await?;
    Ok(Json(AdmissionListOut {
        items: items.iter().map(AdmissionOut::from).collect(),
    }))
}

/// A generated form of the admission (issue 8, fill once).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionFormOut {
    pub key: String,
    pub title_zh: String,
    pub title_en: String,
    /// How many of its steps are recorded.
    pub recorded: usize,
    /// Where to download the PDF.
    pub pdf: String,
}

/// The forms generated from the admission record, with how much of each
/// is recorded.
#[utoipa::path(get, path = "/api/v1/admissions/{id}/forms", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<AdmissionFormOut>), (status = 404, body = Problem)))]
pub async fn forms(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AdmissionFormOut>>> {
    let id = parse_id(&id)?;
    let v = st.app.admission_forms(&a, id).await?;
    Ok(Json(
        v.iter()
            .map(|f| AdmissionFormOut {
                key: f.key.into(),
                title_zh: f.title_zh.into(),
                title_en: f.title_en.into(),
                recorded: f.recorded,
                pdf: format!("/api/v1/admissions/{id}/forms/{}", f.key),
            })
            .collect(),
    ))
}

/// One form as a PDF generated from the record (audited).
#[utoipa::path(get, path = "/api/v1/admissions/{id}/forms/{form}", params(("id" = i64, Path), ("form" = String, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "application/pdf"), (status = 404, body = Problem)))]
pub async fn form_pdf(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, form)): Path<(String, String)>,
) -> ApiResult<impl axum::response::IntoResponse> {
    let id = parse_id(&id)?;
    let (name, pdf) = st.app.admission_form_pdf(&a, id, &form).await?;
    Ok(crate::api::certificates::pdf_response(
        &name,
        &format!(
            "admission-{id}-{}",
            form.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "")
        ),
        pdf,
    ))
}

/// The upload routes of admission materials, with a body limit that follows
/// the configured largest attachment (a larger body is answered 413).
pub fn upload_routes(max_bytes: usize) -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/api/v1/admissions/{id}/attachments",
            axum::routing::get(attachments).post(upload_attachment),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            max_bytes.saturating_add(crate::api::votes::MULTIPART_SLACK),
        ))
}

/// A kind of admission material.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialKindOut {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
}

/// A scan of an admission material on record (without its bytes).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionAttachmentOut {
    pub id: i64,
    pub admission_id: i64,
    pub kind: MaterialKindOut,
    pub filename: String,
    /// Detected from the content: image/jpeg, image/png or application/pdf.
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Where to download it.
    pub href: String,
}

impl From<&dangjian_app::admission_attachments::AdmissionAttachmentView>
    for AdmissionAttachmentOut
{
    fn from(a: &dangjian_app::admission_attachments::AdmissionAttachmentView) -> Self {
        Self {
            id: a.id,
            admission_id: a.admission_id,
            kind: MaterialKindOut {
                code: a.kind.code.clone(),
                label_zh: a.kind.label_zh.clone(),
                label_en: a.kind.label_en.clone(),
            },
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            created_at: a.created_at,
            href: format!("/api/v1/admissions/{}/attachments/{}", a.admission_id, a.id),
        }
    }
}

/// The scans of an admission's materials on record.
#[utoipa::path(get, path = "/api/v1/admissions/{id}/attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<AdmissionAttachmentOut>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn attachments(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AdmissionAttachmentOut>>> {
    let id = parse_id(&id)?;
    let v = st.app.admission_attachments(&a, id).await?;
    Ok(Json(v.iter().map(AdmissionAttachmentOut::from).collect()))
}

/// Uploads the scan of a material (multipart: `file`, `kind` — a kind a
/// step requires, e.g. political_review_report, or other). JPEG, PNG or PDF
/// by content; stored encrypted; larger than the limit: 413.
#[utoipa::path(post, path = "/api/v1/admissions/{id}/attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "file, kind"),
    responses((status = 201, body = AdmissionAttachmentOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_attachment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    mut mp: axum::extract::Multipart,
) -> ApiResult<(StatusCode, Json<AdmissionAttachmentOut>)> {
    let id = parse_id(&id)?;
    let (kind, _, file) = crate::api::votes::read_upload_with(&mut mp, "kind").await?;
    let Some((name, bytes)) = file else {
        return Err(ApiError(AppError::field(
            "file",
            "required",
            "请选择文件",
            "choose a file",
        )));
    };
    let v = st
        .app
        .upload_admission_attachment(&a, id, kind.as_deref().unwrap_or(""), &name, bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(AdmissionAttachmentOut::from(&v))))
}

/// Downloads the scan of a material (decrypted; audited).
#[utoipa::path(get, path = "/api/v1/admissions/{id}/attachments/{attachment_id}", params(("id" = i64, Path), ("attachment_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "the file"), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn download_attachment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, attachment_id)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let id = parse_id(&id)?;
    let attachment_id = parse_id(&attachment_id)?;
    let (v, bytes) = st
        .app
        .download_admission_attachment(&a, id, attachment_id)
        .await?;
    Ok(crate::api::votes::file_response(
        &v.filename,
        &v.content_type,
        bytes,
    ))
}
