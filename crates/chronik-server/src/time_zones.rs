//! The time zone each account's dates render in (SPEC.md: the account's, settable by the
//! operator through `PATCH /admin/v1/accounts/{portalId}`, default UTC), kept in memory so
//! that a render costs no store read: [`AppState::account_time_zone`] is the one way in.
//!
//! A zone is kept for [`TIME_ZONE_KEPT_FOR`]. A change made through this node forgets the
//! account's zone at once; a change made through another node sharing the database is seen
//! here once the kept value expires. Rendered dates are not a check any write relies on, so a
//! few seconds of an old zone on another node is the whole cost, and one primary-key read per
//! account and interval is the whole load.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono_tz::Tz;

use chronik_domain::AccountId;
use chronik_store::StoreError;

use crate::error::ApiError;
use crate::settings_cache::{keep, lock};
use crate::state::AppState;

/// How long a node renders with a zone it read before reading it again: the longest a change
/// made through another node goes unseen here.
pub const TIME_ZONE_KEPT_FOR: Duration = Duration::from_secs(10);

/// Accounts whose zones are kept at once; past it the map starts again empty.
pub const MAX_KEPT_TIME_ZONES: usize = 100_000;

/// Time zones by account, each with when it was read.
#[derive(Default)]
pub struct TimeZones {
    kept: Mutex<HashMap<AccountId, (Instant, Tz)>>,
}

impl TimeZones {
    /// The zone kept for `account`, when read less than [`TIME_ZONE_KEPT_FOR`] ago.
    fn get(&self, account: AccountId, now: Instant) -> Option<Tz> {
        lock(&self.kept)
            .get(&account)
            .filter(|(read_at, _)| now.duration_since(*read_at) < TIME_ZONE_KEPT_FOR)
            .map(|(_, tz)| *tz)
    }

    /// Keeps `tz`, read at `read_at`.
    fn keep(&self, account: AccountId, read_at: Instant, tz: Tz) {
        keep(
            &mut lock(&self.kept),
            MAX_KEPT_TIME_ZONES,
            account,
            (read_at, tz),
        );
    }

    /// Forgets what is kept of `account`: its zone changed.
    pub fn forget(&self, account: AccountId) {
        lock(&self.kept).remove(&account);
    }
}

/// The zone a stored name stands for. The server stores only names it parsed, so a name that
/// no longer parses (a zone a later tz database dropped) is logged and rendered as UTC.
pub fn stored_time_zone(account: AccountId, name: &str) -> Tz {
    name.parse().unwrap_or_else(|_| {
        tracing::warn!(account = %account, time_zone = name, "stored time zone is unknown; using UTC");
        Tz::UTC
    })
}

impl AppState {
    /// The time zone `account`'s dates render in, from memory when read less than
    /// [`TIME_ZONE_KEPT_FOR`] ago, else from the store (one primary-key read). 404 when the
    /// account does not exist.
    pub async fn account_time_zone(&self, account: AccountId) -> Result<Tz, ApiError> {
        let now = Instant::now();
        if let Some(tz) = self.time_zones.get(account, now) {
            return Ok(tz);
        }
        let found = self.store.get_account(account).await.map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::not_found(format!("Account (portalId) {account} does not exist."))
            }
            e => e.into(),
        })?;
        let tz = stored_time_zone(account, &found.time_zone);
        self.time_zones.keep(account, now, tz);
        Ok(tz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_kept_until_it_expires_or_is_forgotten() {
        let zones = TimeZones::default();
        let (a, b) = (AccountId(1), AccountId(2));
        let t0 = Instant::now();
        zones.keep(a, t0, Tz::Europe__Berlin);
        assert_eq!(zones.get(a, t0), Some(Tz::Europe__Berlin));
        assert_eq!(zones.get(b, t0), None);
        let almost = t0 + TIME_ZONE_KEPT_FOR - Duration::from_millis(1);
        assert_eq!(zones.get(a, almost), Some(Tz::Europe__Berlin));
        assert_eq!(zones.get(a, t0 + TIME_ZONE_KEPT_FOR), None);
        zones.forget(a);
        assert_eq!(zones.get(a, t0), None);
    }

    #[test]
    fn an_unparsable_stored_name_renders_as_utc() {
        assert_eq!(stored_time_zone(AccountId(1), "Mars/Olympus"), Tz::UTC);
        assert_eq!(
            stored_time_zone(AccountId(1), "America/New_York"),
            Tz::America__New_York
        );
    }
}
