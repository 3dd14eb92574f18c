//! [`ApiError`]: the one mapping to HubSpot's error body.
//!
//! Which error type each layer uses:
//! - domain rules return `chronik_domain::DomainError` (with `ValidationError`s);
//! - the store returns `chronik_store::StoreError`;
//! - handlers and extractors return [`ApiError`], which has a `From` for both and is the only
//!   code that writes an error response: `status: "error"`, `message`, `correlationId` (the
//!   same UUID as the `X-HubSpot-Correlation-Id` header), `category`, and `errors[]` with
//!   `message`, `in`, `code`, `context`; always `Content-Type: application/json`.
//!
//! The OAuth token endpoint has its own shape (api-reference §4.5); see `api/oauth/wire.rs`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chronik_domain::{DomainError, ValidationError};
use chronik_store::StoreError;
use serde::Serialize;

/// HubSpot's `category` values we send, each with its HTTP status. This table is the only
/// place that pairs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// 400: the request is malformed or breaks a rule.
    ValidationError,
    /// 401: no credentials, or ones we do not know.
    InvalidAuthentication,
    /// 401: an OAuth access token that has expired.
    ExpiredAuthentication,
    /// 403: the credentials lack a scope this call needs.
    MissingScopes,
    /// 403: the credentials are of the wrong kind for this call.
    Forbidden,
    /// 404: the thing (or the route) does not exist.
    ObjectNotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 409: the request conflicts with what is stored.
    Conflict,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the body's `Content-Type` is not one the route takes (an app icon that is neither
    /// PNG nor SVG). HubSpot's word for a request to fix: `VALIDATION_ERROR`.
    UnsupportedMediaType,
    /// 414: the request target is longer than the connection layer accepts
    /// (`http_conn::head::MAX_URI_BYTES`). HubSpot's word for a request to fix:
    /// `VALIDATION_ERROR`.
    UriTooLong,
    /// 431: the request head is larger than the connection layer accepts, or has too many
    /// header lines. HubSpot's word for a request to fix: `VALIDATION_ERROR`.
    HeadersTooLarge,
    /// 429: a quota is used up.
    RateLimits,
    /// 500: our fault.
    InternalError,
    /// 503: storage is unavailable; retry.
    ServiceUnavailable,
}

impl Category {
    /// The HTTP status that goes with the category.
    pub fn status(self) -> StatusCode {
        match self {
            Category::ValidationError => StatusCode::BAD_REQUEST,
            Category::InvalidAuthentication | Category::ExpiredAuthentication => {
                StatusCode::UNAUTHORIZED
            }
            Category::MissingScopes | Category::Forbidden => StatusCode::FORBIDDEN,
            Category::ObjectNotFound => StatusCode::NOT_FOUND,
            Category::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Category::Conflict => StatusCode::CONFLICT,
            Category::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Category::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Category::UriTooLong => StatusCode::URI_TOO_LONG,
            Category::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Category::RateLimits => StatusCode::TOO_MANY_REQUESTS,
            Category::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Category::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The word HubSpot puts in `category`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ValidationError
            | Category::UriTooLong
            | Category::HeadersTooLarge
            | Category::UnsupportedMediaType => "VALIDATION_ERROR",
            Category::InvalidAuthentication => "INVALID_AUTHENTICATION",
            Category::ExpiredAuthentication => "EXPIRED_AUTHENTICATION",
            Category::MissingScopes => "MISSING_SCOPES",
            Category::Forbidden => "FORBIDDEN",
            Category::ObjectNotFound => "OBJECT_NOT_FOUND",
            Category::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Category::Conflict => "CONFLICT",
            Category::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Category::RateLimits => "RATE_LIMITS",
            Category::InternalError => "INTERNAL_ERROR",
            Category::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }
}

/// One entry of `errors[]`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// What is wrong with this field and how to fix it.
    pub message: String,
    /// The field or parameter, as a JSON path (`inputs[3].objectId`).
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<String>,
    /// A stable upper-case word (`REQUIRED`, `TOO_LONG`, `INVALID_TYPE`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Extra structured facts, e.g. `{"requiredGranularScopes": ["timeline"]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<BTreeMap<String, Vec<String>>>,
}

impl From<ValidationError> for ErrorDetail {
    fn from(e: ValidationError) -> Self {
        ErrorDetail {
            message: e.message,
            in_: Some(e.field),
            code: Some(e.code.to_owned()),
            context: None,
        }
    }
}

/// HubSpot's error body, as sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `"error"`.
    pub status: &'static str,
    /// What went wrong and what to fix.
    pub message: String,
    /// The request's correlation id (also the `X-HubSpot-Correlation-Id` header).
    pub correlation_id: String,
    /// HubSpot's error category.
    pub category: &'static str,
    /// Per-field problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDetail>,
    /// Extra structured facts about the whole error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<BTreeMap<String, Vec<String>>>,
}

/// An error on its way to the caller.
#[derive(Debug)]
pub struct ApiError {
    /// Category (and so status).
    pub category: Category,
    /// The top-level message.
    pub message: String,
    /// Per-field problems.
    pub errors: Vec<ErrorDetail>,
    /// Extra structured facts.
    pub context: Option<BTreeMap<String, Vec<String>>>,
}

impl ApiError {
    /// An error of `category` with `message` and nothing else.
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        ApiError {
            category,
            message: message.into(),
            errors: Vec::new(),
            context: None,
        }
    }

    /// 400 with every problem listed.
    pub fn validation(errors: Vec<ValidationError>) -> Self {
        DomainError::Invalid(errors).into()
    }

    /// 404 for something that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(Category::ObjectNotFound, message)
    }

    /// 401: missing or unknown credentials. The message is HubSpot's.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            Category::InvalidAuthentication,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    }

    /// 403 naming the scopes of which at least one is needed.
    pub fn missing_scopes(any_of: &[&str]) -> Self {
        let scopes: Vec<String> = any_of.iter().map(|s| (*s).to_owned()).collect();
        ApiError {
            category: Category::MissingScopes,
            message: format!(
                "This app hasn't been granted all required scopes to make this call. One of these scopes is required: {}",
                scopes.join(", ")
            ),
            errors: vec![ErrorDetail {
                message: "One or more of the following scopes are required.".into(),
                in_: None,
                code: None,
                context: Some(BTreeMap::from([("requiredGranularScopes".to_owned(), scopes)])),
            }],
            context: None,
        }
    }

    /// 500 for a failure of ours. The cause is logged with the correlation id, never shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            Category::InternalError,
            "An internal error occurred. Quote the correlationId when reporting it.",
        )
    }

    /// The body this error is sent as, with the current request's correlation id.
    pub fn body(&self) -> ErrorBody {
        self.body_with_correlation_id(crate::telemetry::correlation_id())
    }

    /// The body this error is sent as, with `correlation_id`: for answers written outside a
    /// request's scope (the connection layer's, before hyper sees the request).
    pub fn body_with_correlation_id(&self, correlation_id: uuid::Uuid) -> ErrorBody {
        ErrorBody {
            status: "error",
            message: self.message.clone(),
            correlation_id: correlation_id.to_string(),
            category: self.category.as_str(),
            errors: self.errors.clone(),
            context: self.context.clone(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let message = e.to_string();
        match e {
            DomainError::Invalid(errors) => ApiError {
                category: Category::ValidationError,
                message,
                errors: errors.into_iter().map(ErrorDetail::from).collect(),
                context: None,
            },
            DomainError::NotFound(_) => ApiError::new(Category::ObjectNotFound, message),
            DomainError::Conflict(_) => ApiError::new(Category::Conflict, message),
            DomainError::QuotaExceeded(_) => ApiError::new(Category::RateLimits, message),
            DomainError::Forbidden(_) => ApiError::new(Category::Forbidden, message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("The requested object was not found."),
            StoreError::Conflict {
                existing_id,
                constraint,
            } => ApiError::new(
                Category::Conflict,
                match existing_id {
                    Some(id) => format!("The object already exists. Existing ID: {id}"),
                    None => format!("The request conflicts with a stored object ({constraint})."),
                },
            ),
            StoreError::QuotaExceeded { quota, limit } => ApiError::new(
                Category::RateLimits,
                format!("You have reached your {quota} limit of {limit}."),
            ),
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %cause, "storage unavailable");
                ApiError::new(
                    Category::ServiceUnavailable,
                    "Storage is temporarily unavailable; retry the request.",
                )
            }
            StoreError::ReadBudgetExceeded { budget } => {
                tracing::warn!(
                    budget_ms = budget.as_millis(),
                    "a store read ran past its budget"
                );
                ApiError::new(
                    Category::ServiceUnavailable,
                    format!(
                        "The request's read ran longer than the {} s a read may take and was \
                         stopped; narrow the request (fewer filters, a smaller limit) or retry later.",
                        budget.as_secs_f64()
                    ),
                )
            }
            StoreError::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.category.status();
        if status.is_client_error() {
            tracing::debug!(category = self.category.as_str(), message = %self.message, "request refused");
        }
        (status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read the store stopped past its budget is a 503 that names the budget, never a 500.
    #[test]
    fn a_read_past_its_budget_is_a_503_naming_the_budget() {
        let e = ApiError::from(StoreError::ReadBudgetExceeded {
            budget: std::time::Duration::from_secs(10),
        });
        assert_eq!(e.category.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.body().category, "SERVICE_UNAVAILABLE");
        assert!(
            e.message.contains("the 10 s a read may take"),
            "{}",
            e.message
        );
    }
}
