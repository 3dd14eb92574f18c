//! `/admin/v1/…`: the operator's provisioning API (SPEC.md, "Tenancy and authentication").
//! Every route needs the admin token ([`crate::auth::Admin`]). `chronik admin …` is a client of
//! exactly these routes.
//!
//! - `accounts.rs`: accounts, private apps, visitors, reset;
//! - `apps.rs`: apps, installs, authorization codes;
//! - `icons.rs`: an app's icon (the only route whose body limit is its own).

mod accounts;
mod apps;
mod icons;
pub mod wire;

pub use icons::ICON_ROUTE;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts::create_account, accounts::list_accounts))
        .routes(routes!(accounts::get_account, accounts::update_account))
        .routes(routes!(accounts::create_private_app))
        .routes(routes!(accounts::link_visitor))
        .routes(routes!(accounts::reset_account))
        .routes(routes!(apps::create_app))
        .routes(routes!(apps::create_install))
        .routes(routes!(apps::create_authorization_code))
        .merge(icons::router())
}
