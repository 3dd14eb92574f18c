//! `/account-info/v3/details`: HubSpot's account details for the calling token's account. Any
//! valid Bearer token may read it (HubSpot names no scope), so it is also the cheapest
//! authenticated call there is. The time zone and its offset are the account's (SPEC.md: set by
//! the operator, default UTC).

use axum::extract::State;
use chrono::{Offset, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_account_details))
}

/// HubSpot's `AccountDetailsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetails {
    /// The account id.
    pub portal_id: i64,
    /// Always `STANDARD` in Chronik.
    pub account_type: &'static str,
    /// The account's IANA time zone (default `UTC`).
    pub time_zone: String,
    /// The account's currency.
    pub company_currency: &'static str,
    /// Other currencies (none).
    pub additional_currencies: Vec<String>,
    /// The zone's offset from UTC now, `+01:00`.
    pub utc_offset: String,
    /// The same offset in milliseconds.
    pub utc_offset_milliseconds: i64,
    /// Where the account's UI would be.
    pub ui_domain: &'static str,
    /// Where the data lives.
    pub data_hosting_location: &'static str,
}

/// Details of the calling token's account.
#[utoipa::path(get, path = "/account-info/v3/details", tag = "account-info",
    security(("bearer" = [])),
    responses((status = 200, body = AccountDetails), (status = 401, body = crate::error::ErrorBody)))]
pub async fn get_account_details(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<axum::Json<AccountDetails>, ApiError> {
    let tz = state.account_time_zone(caller.account).await?;
    let offset_seconds = offset_now(tz);
    Ok(axum::Json(AccountDetails {
        portal_id: caller.account.0,
        account_type: "STANDARD",
        time_zone: tz.name().to_owned(),
        company_currency: "USD",
        additional_currencies: Vec::new(),
        utc_offset: format_offset(offset_seconds),
        utc_offset_milliseconds: i64::from(offset_seconds) * 1000,
        ui_domain: "localhost",
        data_hosting_location: "local",
    }))
}

/// The zone's offset from UTC at this moment, in seconds (east positive).
fn offset_now(tz: Tz) -> i32 {
    Utc::now()
        .with_timezone(&tz)
        .offset()
        .fix()
        .local_minus_utc()
}

/// `+HH:MM` / `-HH:MM`, as HubSpot writes `utcOffset`.
fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_written_with_sign_hours_and_minutes() {
        assert_eq!(format_offset(0), "+00:00");
        assert_eq!(format_offset(3600), "+01:00");
        assert_eq!(format_offset(-5 * 3600), "-05:00");
        assert_eq!(format_offset(5 * 3600 + 45 * 60), "+05:45");
        assert_eq!(format_offset(-(3 * 3600 + 30 * 60)), "-03:30");
    }
}
