//! The `formatDate` block helper: `{{#formatDate timestamp}}{{/formatDate}}` writes an epoch
//! millisecond value as a date in the account's time zone (SPEC.md: "time zone of rendered
//! dates").
//!
//! Formats, as HubSpot's legacy timeline rendering page and its v3 spec examples show them:
//! - no `format` (Java's MEDIUM style in the current CLDR form): `Jan 30, 2020, 1:13:25 PM`;
//! - `format="short"`: `1/30/20, 1:13 PM`.
//!
//! The legacy page says further formats exist, but the list could not be confirmed, so any
//! other `format` is refused when the template is saved ([`SUPPORTED_FORMATS`]).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use handlebars::{Context, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError};

/// The helper's name as templates call it.
pub const HELPER_NAME: &str = "formatDate";

/// The values `format="…"` may take; anything else is refused at compile time.
pub const SUPPORTED_FORMATS: &[&str] = &["short"];

/// The key of the render data under which the time zone travels to the helper. It starts with
/// a NUL, which no token name can contain, so no token can shadow it.
pub(super) const TIME_ZONE_KEY: &str = "\u{0}timeZone";

/// One of the date forms the helper writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `Jan 30, 2020, 1:13:25 PM` (the default).
    Medium,
    /// `1/30/20, 1:13 PM` (`format="short"`).
    Short,
}

impl DateFormat {
    /// The format a `format="…"` value names, if it is one we support.
    pub fn parse(value: &str) -> Option<DateFormat> {
        match value {
            "short" => Some(DateFormat::Short),
            _ => None,
        }
    }
}

/// Formats epoch milliseconds in `tz`; `None` when the instant is out of chrono's range.
pub fn format_epoch_millis(epoch_ms: i64, tz: Tz, format: DateFormat) -> Option<String> {
    let utc: DateTime<Utc> = DateTime::from_timestamp_millis(epoch_ms)?;
    let local = tz.from_utc_datetime(&utc.naive_utc());
    let pattern = match format {
        DateFormat::Medium => "%b %-d, %Y, %-I:%M:%S %p",
        DateFormat::Short => "%-m/%-d/%y, %-I:%M %p",
    };
    Some(local.format(pattern).to_string())
}

/// Reads an epoch millisecond value from a JSON value: a number, or a string of digits (token
/// values are stored as strings, so a `date` token arrives as one).
fn epoch_millis(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The helper itself; registered once in the shared registry.
pub(super) struct FormatDate;

impl HelperDef for FormatDate {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _r: &'reg handlebars::Handlebars<'reg>,
        ctx: &'rc Context,
        _rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        // A missing or unreadable value renders empty, like any missing path (non-strict).
        let Some(ms) = h.param(0).and_then(|p| epoch_millis(p.value())) else {
            return Ok(());
        };
        let format = h
            .hash_get("format")
            .and_then(|v| v.value().as_str())
            .and_then(DateFormat::parse)
            .unwrap_or(DateFormat::Medium);
        let tz = ctx
            .data()
            .get(TIME_ZONE_KEY)
            .and_then(|v| v.as_str())
            .and_then(|name| name.parse::<Tz>().ok())
            .unwrap_or(Tz::UTC);
        if let Some(text) = format_epoch_millis(ms, tz, format) {
            out.write(&text)
                .map_err(|e| RenderError::from(handlebars::RenderErrorReason::IOError(e)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2020-01-30T18:13:25.665Z, the instant of HubSpot's PetSpot example.
    const PETSPOT_MS: i64 = 1_580_408_005_665;

    #[test]
    fn medium_is_hubspots_current_default_form() {
        let s = format_epoch_millis(PETSPOT_MS, chrono_tz::America::New_York, DateFormat::Medium);
        insta::assert_snapshot!(s.unwrap(), @"Jan 30, 2020, 1:13:25 PM");
    }

    #[test]
    fn short_has_two_digit_year_and_no_seconds() {
        let s = format_epoch_millis(PETSPOT_MS, chrono_tz::America::New_York, DateFormat::Short);
        insta::assert_snapshot!(s.unwrap(), @"1/30/20, 1:13 PM");
    }

    #[test]
    fn utc_and_a_far_zone_differ_by_the_offset() {
        let utc = format_epoch_millis(PETSPOT_MS, Tz::UTC, DateFormat::Medium).unwrap();
        let tokyo =
            format_epoch_millis(PETSPOT_MS, chrono_tz::Asia::Tokyo, DateFormat::Short).unwrap();
        insta::assert_snapshot!(format!("{utc} | {tokyo}"), @"Jan 30, 2020, 6:13:25 PM | 1/31/20, 3:13 AM");
    }

    #[test]
    fn midnight_and_noon_use_twelve() {
        let midnight = format_epoch_millis(0, Tz::UTC, DateFormat::Medium).unwrap();
        let noon = format_epoch_millis(12 * 3_600_000, Tz::UTC, DateFormat::Short).unwrap();
        insta::assert_snapshot!(format!("{midnight} | {noon}"), @"Jan 1, 1970, 12:00:00 AM | 1/1/70, 12:00 PM");
    }

    #[test]
    fn out_of_range_instant_formats_nothing() {
        assert_eq!(
            format_epoch_millis(i64::MAX, Tz::UTC, DateFormat::Medium),
            None
        );
    }

    #[test]
    fn epoch_millis_reads_numbers_and_digit_strings_only() {
        assert_eq!(epoch_millis(&serde_json::json!(5)), Some(5));
        assert_eq!(
            epoch_millis(&serde_json::json!("1580408005665")),
            Some(PETSPOT_MS)
        );
        assert_eq!(epoch_millis(&serde_json::json!("soon")), None);
        assert_eq!(epoch_millis(&serde_json::json!(null)), None);
    }

    #[test]
    fn only_short_is_a_named_format() {
        assert_eq!(DateFormat::parse("short"), Some(DateFormat::Short));
        assert_eq!(DateFormat::parse("long"), None);
        assert_eq!(SUPPORTED_FORMATS, &["short"]);
    }
}
