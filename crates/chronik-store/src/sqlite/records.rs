//! Finding the live record an event names, for the writes that resolve records with
//! `chronik_domain::association::resolve` (custom event completions, timeline events): the
//! lookup it is given for `Id`, `Utk` and `Unique` references. Emails are found or created by
//! `tenancy::contact_by_email`.

use chronik_domain::association::RecordRef;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::{AccountId, ObjectId};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension};

use super::db;
use crate::StoreError;

/// The prepared lookups of one write job, in one account.
pub(super) struct RecordLookup<'c> {
    account: AccountId,
    by_id: CachedStatement<'c>,
    by_unique: CachedStatement<'c>,
    by_utk: CachedStatement<'c>,
    /// The last record found by id: batches often name one record many times in a row.
    known: Option<(i64, ObjectTypeId)>,
}

impl<'c> RecordLookup<'c> {
    /// Prepares the lookups on `conn`.
    pub(super) fn new(conn: &'c Connection, account: AccountId) -> Result<Self, StoreError> {
        Ok(RecordLookup {
            account,
            by_id: conn
                .prepare_cached(
                    "SELECT 1 FROM crm_objects WHERE account_id = ?1 AND object_id = ?2
                         AND object_type_id = ?3 AND archived_at IS NULL",
                )
                .map_err(db)?,
            by_unique: conn
                .prepare_cached(
                    "SELECT object_id FROM crm_unique_values
                     WHERE account_id = ?1 AND object_type_id = ?2 AND property = ?3 AND value = ?4",
                )
                .map_err(db)?,
            by_utk: conn
                .prepare_cached(
                    "SELECT v.object_id FROM visitor_tokens v JOIN crm_objects o
                         ON o.account_id = v.account_id AND o.object_id = v.object_id
                     WHERE v.account_id = ?1 AND v.utk = ?2 AND o.archived_at IS NULL",
                )
                .map_err(db)?,
            known: None,
        })
    }

    /// The live record of `object_type` that `record` names, if any (a utk names a contact;
    /// an email is never looked up here: `None`).
    pub(super) fn find(
        &mut self,
        object_type: ObjectTypeId,
        record: &RecordRef,
    ) -> Result<Option<ObjectId>, StoreError> {
        let account = self.account.0;
        match record {
            RecordRef::Id(ObjectId(id)) => {
                if self.known == Some((*id, object_type)) {
                    return Ok(Some(ObjectId(*id)));
                }
                let exists = self
                    .by_id
                    .query_row(params![account, id, object_type.to_string()], |_| Ok(()))
                    .optional()
                    .map_err(db)?
                    .is_some();
                if exists {
                    self.known = Some((*id, object_type));
                }
                Ok(exists.then_some(ObjectId(*id)))
            }
            RecordRef::Utk(utk) => self
                .by_utk
                .query_row(params![account, utk], |r| r.get(0).map(ObjectId))
                .optional()
                .map_err(db),
            RecordRef::Unique(value) => self
                .by_unique
                .query_row(
                    params![
                        account,
                        object_type.to_string(),
                        value.property,
                        value.value
                    ],
                    |r| r.get(0).map(ObjectId),
                )
                .optional()
                .map_err(db),
            RecordRef::Email(_) => Ok(None),
        }
    }
}
