//! The floor of `scripts/bench crm`: the same contacts `crm_load` creates, inserted straight
//! into Chronik's schema with rusqlite or sqlx: no HTTP, no auth, no validation, no rendering.
//! The ratio of Chronik's records/s to this one's says what Chronik's own work costs.
//!
//! ```text
//! cargo run --release --example crm_floor -p chronik -- --sqlite DIR
//! cargo run --release --example crm_floor -p chronik -- --postgres URL --connections 16
//! ```
//!
//! The schema is made by opening the store once (so its migrations run), then closed. Rows are
//! the ones the store's `create_objects` writes for a contact: a `crm_objects` row with the same
//! JSON properties and the `crm_unique_values` claim of its folded email, ids taken the way the
//! store takes them (one `id_sequences` update in SQLite, `nextval` in PostgreSQL), in
//! transactions of `--batch` (100) rows.
//!
//! - SQLite: one connection with the writer's pragmas (WAL, `synchronous=FULL`, foreign keys),
//!   one transaction after another: SQLite has one writer whatever the client does.
//! - PostgreSQL: `--connections` connections, each committing its own transactions, as the
//!   server's pool does; each transaction is the store's statements (ids, claims, records).
//!
//! Prints `BENCH phase=floor backend=… records=… duration_us=… records_per_s=… complete=…`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Raw insert of the contacts crm_load creates, without HTTP")]
struct Args {
    /// A fresh data directory for an SQLite database.
    #[arg(
        long,
        conflicts_with = "postgres",
        required_unless_present = "postgres"
    )]
    sqlite: Option<PathBuf>,
    /// A PostgreSQL URL (127.0.0.1) whose search_path names a fresh schema.
    #[arg(long, env = "CRM_FLOOR_DATABASE_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// Contacts to insert.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Rows per transaction.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// PostgreSQL connections inserting at once.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Stop after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
}

/// The stored properties of contact `n`, as the server stores what `crm_load` sends.
fn properties(n: u64) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("email", format!("c{n}@bench.example")),
        ("firstname", format!("First{n}")),
        ("lastname", format!("Last{n}")),
        ("phone", format!("+1555{n:07}")),
        ("company", format!("Company {}", n % 1000)),
    ])
}

fn now_ms() -> anyhow::Result<i64> {
    Ok(i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_millis(),
    )?)
}

const CONTACTS: &str = "0-1";

struct Outcome {
    records: u64,
    elapsed: Duration,
}

fn sqlite(args: &Args, dir: PathBuf) -> anyhow::Result<Outcome> {
    use rusqlite::params;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = runtime
        .block_on(chronik_store::sqlite::SqliteStore::open(dir.clone()))
        .context("could not create the schema")?;
    drop(store);
    let conn = rusqlite::Connection::open(dir.join(chronik_store::sqlite::DATABASE_FILE))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
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

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut done = 0;
    while done < args.records && Instant::now() < deadline {
        let count = args.batch.min(args.records - done);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let last: i64 = conn
            .prepare_cached(
                "UPDATE id_sequences SET last_value = last_value + ?2 WHERE name = ?1
                 RETURNING last_value",
            )?
            .query_row(params!["object", count], |r| r.get(0))?;
        let mut object = conn.prepare_cached(
            "INSERT INTO crm_objects
                 (account_id, object_id, object_type_id, properties, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?;
        let mut claim = conn.prepare_cached(
            "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
             VALUES (?1, ?2, 'email', ?3, ?4)",
        )?;
        let first_id = last - i64::try_from(count)? + 1;
        for (id, n) in (first_id..).zip(done..done + count) {
            let props = properties(n);
            let json = serde_json::to_string(&props)?;
            object.execute(params![account, id, CONTACTS, json, now])?;
            claim.execute(params![account, CONTACTS, props["email"], id])?;
        }
        conn.execute_batch("COMMIT")?;
        done += count;
    }
    Ok(Outcome {
        records: done,
        elapsed: started.elapsed(),
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

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let batches = args.records.div_ceil(args.batch);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (pool, next) = (pool.clone(), Arc::clone(&next));
        let (records, batch) = (args.records, args.batch);
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let first = b * batch;
                let count = batch.min(records - first);
                let props: Vec<_> = (first..first + count).map(properties).collect();
                let emails: Vec<&str> = props.iter().map(|p| p["email"].as_str()).collect();
                let json = props
                    .iter()
                    .map(serde_json::to_string)
                    .collect::<Result<Vec<_>, _>>()?;
                let now = now_ms()?;
                let mut tx = pool.begin().await?;
                let ids: Vec<i64> =
                    sqlx::query_scalar("SELECT nextval('object_ids') FROM generate_series(1, $1)")
                        .bind(i64::try_from(count)?)
                        .fetch_all(&mut *tx)
                        .await?;
                let properties: Vec<&str> = vec!["email"; emails.len()];
                sqlx::query(
                    "INSERT INTO crm_unique_values
                         (account_id, object_type_id, property, value, object_id)
                     SELECT $1, $2, c.p, c.v, c.o
                     FROM UNNEST($3::text[], $4::text[], $5::bigint[]) AS c(p, v, o)",
                )
                .bind(account)
                .bind(CONTACTS)
                .bind(&properties)
                .bind(&emails)
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO crm_objects
                         (account_id, object_id, object_type_id, properties, created_at, updated_at)
                     SELECT $1, t.o, $2, t.p::jsonb, $3, $3
                     FROM UNNEST($4::bigint[], $5::text[]) AS t(o, p)",
                )
                .bind(account)
                .bind(CONTACTS)
                .bind(now)
                .bind(&ids)
                .bind(&json)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                done += count;
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
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.batch == 0 || args.connections == 0 {
        bail!("--batch and --connections must be at least 1");
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
    println!(
        "BENCH phase=floor backend={backend} records={} duration_us={} records_per_s={:.1} complete={}",
        outcome.records,
        outcome.elapsed.as_micros(),
        outcome.records as f64 / secs,
        u8::from(outcome.records == args.records)
    );
    Ok(())
}
