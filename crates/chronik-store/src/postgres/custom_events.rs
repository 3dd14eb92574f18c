//! PostgreSQL SQL for [`CustomEventStore`].
//!
//! The quota holds across any number of nodes: `create_event_definition` first locks the
//! account's row (`SELECT … FOR NO KEY UPDATE`), so creates in one account run one after the
//! other, then counts the live definitions and inserts, all in one transaction. `NO KEY UPDATE`
//! conflicts with itself but not with the `KEY SHARE` locks that foreign keys and other writes
//! take, so the rest of the account's traffic never waits on it. A name is never reused because
//! a deleted definition keeps its row (`deleted_at` set) and the primary key `(account_id, name)`
//! refuses a second insert.
//!
//! Every change of definitions raises the account's settings version first (its `FOR NO KEY
//! UPDATE` lock on the account row is also the lock that serializes creates). A send reads the
//! version with `FOR SHARE` on the account row as its first statement and holds it until its
//! commit: a change waits for the sends under way, and the sends after it wait for its commit
//! and read the new version, so a send checked against the old definitions is refused
//! (`SettingsChanged`) instead of stored.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chronik_domain::association::{resolve, Outcome, Priority, RecordRef};
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::{AccountId, DomainError, EventDefinitionId, ObjectId};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::single_sends::{GroupSink, Reply};
use super::tenancy::{contact_by_email, contacts_by_utk};
use super::{db, from_ms, ms, raise_settings_version, PostgresStore};
use crate::custom_events::*;
use crate::error::stored_type_id;
use crate::{occurrence_id, SettingsVersion, StoreError};

const QUOTA: &str = "event definitions";
const NAME_CONSTRAINT: &str = "event definition name";

/// Reads `definition_id, definition, created_at, updated_at`.
fn definition_row(r: &PgRow) -> Result<StoredEventDefinition, StoreError> {
    Ok(StoredEventDefinition {
        id: EventDefinitionId(r.try_get(0).map_err(db)?),
        definition: r.try_get::<Json<EventDefinition>, _>(1).map_err(db)?.0,
        created_at: from_ms(r.try_get(2).map_err(db)?),
        updated_at: from_ms(r.try_get(3).map_err(db)?),
    })
}

fn name_taken(existing: i64) -> StoreError {
    StoreError::Conflict {
        constraint: NAME_CONSTRAINT,
        existing_id: Some(existing.to_string()),
    }
}

#[async_trait::async_trait]
impl CustomEventStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        max_definitions: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Its lock serializes this account's creates on every node until the commit.
        raise_settings_version(&mut tx, account).await?;
        let (holder, live): (Option<i64>, i64) = sqlx::query_as(
            "SELECT (SELECT definition_id FROM event_definitions
                     WHERE account_id = $1 AND name = $2),
                    (SELECT COUNT(*) FROM event_definitions
                     WHERE account_id = $1 AND deleted_at IS NULL)",
        )
        .bind(account.0)
        .bind(&definition.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(existing) = holder {
            return Err(name_taken(existing));
        }
        if u64::try_from(live).unwrap_or(u64::MAX) >= max_definitions {
            return Err(StoreError::QuotaExceeded {
                quota: QUOTA,
                limit: max_definitions,
            });
        }
        // The primary key stays the last word on the name: a holder that slipped in would make
        // this insert return no row instead of writing a second one.
        let row = sqlx::query(
            "INSERT INTO event_definitions (account_id, name, definition, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (account_id, name) DO NOTHING
             RETURNING definition_id, definition, created_at, updated_at",
        )
        .bind(account.0)
        .bind(&definition.name)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            let existing: i64 = sqlx::query_scalar(
                "SELECT definition_id FROM event_definitions WHERE account_id = $1 AND name = $2",
            )
            .bind(account.0)
            .bind(&definition.name)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            return Err(name_taken(existing));
        };
        let stored = definition_row(&row)?;
        tx.commit().await.map_err(db)?;
        Self::committed(1);
        Ok(stored)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_event_definitions(
        &self,
        account: AccountId,
    ) -> Result<Vec<StoredEventDefinition>, StoreError> {
        let rows = sqlx::query(
            "SELECT definition_id, definition, created_at, updated_at FROM event_definitions
             WHERE account_id = $1 AND deleted_at IS NULL
             ORDER BY name",
        )
        .bind(account.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(definition_row).collect()
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_event_definition(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<StoredEventDefinition, StoreError> {
        let row = sqlx::query(
            "SELECT definition_id, definition, created_at, updated_at FROM event_definitions
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL",
        )
        .bind(account.0)
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        definition_row(&row)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn modify_event_definition(
        &self,
        account: AccountId,
        name: &str,
        change: DefinitionChange,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredEventDefinition, DomainError>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        raise_settings_version(&mut tx, account).await?;
        // FOR UPDATE makes concurrent changes of this definition, on any node, wait for this one.
        let row = sqlx::query(
            "SELECT definition_id, definition, created_at, updated_at FROM event_definitions
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL
             FOR UPDATE",
        )
        .bind(account.0)
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let current = definition_row(&row)?;
        let next = match apply_change(&current.definition, change)? {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        let row = sqlx::query(
            "UPDATE event_definitions SET definition = $3, updated_at = $4
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL
             RETURNING definition_id, definition, created_at, updated_at",
        )
        .bind(account.0)
        .bind(name)
        .bind(Json(&next))
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Self::committed(1);
        Ok(Ok(definition_row(&row)?))
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn delete_event_definition(
        &self,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        raise_settings_version(&mut tx, account).await?;
        let deleted = sqlx::query(
            "UPDATE event_definitions SET deleted_at = $3, updated_at = $3
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL",
        )
        .bind(account.0)
        .bind(name)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        let completions = sqlx::query(
            "DELETE FROM event_completions WHERE account_id = $1 AND definition_id =
                 (SELECT definition_id FROM event_definitions WHERE account_id = $1 AND name = $2)",
        )
        .bind(account.0)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        tx.commit().await.map_err(db)?;
        Self::committed(deleted + completions);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account = %account, count = completions.len()))]
    async fn store_completions(
        &self,
        account: AccountId,
        completions: Vec<NewCompletion>,
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: Option<SettingsVersion>,
    ) -> Result<Result<StoredBatch, BatchRefusal>, StoreError> {
        if completions.len() > MAX_COMPLETIONS_PER_CALL {
            return Err(StoreError::internal(format!(
                "store_completions takes at most {MAX_COMPLETIONS_PER_CALL} completions"
            )));
        }
        match (checked, <[NewCompletion; 1]>::try_from(completions)) {
            (Some(checked), Ok([one])) => {
                // One completion: stored with the others of the account that wait beside it.
                let sends = Arc::clone(&self.single_sends);
                sends
                    .store(self.clone(), account, checked, one, monthly_quota, now)
                    .await
            }
            (checked, Ok(one)) => {
                self.store_now(account, &one, monthly_quota, now, checked)
                    .await
            }
            (checked, Err(completions)) => {
                self.store_now(account, &completions, monthly_quota, now, checked)
                    .await
            }
        }
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn query_completions(
        &self,
        account: AccountId,
        query: &CompletionQuery,
    ) -> Result<CompletionPage, StoreError> {
        let plan = QueryPlan::new(query);
        let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT seq, definition_id, object_type_id, object_id, occurred_at, uuid, properties
             FROM event_completions WHERE account_id = ",
        );
        sql.push_bind(account.0);
        if let Some(id) = query.definition_id {
            sql.push(" AND definition_id = ").push_bind(id.0);
        }
        if let Some((type_id, id)) = &query.record {
            sql.push(" AND object_type_id = ")
                .push_bind(type_id.to_string())
                .push(" AND object_id = ")
                .push_bind(id.0);
        }
        if !query.uuids.is_empty() {
            let encoded: Vec<Vec<u8>> = query
                .uuids
                .iter()
                .map(|u| occurrence_id::encode(u))
                .collect();
            sql.push(" AND uuid = ANY(").push_bind(encoded).push(")");
        }
        for (name, value) in &query.properties {
            sql.push(" AND properties ->> ")
                .push_bind(name.clone())
                .push(" = ")
                .push_bind(value.clone());
        }
        if let Some(t) = query.occurred_after {
            sql.push(" AND occurred_at >= ").push_bind(ms(t));
        }
        if let Some(t) = query.occurred_before {
            sql.push(" AND occurred_at <= ").push_bind(ms(t));
        }
        if let Some(c) = plan.cursor {
            sql.push(format_args!(" AND (occurred_at, seq) {} (", plan.cmp()))
                .push_bind(c.occurred_at_ms)
                .push(", ")
                .push_bind(c.seq)
                .push(")");
        }
        let dir = plan.dir();
        sql.push(format_args!(
            " ORDER BY occurred_at {dir}, seq {dir} LIMIT "
        ))
        .push_bind(query.limit as i64 + 1);
        // Planned with each call's values, never as a prepared statement: after five calls on a
        // connection PostgreSQL may switch to a generic plan, which knows neither the limit nor
        // how many rows the filters keep, and picks a sequential scan and sort of the whole
        // account (about 300 ms on 1,000,000 completions, instead of a few ms).
        let rows = sql
            .build()
            .persistent(false)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let items = rows
            .iter()
            .map(completion_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(plan.page(items, query.limit))
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn monthly_completions(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT SUM(completions)::BIGINT FROM event_usage WHERE account_id = $1 AND month = $2",
        )
        .bind(account.0)
        .bind(month_key(at))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(used.map_or(0, |u| u64::try_from(u).unwrap_or(0)))
    }
}

/// Usage shards per account and month.
const USAGE_SHARDS: i16 = 16;

/// Spreads this node's sends over the shards.
static NEXT_SHARD: AtomicU64 = AtomicU64::new(0);

/// How one try at storing a batch ended.
enum Attempt {
    Done(Result<StoredBatch, BatchRefusal>),
    /// Too close to the quota to decide on one shard; nothing was written.
    NearQuota,
}

/// Where the groups of single sends go: the database, at once.
#[async_trait::async_trait]
impl GroupSink for PostgresStore {
    async fn store(
        &self,
        account: AccountId,
        completions: Vec<NewCompletion>,
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: SettingsVersion,
    ) -> Reply {
        self.store_now(account, &completions, monthly_quota, now, Some(checked))
            .await
    }
}

impl PostgresStore {
    /// [`CustomEventStore::store_completions`] in a transaction of its own: on a usage shard,
    /// or, near the quota, with the exact count.
    async fn store_now(
        &self,
        account: AccountId,
        completions: &[NewCompletion],
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: Option<SettingsVersion>,
    ) -> Reply {
        let shard = (NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % USAGE_SHARDS as u64) as i16;
        match self
            .attempt_completions(
                account,
                completions,
                monthly_quota,
                now,
                checked,
                Some(shard),
            )
            .await?
        {
            Attempt::Done(outcome) => Ok(outcome),
            Attempt::NearQuota => match self
                .attempt_completions(account, completions, monthly_quota, now, checked, None)
                .await?
            {
                Attempt::Done(outcome) => Ok(outcome),
                Attempt::NearQuota => {
                    Err(StoreError::internal("the exact quota check was not exact"))
                }
            },
        }
    }

    /// One try at [`CustomEventStore::store_completions`]: with `Some(shard)`, counts the
    /// completions on that usage shard and answers `NearQuota` (rolling back) when the other
    /// shards' possible in-flight counts could take the account past its quota; with `None`,
    /// locks the account against every other send and counts exactly.
    async fn attempt_completions(
        &self,
        account: AccountId,
        completions: &[NewCompletion],
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: Option<SettingsVersion>,
        shard: Option<i16>,
    ) -> Result<Attempt, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let lock = match shard {
            // Every send holds a SHARE lock on the account until its commit, taken by its
            // first statement (see `resolve_records`).
            Some(_) => AccountLock::ShareFirst,
            None => {
                // Conflicts with the SHARE lock every send holds on the account until its
                // commit: waits for the sends in flight, and holds off new ones.
                AccountLock::Held(settings_version(&mut tx, account, RowLock::Update).await?)
            }
        };
        let mut batch = StoredBatch::default();
        let object_ids = match resolve_records(&mut tx, account, lock, checked, completions).await?
        {
            Ok(resolved) => resolved,
            Err(refusal) => return Ok(Attempt::Done(Err(refusal))),
        };
        let mut created: HashMap<&str, i64> = HashMap::new();
        let mut definition_ids = Vec::with_capacity(completions.len());
        let mut type_ids = Vec::with_capacity(completions.len());
        let mut ids = Vec::with_capacity(completions.len());
        let mut times = Vec::with_capacity(completions.len());
        let mut uuids = Vec::with_capacity(completions.len());
        let mut properties = Vec::with_capacity(completions.len());
        for (completion, object_id) in completions.iter().zip(object_ids) {
            let object_id = match (object_id, &completion.record) {
                (Some(id), _) => id,
                (None, RecordRef::Email(email)) => match created.get(email.folded()) {
                    Some(id) => *id,
                    None => {
                        let (id, made) = contact_by_email(&mut tx, account, email, now).await?;
                        batch.contacts_created += u64::from(made);
                        created.insert(email.folded(), id);
                        id
                    }
                },
                (None, _) => return Err(StoreError::internal("an unresolved record")),
            };
            definition_ids.push(completion.definition_id.0);
            type_ids.push(completion.object_type_id.to_string());
            ids.push(object_id);
            times.push(ms(completion.occurred_at));
            uuids.push(occurrence_id::encode(&completion.uuid));
            properties.push(completion.properties_json.as_str());
        }
        // One statement for the whole batch and its count on this call's usage shard; rows keep
        // the batch's order, so `seq` does too, and ON CONFLICT skips a uuid the event type
        // already has (or had earlier in the batch). The shard row is counted last, so that it
        // stays locked only until the commit that follows, and not at all when nothing was
        // stored.
        let own = shard.unwrap_or(0);
        let month = month_key(now);
        let (stored, counted): (i64, Option<i64>) = sqlx::query_as(
            "WITH stored AS (
                 INSERT INTO event_completions
                     (account_id, definition_id, object_type_id, object_id, occurred_at, uuid,
                      properties)
                 SELECT $1, d, t, o, at, u, p::jsonb
                 FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[],
                             $7::text[])
                     WITH ORDINALITY AS x(d, t, o, at, u, p, n)
                 ORDER BY n
                 ON CONFLICT DO NOTHING
                 RETURNING 1),
             mine AS (
                 INSERT INTO event_usage (account_id, month, shard, completions)
                 SELECT $1, $8, $9, count(*) FROM stored HAVING count(*) > 0
                 ON CONFLICT (account_id, month, shard)
                 DO UPDATE SET completions = event_usage.completions + excluded.completions
                 RETURNING completions)
             SELECT (SELECT count(*) FROM stored), (SELECT completions FROM mine)",
        )
        .bind(account.0)
        .bind(&definition_ids)
        .bind(&type_ids)
        .bind(&ids)
        .bind(&times)
        .bind(&uuids)
        .bind(&properties)
        .bind(month)
        .bind(own)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        batch.stored = u64::try_from(stored).unwrap_or(0);
        batch.duplicates = completions.len() as u64 - batch.stored;
        if let Some(mine) = counted {
            // The other shards, in a statement of its own: its snapshot is taken after this
            // shard's row lock, so every increment committed by then is seen, and each other
            // shard can hold at most one more, uncommitted (its row lock serializes them).
            let others: i64 = sqlx::query_scalar(
                "SELECT COALESCE(SUM(completions), 0)::BIGINT FROM event_usage
                 WHERE account_id = $1 AND month = $2 AND shard <> $3",
            )
            .bind(account.0)
            .bind(month)
            .bind(own)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            // Every other shard may hold one uncommitted increment of at most a call's worth.
            // Within that margin of the quota, count exactly instead.
            let in_flight = match shard {
                Some(_) => (USAGE_SHARDS as i64 - 1) * MAX_COMPLETIONS_PER_CALL as i64,
                None => 0,
            };
            let bound = u64::try_from(mine + others + in_flight).unwrap_or(u64::MAX);
            if bound > monthly_quota {
                // Dropping the transaction rolls back everything it wrote.
                return match shard {
                    Some(_) => Ok(Attempt::NearQuota),
                    None => Err(StoreError::QuotaExceeded {
                        quota: MONTHLY_COMPLETIONS_QUOTA,
                        limit: monthly_quota,
                    }),
                };
            }
        }
        tx.commit().await.map_err(db)?;
        Self::committed(batch.stored + batch.contacts_created * 2);
        Ok(Attempt::Done(Ok(batch)))
    }
}

/// The lock a send takes on its account's row.
#[derive(Clone, Copy)]
enum RowLock {
    /// Every send: conflicts with changes of settings, not with other sends.
    Share,
    /// A send that counts the quota exactly: conflicts with every other send too.
    Update,
}

/// The account's settings version, read with `lock` on its row (held until the commit);
/// `NotFound` when there is no account.
async fn settings_version(
    conn: &mut PgConnection,
    account: AccountId,
    lock: RowLock,
) -> Result<SettingsVersion, StoreError> {
    let sql = match lock {
        RowLock::Share => "SELECT settings_version FROM accounts WHERE account_id = $1 FOR SHARE",
        RowLock::Update => "SELECT settings_version FROM accounts WHERE account_id = $1 FOR UPDATE",
    };
    let version: i64 = sqlx::query_scalar(sql)
        .bind(account.0)
        .fetch_one(conn)
        .await
        .map_err(db)?;
    Ok(SettingsVersion(version))
}

/// Whether [`resolve_records`] must lock the account first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AccountLock {
    /// The transaction holds a lock on the account already, and read this settings version.
    Held(SettingsVersion),
    /// Take a SHARE lock on the account (`NotFound` when there is none) and read its settings
    /// version before anything else: with the lookup by record id when there is one, in the
    /// same round trip.
    ShareFirst,
}

/// Each completion's record id (`None` for an email still to be found or created), or the
/// indexes of the completions whose record does not exist, or `SettingsChanged` when the
/// account's settings version is not `checked`. One query per kind of reference.
async fn resolve_records(
    tx: &mut PgConnection,
    account: AccountId,
    lock: AccountLock,
    checked: Option<SettingsVersion>,
    completions: &[NewCompletion],
) -> Result<Result<Vec<Option<i64>>, BatchRefusal>, StoreError> {
    let mut by_id: Vec<i64> = Vec::new();
    let mut utks: Vec<&str> = Vec::new();
    let (mut u_types, mut u_props, mut u_values) = (Vec::new(), Vec::new(), Vec::new());
    for c in completions {
        match &c.record {
            RecordRef::Id(ObjectId(id)) => by_id.push(*id),
            RecordRef::Utk(utk) => utks.push(utk),
            RecordRef::Unique(v) => {
                u_types.push(c.object_type_id.to_string());
                u_props.push(v.property.as_str());
                u_values.push(v.value.as_str());
            }
            RecordRef::Email(_) => {}
        }
    }
    let mut live: HashSet<(i64, ObjectTypeId)> = HashSet::new();
    let mut current = match lock {
        AccountLock::Held(version) => Some(version),
        AccountLock::ShareFirst => None,
    };
    if !by_id.is_empty() {
        by_id.sort_unstable();
        by_id.dedup();
        // With the account's SHARE lock (a no-op when the transaction holds a stronger one):
        // no row at all when there is no account, one row without a record when no id is live.
        let rows: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT a.settings_version, o.object_id, o.object_type_id
             FROM (SELECT account_id, settings_version FROM accounts
                   WHERE account_id = $1 FOR SHARE) a
             LEFT JOIN crm_objects o
                 ON o.account_id = a.account_id AND o.object_id = ANY($2)
                     AND o.archived_at IS NULL",
        )
        .bind(account.0)
        .bind(&by_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let Some((version, _, _)) = rows.first() else {
            return Err(StoreError::NotFound);
        };
        current.get_or_insert(SettingsVersion(*version));
        for (_, id, t) in rows {
            if let (Some(id), Some(t)) = (id, t) {
                live.insert((id, stored_type_id(&t)?));
            }
        }
    } else if current.is_none() {
        current = Some(settings_version(&mut *tx, account, RowLock::Share).await?);
    }
    if checked.is_some_and(|checked| Some(checked) != current) {
        return Ok(Err(BatchRefusal::SettingsChanged));
    }
    let by_utk = contacts_by_utk(&mut *tx, account, &utks).await?;
    let mut by_unique: HashMap<(ObjectTypeId, String, String), i64> = HashMap::new();
    if !u_types.is_empty() {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT u.object_type_id, u.property, u.value, u.object_id
             FROM crm_unique_values u
             JOIN unnest($2::text[], $3::text[], $4::text[]) AS k(t, p, v)
                 ON u.object_type_id = k.t AND u.property = k.p AND u.value = k.v
             WHERE u.account_id = $1",
        )
        .bind(account.0)
        .bind(&u_types)
        .bind(&u_props)
        .bind(&u_values)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for (t, p, v, id) in rows {
            by_unique.insert((stored_type_id(&t)?, p, v), id);
        }
    }
    let mut resolved = Vec::with_capacity(completions.len());
    let mut missing = Vec::new();
    for (index, c) in completions.iter().enumerate() {
        let outcome = resolve(
            Priority::CustomEvents,
            &c.record,
            None,
            None,
            |record| -> Result<_, StoreError> {
                Ok(match record {
                    RecordRef::Id(ObjectId(id)) => live
                        .contains(&(*id, c.object_type_id))
                        .then_some(ObjectId(*id)),
                    RecordRef::Utk(utk) => by_utk.get(utk).copied().map(ObjectId),
                    RecordRef::Unique(v) => by_unique
                        .get(&(c.object_type_id, v.property.clone(), v.value.clone()))
                        .copied()
                        .map(ObjectId),
                    RecordRef::Email(_) => None,
                })
            },
        )?;
        let found = match outcome {
            Outcome::Record { id, .. } => Some(Some(id.0)),
            Outcome::ContactByEmail { .. } => Some(None),
            Outcome::AwaitUtk(_) | Outcome::NotFound => None,
        };
        match found {
            Some(r) => resolved.push(r),
            None => missing.push(index),
        }
    }
    if missing.is_empty() {
        Ok(Ok(resolved))
    } else {
        Ok(Err(BatchRefusal::RecordsNotFound(missing)))
    }
}

/// Reads the columns of [`CustomEventStore::query_completions`]'s select.
fn completion_row(r: &PgRow) -> Result<StoredCompletion, StoreError> {
    let uuid: Vec<u8> = r.try_get(5).map_err(db)?;
    Ok(StoredCompletion {
        cursor: CompletionCursor {
            occurred_at_ms: r.try_get(4).map_err(db)?,
            seq: r.try_get(0).map_err(db)?,
        },
        definition_id: EventDefinitionId(r.try_get(1).map_err(db)?),
        object_type_id: stored_type_id(r.try_get(2).map_err(db)?)?,
        object_id: ObjectId(r.try_get(3).map_err(db)?),
        uuid: occurrence_id::decode(&uuid),
        properties: r
            .try_get::<Json<std::collections::BTreeMap<String, String>>, _>(6)
            .map_err(db)?
            .0,
    })
}
