//! The completions of `scripts/bench events`, shared by `events_load.rs` (which sends them) and
//! `events_floor.rs` (which inserts the same rows without HTTP): completion `n` has the same
//! time, uuid and properties in both.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

/// splitmix64: cheap, good enough for varied values, and no dependency.
pub struct Rng(pub u64);

impl Rng {
    /// The generator of completion `n`: the same `n` gives the same values everywhere.
    pub fn for_completion(n: u64) -> Self {
        Rng(0x0e7e_a7ce_0000_0000 ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

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

    /// A random version-4 UUID in its canonical form.
    pub fn uuid_v4(&mut self) -> String {
        let (hi, lo) = (self.next(), self.next());
        let hi = (hi & !0xf000) | 0x4000; // version 4
        let lo = (lo & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }
}

pub const PLANS: [&str; 3] = ["free", "pro", "team"];
pub const SOURCES: [&str; 5] = ["ads", "email", "organic", "referral", "social"];
/// The hs_city values; get-page-property filters on one of them (one word each, so no URL
/// encoding is needed).
#[rustfmt::skip]
pub const CITIES: [&str; 50] = [
    "Amsterdam", "Athens", "Austin", "Bangkok", "Barcelona", "Berlin", "Bogota", "Boston",
    "Brussels", "Budapest", "Cairo", "Chicago", "Copenhagen", "Dallas", "Denver", "Dublin",
    "Edinburgh", "Helsinki", "Istanbul", "Jakarta", "Lagos", "Lima", "Lisbon", "London", "Madrid",
    "Manila", "Melbourne", "Miami", "Milan", "Montreal", "Mumbai", "Munich", "Nairobi", "Osaka",
    "Oslo", "Paris", "Prague", "Rome", "Santiago", "Seattle", "Seoul", "Singapore", "Stockholm",
    "Sydney", "Taipei", "Tokyo", "Toronto", "Vienna", "Warsaw", "Zurich",
];
/// The window the completions' times are spread over.
pub const SPREAD_MS: u64 = 30 * 24 * 3600 * 1000;

/// One completion as the generator makes it.
pub struct Generated {
    pub occurred_at: i64,
    pub uuid: String,
    pub plan: &'static str,
    pub seats: u64,
    pub source: &'static str,
    pub city: &'static str,
    pub page: u64,
}

pub fn generate(n: u64, now_ms: i64) -> Generated {
    let mut rng = Rng::for_completion(n);
    Generated {
        occurred_at: now_ms - rng.below(SPREAD_MS) as i64,
        uuid: rng.uuid_v4(),
        plan: PLANS[rng.below(3) as usize],
        seats: 1 + rng.below(50),
        source: SOURCES[rng.below(5) as usize],
        city: CITIES[rng.below(50) as usize],
        page: rng.below(1000),
    }
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
