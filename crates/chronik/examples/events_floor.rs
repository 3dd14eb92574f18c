//! The floor of `scripts/bench events`: the completions `events_load` sends, inserted straight
//! into Chronik's schema with rusqlite or sqlx: no HTTP, no auth, no validation, no record
//! lookups. The ratio of Chronik's completions/s to this one's says what Chronik's own work
//! costs.
//!
//! ```text
//! cargo run --release --example events_floor -p chronik -- --sqlite DIR
//! cargo run --release --example events_floor -p chronik -- --postgres URL --connections 16
//! ```
//!
//! The schema is made by opening the store once (so its migrations run), then closed. The rows
//! are the ones `store_completions` writes (`chronik-store/src/{sqlite,postgres}/custom_events.rs`):
//! a row per completion with the same columns (the uuid in its 16-byte stored form from
//! `occurrence_id::encode`, the properties as the JSON object the server stores, on SQLite with
//! their `property_bits`), and the `event_usage` upsert once per transaction, in transactions
//! of `--batch` (500) rows. On SQLite the rows are staged (`event_completions_staged`, with
//! the writer's check that each occurrence id is new: a set in memory and a lookup in the
//! indexed table) and the store's merger copies them into the indexed table in the background,
//! as it does for the server; the rate counts the staging, and the floor then waits for the
//! merger (`settled_us`: from the first row until every row is indexed). On PostgreSQL they go
//! to `event_completions` with `ON CONFLICT DO NOTHING`. The completions are `events_load`'s
//! (same generator, contact ids 1 to `--contacts` round robin, one definition id) and are built
//! before the clock starts, as `events_load` builds its request bodies.
//!
//! - SQLite: one connection with the writer's pragmas (WAL, `synchronous=FULL`, foreign keys),
//!   one transaction after another, a prepared INSERT per row as the store does.
//! - PostgreSQL: `--connections` connections, each committing its own transactions, as the
//!   server's pool does; each transaction is the store's unnest INSERT and the usage upsert.
//!
//! Prints `BENCH phase=floor backend=… records=… duration_us=… records_per_s=… complete=…` and,
//! on SQLite, ` settled_us=…`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chronik_store::{occurrence_id, property_bits, Store};
#[path = "events_rows/mod.rs"]
mod events_rows;

use clap::Parser;
use events_rows::{generate, now_ms};

#[derive(Debug, Parser)]
#[command(about = "Raw insert of the completions events_load sends, without HTTP")]
struct Args {
    /// A fresh data directory for an SQLite database.
    #[arg(
        long,
        conflicts_with = "postgres",
        required_unless_present = "postgres"
    )]
    sqlite: Option<PathBuf>,
    /// A PostgreSQL URL (127.0.0.1) whose search_path names a fresh schema.
    #[arg(long, env = "EVENTS_FLOOR_DATABASE_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// Completions to insert.
    #[arg(long, default_value_t = 1_000_000)]
    completions: u64,
    /// Contacts the completions go to, round robin.
    #[arg(long, default_value_t = 10_000)]
    contacts: u64,
    /// Rows per transaction.
    #[arg(long, default_value_t = 500)]
    batch: u64,
    /// PostgreSQL connections inserting at once.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Stop after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
}

/// The objectTypeId of contacts, the bench event's primary object.
const CONTACTS: &str = "0-1";
/// The definition id the rows name (no row backs it: the completion tables have no foreign keys).
const DEFINITION: i64 = 1;

/// One completion as the store receives it.
struct Row {
    object_id: i64,
    occurred_at: i64,
    uuid: String,
    properties_json: String,
    property_bits: Option<i64>,
}

/// Completion `n`, as `events_load` sends it and the server stores it: properties by name
/// (the server keeps them in a sorted map), every value a string.
fn row(n: u64, contacts: u64, now_ms: i64) -> anyhow::Result<Row> {
    let g = generate(n, now_ms);
    let properties = BTreeMap::from([
        ("plan", g.plan.to_owned()),
        ("seats", g.seats.to_string()),
        ("source", g.source.to_owned()),
        ("hs_city", g.city.to_owned()),
        ("hs_page_title", format!("Pricing page {}", g.page)),
    ]);
    let properties_json = serde_json::to_string(&properties)?;
    Ok(Row {
        object_id: i64::try_from(1 + n % contacts)?,
        occurred_at: g.occurred_at,
        uuid: g.uuid,
        property_bits: property_bits::of_json(&properties_json),
        properties_json,
    })
}

fn rows(args: &Args) -> anyhow::Result<Vec<Row>> {
    let now = now_ms()?;
    (0..args.completions)
        .map(|n| row(n, args.contacts, now))
        .collect()
}

struct Outcome {
    records: u64,
    elapsed: Duration,
    /// SQLite: until the merger had indexed every row.
    settled: Option<Duration>,
}

fn sqlite(args: &Args, dir: PathBuf) -> anyhow::Result<Outcome> {
    use rusqlite::params;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The store stays open (idle) while the floor writes: its checkpointer thread copies the
    // WAL back as it does for the server, the floor's connection has the writer's settings, and
    // the floor restarts the WAL when asked, as the writer does.
    let store = runtime
        .block_on(chronik_store::sqlite::SqliteStore::open(dir.clone()))
        .context("could not create the schema")?;
    let conn = rusqlite::Connection::open(dir.join(chronik_store::sqlite::DATABASE_FILE))?;
    conn.execute_batch(&chronik_store::sqlite::writer_pragmas())?;
    let now = now_ms()?;
    let account: i64 = conn.query_row(
        "UPDATE id_sequences SET last_value = last_value + 1 WHERE name = 'account'
         RETURNING last_value",
        [],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO accounts (account_id, name, created_at) VALUES (?1, 'bench floor', ?2)",
        params![account, now],
    )?;
    let month: i64 =
        conn.query_row("SELECT CAST(strftime('%Y%m', 'now') AS INTEGER)", [], |r| {
            r.get(0)
        })?;
    let rows = rows(args)?;

    // The writer's check that an occurrence id is new: the staged ones in memory, the indexed
    // ones by a lookup in the indexed table, in one read transaction a commit.
    let indexed = rusqlite::Connection::open_with_flags(
        dir.join(chronik_store::sqlite::COMPLETIONS_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut staged: HashSet<Vec<u8>> = HashSet::with_capacity(rows.len());
    let mut seq: i64 = 0;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut done = 0;
    for chunk in rows.chunks(args.batch as usize) {
        if Instant::now() >= deadline {
            break;
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        indexed.execute_batch("BEGIN")?;
        let mut known = indexed.prepare_cached(
            "SELECT 1 FROM event_completions
             WHERE account_id = ?1 AND uuid = ?2 AND definition_id = ?3",
        )?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO event_completions_staged
                 (seq, account_id, definition_id, object_type_id, object_id, occurred_at, uuid,
                  properties, property_bits)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut stored = 0i64;
        for r in chunk {
            let uuid = occurrence_id::encode(&r.uuid);
            if staged.contains(&uuid) || known.exists(params![account, uuid, DEFINITION])? {
                continue;
            }
            seq += 1;
            insert.execute(params![
                seq,
                account,
                DEFINITION,
                CONTACTS,
                r.object_id,
                r.occurred_at,
                uuid,
                r.properties_json,
                r.property_bits,
            ])?;
            staged.insert(uuid);
            stored += 1;
        }
        drop(known);
        indexed.execute_batch("COMMIT")?;
        conn.prepare_cached(
            "INSERT INTO event_usage (account_id, month, completions) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_id, month)
             DO UPDATE SET completions = completions + excluded.completions
             RETURNING completions",
        )?
        .query_row(params![account, month, stored], |r| r.get::<_, i64>(0))?;
        conn.execute_batch("COMMIT")?;
        store.restart_wal_if_asked(&conn)?;
        done += chunk.len() as u64;
    }
    let elapsed = started.elapsed();
    // The merger has copied every staged row into the indexed table (not part of the rate).
    runtime
        .block_on(store.settle())
        .context("the merger did not catch up")?;
    Ok(Outcome {
        records: done,
        elapsed,
        settled: Some(started.elapsed()),
    })
}

async fn postgres(args: &Args, url: &str) -> anyhow::Result<Outcome> {
    let store = chronik_store::postgres::PostgresStore::connect(url, 1)
        .await
        .context("could not create the schema")?;
    drop(store);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(args.connections)
        .connect(url)
        .await?;
    let account: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (name, created_at) VALUES ('bench floor', $1) RETURNING account_id",
    )
    .bind(now_ms()?)
    .fetch_one(&pool)
    .await?;
    let month: i64 =
        sqlx::query_scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')::bigint")
            .fetch_one(&pool)
            .await?;
    let rows = Arc::new(rows(args)?);

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let batches = args.completions.div_ceil(args.batch);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (pool, next, rows) = (pool.clone(), Arc::clone(&next), Arc::clone(&rows));
        let batch = args.batch;
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let first = (b * batch) as usize;
                let chunk = &rows[first..(first + batch as usize).min(rows.len())];
                let n = chunk.len();
                let definition_ids = vec![DEFINITION; n];
                let type_ids = vec![CONTACTS; n];
                let mut ids = Vec::with_capacity(n);
                let mut times = Vec::with_capacity(n);
                let mut uuids = Vec::with_capacity(n);
                let mut properties = Vec::with_capacity(n);
                for r in chunk {
                    ids.push(r.object_id);
                    times.push(r.occurred_at);
                    uuids.push(occurrence_id::encode(&r.uuid));
                    properties.push(r.properties_json.as_str());
                }
                let mut tx = pool.begin().await?;
                let stored = sqlx::query(
                    "INSERT INTO event_completions
                         (account_id, definition_id, object_type_id, object_id, occurred_at, uuid,
                          properties)
                     SELECT $1, d, t, o, at, u, p::jsonb
                     FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[],
                                 $7::text[])
                         WITH ORDINALITY AS x(d, t, o, at, u, p, n)
                     ORDER BY n
                     ON CONFLICT DO NOTHING",
                )
                .bind(account)
                .bind(&definition_ids)
                .bind(&type_ids)
                .bind(&ids)
                .bind(&times)
                .bind(&uuids)
                .bind(&properties)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // The store's usage count: this transaction's shard, and the others' sum.
                let shard = (b % 16) as i16;
                sqlx::query_as::<_, (i64, i64)>(
                    "WITH mine AS (
                         INSERT INTO event_usage (account_id, month, shard, completions)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (account_id, month, shard)
                         DO UPDATE SET completions = event_usage.completions + excluded.completions
                         RETURNING completions)
                     SELECT (SELECT completions FROM mine),
                            (SELECT COALESCE(SUM(completions), 0)::BIGINT FROM event_usage
                             WHERE account_id = $1 AND month = $2 AND shard <> $3)",
                )
                .bind(account)
                .bind(month)
                .bind(shard)
                .bind(i64::try_from(stored)?)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                done += n as u64;
            }
            anyhow::Ok(done)
        }));
    }
    let mut records = 0;
    for w in workers {
        records += w.await??;
    }
    Ok(Outcome {
        records,
        elapsed: started.elapsed(),
        settled: None,
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.batch == 0 || args.connections == 0 || args.contacts == 0 {
        bail!("--batch, --connections and --contacts must be at least 1");
    }
    let (backend, outcome) = match (&args.sqlite, &args.postgres) {
        (Some(dir), _) => ("sqlite", sqlite(&args, dir.clone())?),
        (None, Some(url)) => {
            if !url.contains("@127.0.0.1") && !url.contains("@localhost") {
                bail!("--postgres must point at 127.0.0.1 or localhost");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            ("postgres", runtime.block_on(postgres(&args, url))?)
        }
        (None, None) => bail!("give --sqlite DIR or --postgres URL"),
    };
    let secs = outcome.elapsed.as_secs_f64().max(1e-9);
    let settled = outcome
        .settled
        .map(|d| format!(" settled_us={}", d.as_micros()))
        .unwrap_or_default();
    println!(
        "BENCH phase=floor backend={backend} records={} duration_us={} records_per_s={:.1} complete={}{settled}",
        outcome.records,
        outcome.elapsed.as_micros(),
        outcome.records as f64 / secs,
        u8::from(outcome.records == args.completions)
    );
    Ok(())
}
