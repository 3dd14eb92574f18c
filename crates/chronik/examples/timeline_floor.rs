//! The floor of `scripts/bench timeline`: the timeline events `timeline_load` creates, inserted
//! straight into Chronik's schema with rusqlite or sqlx: no HTTP, no auth, no validation, no
//! template checks, no email lookups. The ratio of Chronik's events/s to this one's says what
//! Chronik's own work costs. `scripts/bench` also fills the store of the timeline read with it
//! (`--hot`: one contact with many events among many).
//!
//! ```text
//! cargo run --release --example timeline_floor -p chronik -- --sqlite DIR --account A --type-id T
//! cargo run --release --example timeline_floor -p chronik -- --postgres URL --account A --type-id T
//! ```
//!
//! The store must exist and hold the account and the template (`scripts/bench` provisions both
//! over HTTP with Chronik, then stops it and runs the floor on its storage), so the floor writes
//! into exactly the schema and state Chronik starts from. Per event, the rows
//! `store_timeline_events` writes (`chronik-store/src/{sqlite,postgres}/timeline*`): for the
//! first event of a contact, the contact (`crm_objects`, with its email and the stamped job
//! title) and its email claim (`crm_unique_values`); the event (`timeline_events`, its body the
//! `EventBody` JSON the server stores, `ON CONFLICT DO NOTHING`); its stamp (`timeline_stamps`,
//! replaced only by a newer event); and for a contact that existed, when the stamp was replaced,
//! its `jobtitle` (`UPDATE crm_objects`; the store also appends to the property history, the
//! floor does not). Which contact an event goes to is known before the clock starts (the
//! generator decides it, and the floor reserves the contact ids up front), where Chronik looks
//! the email up. The events are `timeline_load`'s (same generator, `timeline_rows`), built
//! before the clock starts, in transactions of `--batch` (500) events.
//!
//! - SQLite: one connection with the writer's pragmas (WAL, `synchronous=FULL`, foreign keys),
//!   one transaction after another, a prepared statement per row as the store does; the store
//!   stays open (idle) so its checkpointer runs as it does for the server.
//! - PostgreSQL: `--connections` connections, each committing its own transactions as the
//!   server's pool does; each transaction is three multi-row statements (contacts, claims, and
//!   events with their stamps and the stamped properties in one).
//!
//! Prints `BENCH phase=floor backend=… records=… duration_us=… records_per_s=… complete=…
//! hot_contact_id=…` (the id of contact 0).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chronik_domain::timeline::event::EventBody;
#[path = "timeline_rows/mod.rs"]
mod timeline_rows;

use clap::Parser;
use timeline_rows::{contact_of, email, generate, now_ms, STAMPED_PROPERTY};

#[derive(Debug, Parser)]
#[command(about = "Raw insert of the timeline events timeline_load creates, without HTTP")]
struct Args {
    /// The data directory of a provisioned SQLite store (no server running on it).
    #[arg(
        long,
        conflicts_with = "postgres",
        required_unless_present = "postgres"
    )]
    sqlite: Option<PathBuf>,
    /// A PostgreSQL URL (127.0.0.1) whose search_path names a provisioned schema.
    #[arg(long, env = "TIMELINE_FLOOR_DATABASE_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// The account (portalId) the events go to.
    #[arg(long)]
    account: i64,
    /// The template (eventTemplateId) of the events.
    #[arg(long)]
    type_id: i64,
    /// Events to insert.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Contacts the events go to (created by their first event).
    #[arg(long, default_value_t = 160_000)]
    contacts: u64,
    /// Events of contact 0, spread over the run (0: plain round robin).
    #[arg(long, default_value_t = 0)]
    hot: u64,
    /// Events per transaction.
    #[arg(long, default_value_t = 500)]
    batch: u64,
    /// PostgreSQL connections inserting at once.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Stop after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
}

/// One event as the store receives it, its contact decided.
struct Row {
    event_id: String,
    occurred_at: i64,
    /// The contact's id.
    object_id: i64,
    /// The contact's email, when this event creates it.
    creates: Option<String>,
    body: String,
    stamp: String,
}

/// The events, with contact `c` getting id `first_object_id + c`.
fn rows(args: &Args, first_object_id: i64, now: i64) -> anyhow::Result<Vec<Row>> {
    let mut seen = vec![false; args.contacts as usize];
    (0..args.events)
        .map(|n| {
            let g = generate(n, now);
            let c = contact_of(n, args.events, args.contacts, args.hot);
            let first = !std::mem::replace(&mut seen[c as usize], true);
            let address = email(c);
            let body = EventBody {
                tokens: g
                    .tokens()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                extra_data: None,
                timeline_iframe: None,
                email: Some(address.clone()),
                utk: None,
                domain: None,
            };
            Ok(Row {
                event_id: g.id.clone(),
                occurred_at: g.occurred_at,
                object_id: first_object_id + i64::try_from(c)?,
                creates: first.then_some(address),
                body: serde_json::to_string(&body)?,
                stamp: g.job_title_value(),
            })
        })
        .collect()
}

/// A contact's properties as the store creates it: its email and the stamped value.
fn contact_properties(email: &str, stamp: &str) -> anyhow::Result<String> {
    let properties =
        std::collections::BTreeMap::from([("email", email), (STAMPED_PROPERTY, stamp)]);
    Ok(serde_json::to_string(&properties)?)
}

struct Outcome {
    records: u64,
    elapsed: Duration,
    hot_contact_id: i64,
}

fn sqlite(args: &Args, dir: PathBuf) -> anyhow::Result<Outcome> {
    use rusqlite::params;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = runtime
        .block_on(chronik_store::sqlite::SqliteStore::open(dir.clone()))
        .context("could not open the store")?;
    let conn = rusqlite::Connection::open(dir.join(chronik_store::sqlite::DATABASE_FILE))?;
    conn.execute_batch(&chronik_store::sqlite::writer_pragmas())?;
    let now = now_ms()?;
    // The contact ids, reserved up front (the store takes them one by one in its job).
    let last_object: i64 = conn.query_row(
        "SELECT last_value FROM id_sequences WHERE name = 'object'",
        [],
        |r| r.get(0),
    )?;
    let first_object_id = last_object + 1;
    let mut seq: i64 = conn.query_row(
        "SELECT last_value FROM id_sequences WHERE name = 'timeline_seq'",
        [],
        |r| r.get(0),
    )?;
    let rows = rows(args, first_object_id, now)?;
    let mut last_object_taken = last_object;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut done = 0;
    for chunk in rows.chunks(args.batch as usize) {
        if Instant::now() >= deadline {
            break;
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut contact = conn.prepare_cached(
            "INSERT INTO crm_objects
                 (account_id, object_id, object_type_id, properties, created_at, updated_at)
             VALUES (?1, ?2, '0-1', ?3, ?4, ?4)",
        )?;
        let mut claim = conn.prepare_cached(
            "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
             VALUES (?1, '0-1', 'email', ?2, ?3)",
        )?;
        let mut event = conn.prepare_cached(
            "INSERT INTO timeline_events
                 (seq, account_id, event_type_id, event_id, object_type_id, object_id, utk,
                  occurred_at, body, created_at)
             VALUES (?1, ?2, ?3, ?4, '0-1', ?5, NULL, ?6, ?7, ?8)
             ON CONFLICT (account_id, event_type_id, event_id) DO NOTHING",
        )?;
        let mut stamp = conn.prepare_cached(
            "INSERT INTO timeline_stamps
                 (account_id, object_type_id, object_id, property, occurred_at, seq,
                  event_type_id, event_id, value)
             VALUES (?1, '0-1', ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (account_id, object_type_id, object_id, property) DO UPDATE SET
                 occurred_at = excluded.occurred_at, seq = excluded.seq,
                 event_type_id = excluded.event_type_id, event_id = excluded.event_id,
                 value = excluded.value
             WHERE (excluded.occurred_at, excluded.seq)
                 > (timeline_stamps.occurred_at, timeline_stamps.seq)",
        )?;
        let mut stamped = conn.prepare_cached(
            "UPDATE crm_objects SET properties = json_set(properties, '$.jobtitle', ?3),
                 updated_at = ?4
             WHERE account_id = ?1 AND object_id = ?2",
        )?;
        for r in chunk {
            if event.execute(params![
                seq + 1,
                args.account,
                args.type_id,
                r.event_id,
                r.object_id,
                r.occurred_at,
                r.body,
                now
            ])? == 0
            {
                continue;
            }
            seq += 1;
            if let Some(address) = &r.creates {
                contact.execute(params![
                    args.account,
                    r.object_id,
                    contact_properties(address, &r.stamp)?,
                    now
                ])?;
                claim.execute(params![args.account, address, r.object_id])?;
                last_object_taken = last_object_taken.max(r.object_id);
            }
            let replaced = stamp.execute(params![
                args.account,
                r.object_id,
                STAMPED_PROPERTY,
                r.occurred_at,
                seq,
                args.type_id,
                r.event_id,
                r.stamp
            ])? > 0;
            if replaced && r.creates.is_none() {
                stamped.execute(params![args.account, r.object_id, r.stamp, now])?;
            }
        }
        let mut sequence =
            conn.prepare_cached("UPDATE id_sequences SET last_value = ?2 WHERE name = ?1")?;
        sequence.execute(params!["timeline_seq", seq])?;
        sequence.execute(params!["object", last_object_taken])?;
        drop((contact, claim, event, stamp, stamped, sequence));
        conn.execute_batch("COMMIT")?;
        store.restart_wal_if_asked(&conn)?;
        done += chunk.len() as u64;
    }
    Ok(Outcome {
        records: done,
        elapsed: started.elapsed(),
        hot_contact_id: first_object_id,
    })
}

async fn postgres(args: &Args, url: &str) -> anyhow::Result<Outcome> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(args.connections)
        .connect(url)
        .await?;
    let now = now_ms()?;
    // The contact ids, reserved up front.
    let contacts = i64::try_from(args.contacts)?;
    let first_object_id: i64 =
        sqlx::query_scalar("SELECT setval('object_ids', nextval('object_ids') + $1 - 1) - $1 + 1")
            .bind(contacts)
            .fetch_one(&pool)
            .await?;
    let rows = Arc::new(rows(args, first_object_id, now)?);

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let batches = args.events.div_ceil(args.batch);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (pool, next, rows) = (pool.clone(), Arc::clone(&next), Arc::clone(&rows));
        let (batch, account, type_id) = (args.batch, args.account, args.type_id);
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let first = (b * batch) as usize;
                let chunk = &rows[first..(first + batch as usize).min(rows.len())];
                let (mut new_ids, mut new_properties, mut new_emails) =
                    (Vec::new(), Vec::new(), Vec::new());
                let (mut ids, mut objects, mut times, mut bodies) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for r in chunk {
                    if let Some(address) = &r.creates {
                        new_ids.push(r.object_id);
                        new_properties.push(contact_properties(address, &r.stamp)?);
                        new_emails.push(address.as_str());
                    }
                    ids.push(r.event_id.as_str());
                    objects.push(r.object_id);
                    times.push(r.occurred_at);
                    bodies.push(r.body.as_str());
                }
                let mut tx = pool.begin().await?;
                if !new_ids.is_empty() {
                    sqlx::query(
                        "INSERT INTO crm_objects
                             (account_id, object_id, object_type_id, properties, created_at,
                              updated_at)
                         SELECT $1, o, '0-1', p::jsonb, $4, $4
                         FROM unnest($2::bigint[], $3::text[]) AS x(o, p)",
                    )
                    .bind(account)
                    .bind(&new_ids)
                    .bind(&new_properties)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO crm_unique_values
                             (account_id, object_type_id, property, value, object_id)
                         SELECT $1, '0-1', 'email', e, o
                         FROM unnest($2::text[], $3::bigint[]) AS x(e, o)",
                    )
                    .bind(account)
                    .bind(&new_emails)
                    .bind(&new_ids)
                    .execute(&mut *tx)
                    .await?;
                }
                // The events; per contact the newest of them stamps (one row per contact: an
                // upsert may not touch a row twice); the contacts that existed get the value
                // when their stamp was replaced.
                sqlx::query(
                    "WITH ev AS (
                         INSERT INTO timeline_events
                             (account_id, event_type_id, event_id, object_type_id, object_id,
                              occurred_at_ms, body, created_at)
                         SELECT $1, $2, i, '0-1', o, at, b::jsonb, $7
                         FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::text[])
                             WITH ORDINALITY AS x(i, o, at, b, n)
                         ORDER BY n
                         ON CONFLICT DO NOTHING
                         RETURNING object_id, occurred_at_ms, seq, event_id,
                                   body->'tokens'->>'jobTitle' AS value),
                     newest AS (
                         SELECT DISTINCT ON (object_id) * FROM ev
                         ORDER BY object_id, occurred_at_ms DESC, seq DESC),
                     st AS (
                         INSERT INTO timeline_stamps
                             (account_id, object_type_id, object_id, property, occurred_at_ms,
                              seq, event_type_id, event_id, value)
                         SELECT $1, '0-1', object_id, 'jobtitle', occurred_at_ms, seq, $2,
                                event_id, value
                         FROM newest
                         ON CONFLICT (account_id, object_type_id, object_id, property)
                         DO UPDATE SET occurred_at_ms = excluded.occurred_at_ms,
                             seq = excluded.seq, event_type_id = excluded.event_type_id,
                             event_id = excluded.event_id, value = excluded.value
                         WHERE (excluded.occurred_at_ms, excluded.seq)
                             > (timeline_stamps.occurred_at_ms, timeline_stamps.seq)
                         RETURNING object_id, value)
                     UPDATE crm_objects o
                     SET properties = jsonb_set(o.properties, '{jobtitle}', to_jsonb(st.value)),
                         updated_at = $7
                     FROM st
                     WHERE o.account_id = $1 AND o.object_id = st.object_id
                       AND NOT (st.object_id = ANY($8::bigint[]))",
                )
                .bind(account)
                .bind(type_id)
                .bind(&ids)
                .bind(&objects)
                .bind(&times)
                .bind(&bodies)
                .bind(now)
                .bind(&new_ids)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                done += chunk.len() as u64;
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
        hot_contact_id: first_object_id,
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.batch == 0 || args.connections == 0 || args.contacts < 2 || args.events == 0 {
        bail!("--batch, --connections and --events must be at least 1, --contacts at least 2");
    }
    if args.hot > args.events {
        bail!("--hot must not exceed --events");
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
        "BENCH phase=floor backend={backend} records={} duration_us={} records_per_s={:.1} complete={} hot_contact_id={}",
        outcome.records,
        outcome.elapsed.as_micros(),
        outcome.records as f64 / secs,
        u8::from(outcome.records == args.events),
        outcome.hot_contact_id,
    );
    Ok(())
}
