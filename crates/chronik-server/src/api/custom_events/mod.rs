//! `/events/v3/…`: HubSpot's custom behavioral events (api-reference §1, seed: custom events).
//!
//! - `wire.rs`: HubSpot's request and response shapes for all of them;
//! - `definitions.rs`: `/events/v3/event-definitions` and their properties;
//! - `send.rs`: `POST /events/v3/send` and `/send/batch` (also under the dated prefixes);
//! - `send_cache.rs`: the grants and definitions sends keep between requests;
//! - `read.rs`: `GET /events/v3/events` and `/events/v3/events/event-types`;
//! - `event_type_ids.rs`: the event type ids reads keep between requests.
//!
//! Scopes (SPEC.md): sending needs [`SEND_SCOPE`], definitions need [`DEFINITIONS_SCOPE`],
//! reading takes `oauth` or either of the two ([`READ_SCOPES`]).

mod definitions;
mod event_type_ids;
mod read;
mod send;
mod send_cache;
mod wire;

pub use event_type_ids::EventTypeIds;
pub use send_cache::SendCache;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use chronik_domain::custom_events::{DEFINITIONS_SCOPE, READ_SCOPES, SEND_SCOPE};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(definitions::router())
        .merge(send::router())
        .merge(read::router())
}
