//! Errors of the domain layer. A rule returns [`ValidationError`]s (one per problem, all of
//! them, not just the first) or a [`DomainError`]; the server maps both, once, to HubSpot's
//! error body (`chronik-server/src/error.rs`). Nothing here knows HTTP status codes.

use std::fmt;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The JSON path as the caller sent it, e.g. `properties.hs_url` or `inputs[3].objectId`.
    pub field: String,
    /// A stable upper-case word, e.g. `TOO_LONG`, `REQUIRED`, `INVALID_FORMAT`.
    pub code: &'static str,
    /// A sentence that names the field and the limit and says what to fix.
    pub message: String,
}

impl ValidationError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// `field` is missing or empty.
    pub fn required(field: &str) -> Self {
        ValidationError::new(field, "REQUIRED", format!("{field} is required"))
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A rule's verdict beyond plain field validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// One or more fields are invalid; every problem is listed.
    #[error("{}", summarize(.0))]
    Invalid(Vec<ValidationError>),
    /// The thing asked for does not exist (in the caller's account).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A configured quota would be exceeded.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
}

impl From<ValidationError> for DomainError {
    fn from(e: ValidationError) -> Self {
        DomainError::Invalid(vec![e])
    }
}

impl From<Vec<ValidationError>> for DomainError {
    fn from(errors: Vec<ValidationError>) -> Self {
        DomainError::Invalid(errors)
    }
}

fn summarize(errors: &[ValidationError]) -> String {
    match errors {
        [] => "the request is invalid".to_owned(),
        [one] => one.message.clone(),
        many => format!(
            "{} problems: {}",
            many.len(),
            many.iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// Collects the problems of one item so that a rule reports all of them at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<ValidationError>);

impl Problems {
    /// An empty list.
    pub fn new() -> Self {
        Problems(Vec::new())
    }

    /// Adds a problem.
    pub fn push(&mut self, e: ValidationError) {
        self.0.push(e);
    }

    /// `Ok(value)` when nothing was found, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, DomainError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_problems_are_all_named_in_the_message() {
        let e = DomainError::Invalid(vec![
            ValidationError::required("name"),
            ValidationError::required("scopes"),
        ]);
        let msg = e.to_string();
        assert!(msg.contains("2 problems"), "{msg}");
        assert!(
            msg.contains("name is required") && msg.contains("scopes is required"),
            "{msg}"
        );
    }

    #[test]
    fn problems_finish_ok_only_when_empty() {
        assert_eq!(Problems::new().finish(3), Ok(3));
        let mut p = Problems::new();
        p.push(ValidationError::required("x"));
        assert!(matches!(p.finish(3), Err(DomainError::Invalid(v)) if v.len() == 1));
    }
}
