//! [`StoreError`]: what a store method can fail with. It never mentions HTTP; the server maps
//! it once (`chronik-server/src/error.rs`).

use chronik_domain::crm::object_type::ObjectTypeId;

/// A store method's failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist in the caller's account (or is no longer valid:
    /// an expired code, a revoked token).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule of the database refused the write. `existing_id` names the row that
    /// holds the value when the store can tell.
    #[error("conflict on {constraint}")]
    Conflict {
        constraint: &'static str,
        existing_id: Option<String>,
    },
    /// A quota counted in the database would be exceeded.
    #[error("quota {quota} of {limit} exceeded")]
    QuotaExceeded { quota: &'static str, limit: u64 },
    /// The database is unreachable or saturated; the caller may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A read ran longer than the store lets one read run, and was stopped. The request asked
    /// for more work than the budget allows (or the store is overloaded); the caller may narrow
    /// it or retry later.
    #[error("a read ran past its budget of {} ms and was stopped", budget.as_millis())]
    ReadBudgetExceeded { budget: std::time::Duration },
    /// Anything else: a bug or a broken database. Logged in full, never shown to callers.
    #[error("storage failure: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps an unexpected error.
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Internal(e.into())
    }
}

/// Parses an objectTypeId read from a row; a malformed stored value is `Internal`, as the
/// store wrote only [`ObjectTypeId`]'s own text there.
pub(crate) fn stored_type_id(raw: &str) -> Result<ObjectTypeId, StoreError> {
    ObjectTypeId::parse_stored(raw)
        .ok_or_else(|| StoreError::internal(format!("stored objectTypeId \"{raw}\" is malformed")))
}
