//! The materials page of an admission (issue 8): the scans on record — the
//! political review report, training certificate, volunteer form, other
//! material — with their download links, and for the branch the upload
//! form. Linked from the candidate's timeline. Handlers stay thin: the
//! rules (type by content, size, encryption, scope, audit) live in
//! `app::admission_attachments`.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use dangjian_app::AppError;
use dangjian_app::admission_attachments::material_kinds;
use serde::Deserialize;

use super::{error_messages, error_page, render};
use crate::AppState;
use crate::api::votes::{MULTIPART_SLACK, file_response, read_upload_with};
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admissions/{id}/materials", get(materials_page))
        .route("/admissions/{id}/materials/{attachment_id}", get(download))
}

/// The upload route, with the body limit of the configured largest attachment.
pub fn upload_routes(max_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/admissions/{id}/materials", post(upload_submit))
        .layer(DefaultBodyLimit::max(
            max_bytes.saturating_add(MULTIPART_SLACK),
        ))
}

struct Row {
    id: i64,
    kind: String,
    filename: String,
    content_type: String,
    size: String,
    sha256: String,
    at: String,
}

#[derive(Template)]
#[template(path = "admission_materials.html")]
struct MaterialsPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    name: String,
    can_upload: bool,
    kinds: Vec<(String, String)>,
    rows: Vec<Row>,
    errors: Vec<String>,
    notice: String,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn materials_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("admission"));
    };
    let notice = match q.done.as_deref() {
        Some("upload") => lang.t("材料已上传。", "Material uploaded.").to_string(),
        _ => String::new(),
    };
    page(&st, lang, &p, id, StatusCode::OK, Vec::new(), notice).await
}

async fn page(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    id: i64,
    status: StatusCode,
    errors: Vec<String>,
    notice: String,
) -> Response {
    let d = match st.app.admission_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, p, e),
    };
    let list = match st.app.admission_attachments(&p.actor, id).await {
        Ok(v) => v,
        Err(e) => return error_page(lang, p, e),
    };
    let rows = list
        .iter()
        .map(|a| Row {
            id: a.id,
            kind: lang.t(&a.kind.label_zh, &a.kind.label_en).to_string(),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: format!("{:.1} KB", a.size as f64 / 1024.0),
            sha256: a.sha256.clone(),
            at: dangjian_app::clock::to_local(a.created_at)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        })
        .collect();
    let kinds = material_kinds()
        .into_iter()
        .map(|k| (k.code, lang.t(&k.label_zh, &k.label_en).to_string()))
        .collect();
    render(
        status,
        MaterialsPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/admissions/{id}/materials"),
            id,
            name: d.summary.member_name.clone(),
            can_upload: p.actor.can_manage_members(&d.summary.org.path),
            kinds,
            rows,
            errors,
            notice,
        },
    )
}

async fn upload_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    mut mp: Multipart,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("admission"));
    };
    let (kind, csrf, file) = match read_upload_with(&mut mp, "kind").await {
        Ok(x) => x,
        Err(e) => return refused(&st, lang, &p, id, e).await,
    };
    if csrf.as_deref() != Some(p.csrf.as_str()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let r = async {
        let (name, bytes) =
            file.ok_or_else(|| AppError::field("file", "required", "请选择文件", "choose a file"))?;
        st.app
            .upload_admission_attachment(&p.actor, id, kind.as_deref().unwrap_or(""), &name, bytes)
            .await
    }
    .await;
    match r {
        Ok(_) => Redirect::to(&format!("/admissions/{id}/materials?done=upload")).into_response(),
        Err(e) => refused(&st, lang, &p, id, e).await,
    }
}

/// A refused upload: the page again with the reasons (413 or 422), or the
/// error page when the admission is out of reach.
async fn refused(st: &AppState, lang: Lang, p: &PageActor, id: i64, e: AppError) -> Response {
    match error_messages(&e, lang) {
        Some(lines) => {
            let status = crate::error::ApiError(e).status();
            page(st, lang, p, id, status, lines, String::new()).await
        }
        None => error_page(lang, p, e),
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
    match st
        .app
        .download_admission_attachment(&p.actor, id, aid)
        .await
    {
        Ok((v, bytes)) => file_response(&v.filename, &v.content_type, bytes),
        Err(e) => error_page(lang, &p, e),
    }
}
