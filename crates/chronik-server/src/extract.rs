//! Extractors that turn every decode failure into an [`ApiError`] naming the field (and, for
//! malformed JSON, the line and column), instead of axum's plain-text rejections; and the body
//! limit, enforced before a body is read whole.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Category, ErrorDetail};
use crate::state::AppState;

/// 413 naming the limit.
pub fn payload_too_large(limit: usize) -> ApiError {
    ApiError::new(
        Category::PayloadTooLarge,
        format!("The request body is larger than the limit of {limit} bytes; send less data per request."),
    )
}

/// Routes whose handlers read the body under a limit of their own (a `DefaultBodyLimit` layer
/// on the route and a check in the handler) instead of `max_body_bytes`: an app icon may be
/// 5 MB whatever the server's limit (seed: timeline events v3, custom icon).
pub const OWN_BODY_LIMIT_ROUTES: &[&str] = &[crate::api::admin::ICON_ROUTE];

/// Refuses a body whose declared `Content-Length` is over the limit before reading any of it.
/// Bodies without a length (chunked) are cut off at the limit by `DefaultBodyLimit` while
/// they stream, and the extractors below turn that into the same 413. Routes in
/// [`OWN_BODY_LIMIT_ROUTES`] check their own limit.
pub async fn limit_body(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let own_limit = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|route| OWN_BODY_LIMIT_ROUTES.contains(&route.as_str()));
    if own_limit {
        return next.run(request).await;
    }
    let limit = state.config.max_body_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return payload_too_large(limit).into_response();
    }
    next.run(request).await
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            payload_too_large(state.config.max_body_bytes)
        } else {
            ApiError::new(
                Category::ValidationError,
                format!("Could not read the request body: {rejection}"),
            )
        }
    })
}

/// A JSON body of type `T`. Any `Content-Type` is accepted: the SDKs always send JSON.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses `bytes` as `T`, reporting HubSpot's "Invalid input JSON on line L, column C" with
/// the path of the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| json_error(&err.path().to_string(), err.inner()))?;
    de.end().map_err(|err| json_error(".", &err))?;
    Ok(value)
}

fn json_error(path: &str, inner: &serde_json::Error) -> ApiError {
    let (code, field) = match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            ("MALFORMED_JSON", None)
        }
        serde_json::error::Category::Data | serde_json::error::Category::Io => {
            let text = inner.to_string();
            match missing_field(&text) {
                Some(missing) if path == "." => ("REQUIRED", Some(missing.to_owned())),
                Some(missing) => ("REQUIRED", Some(format!("{path}.{missing}"))),
                None => ("INVALID_TYPE", Some(path.to_owned()).filter(|p| p != ".")),
            }
        }
    };
    let detail_message = match &field {
        Some(f) if code == "REQUIRED" => format!("{f} is required"),
        Some(f) => format!("{f}: {}", strip_position(&inner.to_string())),
        None => strip_position(&inner.to_string()),
    };
    ApiError {
        category: Category::ValidationError,
        message: format!(
            "Invalid input JSON on line {}, column {}: {detail_message}",
            inner.line(),
            inner.column()
        ),
        errors: vec![ErrorDetail {
            message: detail_message,
            in_: field,
            code: Some(code.to_owned()),
            context: None,
        }],
        context: None,
    }
}

fn missing_field(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// serde_json appends " at line L column C"; we state the position once, up front.
fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

/// A path parameter of type `T`.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|rejection| {
                ApiError::new(
                    Category::ValidationError,
                    format!("Invalid path parameter: {}", rejection.body_text()),
                )
            })
    }
}

/// A form-encoded body (`application/x-www-form-urlencoded`) of type `T`.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            ApiError::new(Category::ValidationError, format!("Invalid form body: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse_json::<Body>(b"{\n  \"name\": \"x\",\n  oops\n}").unwrap_err();
        assert!(err.message.contains("line 3, column 3"), "{}", err.message);
        assert_eq!(err.errors[0].code.as_deref(), Some("MALFORMED_JSON"));
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let err = parse_json::<Body>(br#"{"name": "x", "inner": {"count": "seven"}}"#).unwrap_err();
        assert_eq!(err.errors[0].in_.as_deref(), Some("inner.count"));
        assert_eq!(err.errors[0].code.as_deref(), Some("INVALID_TYPE"));
    }

    #[test]
    fn missing_field_is_named() {
        let err = parse_json::<Body>(br#"{"inner": {"count": 1}}"#).unwrap_err();
        assert_eq!(err.errors[0].in_.as_deref(), Some("name"));
        assert_eq!(err.errors[0].code.as_deref(), Some("REQUIRED"));
        let err = parse_json::<Body>(br#"{"name": "x", "inner": {}}"#).unwrap_err();
        assert_eq!(err.errors[0].in_.as_deref(), Some("inner.count"));
    }

    #[test]
    fn trailing_garbage_is_malformed() {
        let err = parse_json::<Body>(br#"{"name": "x"} extra"#).unwrap_err();
        assert_eq!(err.errors[0].code.as_deref(), Some("MALFORMED_JSON"));
    }
}

/// The query string as ordered pairs, for HubSpot's repeated parameters
/// (`properties=a&properties=b`) and Python's `True`/`False` booleans.
#[derive(Debug, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(QueryPairs)
            .map_err(|e| {
                ApiError::new(
                    Category::ValidationError,
                    format!("Invalid query string: {e}"),
                )
            })
    }
}

impl QueryPairs {
    /// The first value of `key`.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, comma-separated lists split, empty ones dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A boolean parameter (`true`, `True`, `false`, `False`); `default` when absent.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.first(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::validation(vec![
                chronik_domain::ValidationError::new(
                    key,
                    "INVALID_BOOLEAN",
                    format!("query parameter {key} \"{v}\" must be true or false"),
                ),
            ])),
        }
    }

    /// A positive integer parameter at most `max`; `default` when absent.
    pub fn limit(&self, key: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.first(key) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::validation(vec![chronik_domain::ValidationError::new(
                    key,
                    "INVALID_LIMIT",
                    format!("query parameter {key} is \"{v}\"; it must be a whole number from 1 to {max}"),
                )])),
            },
        }
    }
}
