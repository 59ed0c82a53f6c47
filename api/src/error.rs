//! The one error type of the API: JSON `{error, detail}` with the matching HTTP status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Body of every error reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable class: `bad_request`, `not_found`, `timeout`, `unavailable`, `internal`.
    pub error: String,
    /// What went wrong, naming the parameter when a parameter is at fault.
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{error}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
}

impl ApiError {
    /// A parameter failed validation; `param` is its name as the client wrote it.
    pub fn param(param: &str, reason: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "bad_request",
            detail: format!("{param}: {reason}"),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            detail: detail.into(),
        }
    }

    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "unavailable",
            detail: detail.into(),
        }
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "internal",
            detail: detail.into(),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        let msg = e.to_string();
        // PostgreSQL cancels a statement past `statement_timeout` with this message (SQLSTATE
        // 57014), which diesel does not classify.
        if msg.contains("statement timeout") {
            return ApiError {
                status: StatusCode::GATEWAY_TIMEOUT,
                error: "timeout",
                detail: "the query ran past the statement timeout".into(),
            };
        }
        tracing::warn!(error = %msg, "query failed");
        ApiError::internal(format!("database: {msg}"))
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> ApiError {
        ApiError::unavailable(format!("no database connection: {e}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            error: self.error.into(),
            detail: self.detail.clone(),
        })
    }
}
