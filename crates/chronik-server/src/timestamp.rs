//! How every instant goes on the wire: RFC 3339 in UTC with exactly three fraction digits
//! (`2026-12-04T03:44:12.000Z`), as HubSpot writes them, whatever precision the store kept.
//! chrono's own `Serialize` drops a zero fraction and writes up to nine digits otherwise, so
//! wire types never use it: their `DateTime<Utc>` fields name this module,
//! `#[serde(serialize_with = "crate::timestamp::serialize")]` (or
//! `crate::timestamp::serialize_option` for an optional one).
//!
//! The format itself is `chronik_domain::crm::property::format_datetime`, which also writes
//! CRM datetime values and custom event `occurredAt`, so there is one definition of it.

use chronik_domain::crm::property::format_datetime;
use chrono::{DateTime, Utc};
use serde::Serializer;

/// Writes `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_datetime(*t))
}

/// Writes `Some(t)` as [`serialize`] does and `None` as `null` (pair it with
/// `skip_serializing_if = "Option::is_none"` where HubSpot leaves the field out).
pub fn serialize_option<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Wire {
        #[serde(serialize_with = "serialize")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "serialize_option")]
        maybe: Option<DateTime<Utc>>,
    }

    fn json(at: DateTime<Utc>, maybe: Option<DateTime<Utc>>) -> String {
        serde_json::to_string(&Wire { at, maybe }).expect("serializes")
    }

    #[test]
    fn a_whole_second_keeps_three_zero_digits() {
        let t = Utc.with_ymd_and_hms(2026, 12, 4, 3, 44, 12).unwrap();
        assert_eq!(
            json(t, None),
            r#"{"at":"2026-12-04T03:44:12.000Z","maybe":null}"#
        );
    }

    #[test]
    fn sub_millisecond_precision_is_cut_to_three_digits() {
        let t = Utc.timestamp_nanos(1_796_355_852_123_456_789);
        assert_eq!(
            json(t, Some(t)),
            r#"{"at":"2026-12-04T03:44:12.123Z","maybe":"2026-12-04T03:44:12.123Z"}"#
        );
    }
}
