//! Dues calculator endpoint (DOMAIN.md §7): the same exact rules as
//! `dangjian fee`, from `dangjian_domain::dues`, under the server's dated
//! schedule (`AppConfig::dues_schedule`) on the server's today.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use dangjian_app::AppError;
use dangjian_domain::ValidationErrors;
use dangjian_domain::dues::{DuesCategory, FeeInput, format_fen};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::query;
use crate::error::{ApiError, ApiResult, Problem};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FeeQuery {
    /// employed, retired, farmer, student, unemployed, subsistence
    pub category: String,
    /// Monthly base in yuan, at most two decimals (needed for employed and retired).
    pub income: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeeOut {
    /// Monthly dues in integer fen.
    pub fee_fen: i64,
    pub fee_yuan: String,
    pub rate: String,
    pub rule: String,
    pub source: String,
    pub explanation: String,
    pub explanation_en: String,
}

fn bad(e: dangjian_domain::FieldError) -> ApiError {
    // Bad calculator input is a malformed request: 400 naming the field.
    let mut e = e;
    e.code = "bad_request";
    ApiError(AppError::Validation(ValidationErrors(vec![e])))
}

/// Monthly dues for a category and monthly base, with the rule applied.
#[utoipa::path(get, path = "/api/v1/fees/calculate", params(FeeQuery),
    responses((status = 200, body = FeeOut), (status = 400, body = Problem)))]
pub async fn calculate(
    State(st): State<AppState>,
    q: Result<Query<FeeQuery>, QueryRejection>,
) -> ApiResult<Json<FeeOut>> {
    let q = query(q)?;
    let category = DuesCategory::parse(&q.category).ok_or_else(|| {
        ApiError::bad_request(
            "category",
            &format!("「{}」不是有效的人员类别", q.category),
            &format!(
                "{:?} is not one of employed, retired, farmer, student, unemployed, subsistence",
                q.category
            ),
        )
    })?;
    let today = st.app.today();
    let mut input = FeeInput::new(category, today);
    if let Some(i) = q.income.as_deref() {
        input = input
            .with_income_str(i)
            .map_err(|e| bad(e.to_field_error()))?;
    }
    let r = st
        .app
        .config
        .dues_schedule
        .calculate(&input)
        .map_err(|e| bad(e.to_field_error()))?;
    Ok(Json(FeeOut {
        fee_fen: r.fee_fen,
        fee_yuan: format_fen(r.fee_fen),
        rate: r.rate.to_string(),
        rule: r.rule.to_string(),
        source: r.source.to_string(),
        explanation: r.explanation_zh,
        explanation_en: r.explanation_en,
    }))
}
