//! `/account-info/v3/details`: HubSpot's account details for the calling token's account. Any
//! valid Bearer token may read it (HubSpot names no scope), so it is also the cheapest
//! authenticated call there is.

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
    /// Chronik accounts run on UTC.
    pub time_zone: &'static str,
    /// The account's currency.
    pub company_currency: &'static str,
    /// Other currencies (none).
    pub additional_currencies: Vec<String>,
    /// `+00:00`.
    pub utc_offset: &'static str,
    /// 0.
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
pub async fn get_account_details(caller: Caller) -> Result<axum::Json<AccountDetails>, ApiError> {
    Ok(axum::Json(AccountDetails {
        portal_id: caller.account.0,
        account_type: "STANDARD",
        time_zone: "UTC",
        company_currency: "USD",
        additional_currencies: Vec::new(),
        utc_offset: "+00:00",
        utc_offset_milliseconds: 0,
        ui_domain: "localhost",
        data_hosting_location: "local",
    }))
}
