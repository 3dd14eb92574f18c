//! `/crm/v3/objects/…`, `/crm/v3/properties/…` and `/crm-object-schemas/v3/schemas/…` (also
//! served at `/crm/v3/schemas/…`): HubSpot's CRM record store (api-reference §5).
//!
//! - `objects.rs`: create, get, update, archive, list, and the batch endpoints;
//! - `search.rs`: search;
//! - `properties.rs`: property definitions;
//! - `schemas.rs`: custom object schemas;
//! - `timeline.rs`: a record's timeline (custom events, timeline events and app events).
//!
//! Every route resolves its `{objectType}` with `crate::object_types` (standard types by name,
//! singular or plural, or type id; custom objects by `2-<n>` or `p{portalId}_{name}`; app
//! objects) and checks the scope the type needs ([`Access`]); those names are re-exported here
//! for the handlers of this folder.

mod objects;
mod properties;
mod schemas;
mod search;
mod timeline;
pub mod wire;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::object_types::{
    object_scopes, require, resolve_checked, resolve_objects, resolve_type, schema_scopes, Access,
    ResolvedType,
};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(objects::get_page, objects::create))
        .routes(routes!(
            objects::get_by_id,
            objects::update,
            objects::archive
        ))
        .routes(routes!(objects::batch_create))
        .routes(routes!(objects::batch_read))
        .routes(routes!(objects::batch_update))
        .routes(routes!(objects::batch_archive))
        .routes(routes!(search::do_search))
        .routes(routes!(properties::get_all, properties::create))
        .routes(routes!(
            properties::get_by_name,
            properties::update,
            properties::archive
        ))
        .routes(routes!(schemas::get_all, schemas::create))
        .routes(routes!(
            schemas::get_by_id,
            schemas::update,
            schemas::archive
        ))
        .routes(routes!(schemas::create_association))
        .routes(routes!(timeline::get_timeline))
}
