//! The timeline events of `scripts/bench timeline`, shared by `timeline_load.rs` (which sends
//! them over HTTP) and `timeline_floor.rs` (which inserts the same rows without HTTP): event
//! `n` has the same id, time, contact and token values in both.
//!
//! The bench template (made by `scripts/bench`, `provision_timeline`) has five tokens: `plan`
//! (enumeration of [`PLANS`]), `seats` (number), `source` (string), `page` (string) and
//! `jobTitle` (string, `objectPropertyName: jobtitle`: every event stamps its contact's job
//! title, the newest event winning).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

/// splitmix64: cheap, good enough for varied values, and no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub const PLANS: [&str; 3] = ["free", "pro", "team"];
pub const SOURCES: [&str; 5] = ["ads", "email", "organic", "referral", "social"];
/// The window the events' times are spread over.
pub const SPREAD_MS: u64 = 30 * 24 * 3600 * 1000;
/// The CRM property the `jobTitle` token stamps.
#[allow(dead_code)] // timeline_floor's; timeline_load sends the token, the template names it
pub const STAMPED_PROPERTY: &str = "jobtitle";

/// One event as the generator makes it.
pub struct Generated {
    /// The event id: unique per run (`n` and a run tag), at most 40 bytes.
    pub id: String,
    pub occurred_at: i64,
    pub plan: &'static str,
    pub seats: u64,
    pub source: &'static str,
    pub page: u64,
    pub job_title: u64,
}

pub fn generate(n: u64, now_ms: i64) -> Generated {
    let mut rng = Rng(0x7111_e11e_0000_0000 ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
    Generated {
        id: format!("bench-{n}-{:016x}", rng.next()),
        occurred_at: now_ms - rng.below(SPREAD_MS) as i64,
        plan: PLANS[rng.below(3) as usize],
        seats: 1 + rng.below(50),
        source: SOURCES[rng.below(5) as usize],
        page: rng.below(1000),
        job_title: rng.below(200),
    }
}

impl Generated {
    /// The token values as the server stores them (numbers as strings), by name.
    #[allow(dead_code)] // timeline_floor's; timeline_load writes them into its JSON itself
    pub fn tokens(&self) -> [(&'static str, String); 5] {
        [
            ("plan", self.plan.to_owned()),
            ("seats", self.seats.to_string()),
            ("source", self.source.to_owned()),
            ("page", format!("Pricing page {}", self.page)),
            ("jobTitle", self.job_title_value()),
        ]
    }

    /// The stamped value.
    pub fn job_title_value(&self) -> String {
        format!("Engineer {}", self.job_title)
    }
}

/// Which contact (0-based) of `contacts` event `n` of `events` goes to. With `hot` 0: round
/// robin, so the first `contacts` events each create their contact and the rest find one.
/// Otherwise contact 0 gets every `events / hot`-th event (`hot` in all, spread evenly over the
/// run) and the others go round robin over contacts 1 and up.
pub fn contact_of(n: u64, events: u64, contacts: u64, hot: u64) -> u64 {
    if hot == 0 {
        return n % contacts;
    }
    let stride = (events / hot).max(1);
    if n.is_multiple_of(stride) {
        0
    } else {
        1 + n % (contacts - 1).max(1)
    }
}

/// Contact `c`'s email.
pub fn email(c: u64) -> String {
    format!("t{c}@timeline.bench.example")
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> anyhow::Result<i64> {
    Ok(i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_millis(),
    )?)
}
