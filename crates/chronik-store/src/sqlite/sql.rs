//! Helpers shared by the SQL files of the API families: row conversions, the error mapping,
//! id sequences and the account checks every family makes.

use chronik_domain::AccountId;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::{SettingsVersion, StoreError};

/// Prepared statements each connection keeps (rusqlite's default is 16). The CRM paths alone
/// use more than that; evicting one means preparing it again on the next call.
pub(super) const STATEMENT_CACHE_CAPACITY: usize = 64;

/// A JSON text that does not parse, as rusqlite's error for `column`.
pub(super) fn json_error(column: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

/// Reads the JSON text in `column` of a row.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<T> {
    let raw: String = r.get(column)?;
    serde_json::from_str(&raw).map_err(|e| json_error(column, e))
}

/// Reads the objectTypeId text in `column` of a row (a malformed one becomes `Internal`
/// through [`db`]).
pub(super) fn type_id_column(
    r: &rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<chronik_domain::crm::object_type::ObjectTypeId> {
    let raw: String = r.get(column)?;
    chronik_domain::crm::object_type::ObjectTypeId::parse_stored(&raw).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            Box::new(chronik_domain::crm::object_type::InvalidObjectTypeId(raw)),
        )
    })
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

pub(super) fn db(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            if msg.contains("FOREIGN KEY") {
                StoreError::NotFound
            } else {
                StoreError::Conflict {
                    constraint: "unique",
                    existing_id: None,
                }
            }
        }
        e => StoreError::internal(e),
    }
}

pub(super) fn next_id(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    conn.query_row(
        "UPDATE id_sequences SET last_value = last_value + 1 WHERE name = ?1 RETURNING last_value",
        [name],
        |r| r.get(0),
    )
    .map_err(db)
}

/// The account's settings version; `NotFound` when there is no account.
pub(super) fn settings_version(
    conn: &Connection,
    account: AccountId,
) -> Result<SettingsVersion, StoreError> {
    conn.prepare_cached("SELECT settings_version FROM accounts WHERE account_id = ?1")
        .map_err(db)?
        .query_row([account.0], |r| Ok(SettingsVersion(r.get(0)?)))
        .map_err(db)
}

/// Raises the account's settings version, in the transaction of a change of its settings (an
/// event definition, a token): writes checked against the version before are refused after.
pub(super) fn raise_settings_version(
    conn: &Connection,
    account: AccountId,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE accounts SET settings_version = settings_version + 1 WHERE account_id = ?1",
    )
    .map_err(db)?
    .execute([account.0])
    .map_err(db)?;
    Ok(())
}

pub(super) fn account_exists(conn: &Connection, account: AccountId) -> Result<(), StoreError> {
    conn.query_row(
        "SELECT 1 FROM accounts WHERE account_id = ?1",
        [account.0],
        |_| Ok(()),
    )
    .map_err(db)
}
