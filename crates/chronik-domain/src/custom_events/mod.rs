//! Custom behavioral events (seed: custom events; api-reference §1; SPEC.md decisions):
//! event definitions with their properties, and the rules a completion must pass before it is
//! stored.
//!
//! - [`definition`]: names, labels, primary objects, property definitions, the default event
//!   properties, custom matching ids.
//! - [`completion`]: property folding and the duplicate rule, the per-completion limits, value
//!   checks by type, attribution values, `occurredAt`.

pub mod completion;
pub mod definition;

/// The scope `POST /events/v3/send` needs (SPEC.md).
pub const SEND_SCOPE: &str = "analytics.behavioral_events.send";

/// The scope the event definitions API needs (SPEC.md).
pub const DEFINITIONS_SCOPE: &str = "behavioral_events.event_definitions.read_write";

/// Any one of these lets a caller read completions (`/events/v3/events*`; SPEC.md).
pub const READ_SCOPES: &[&str] = &["oauth", SEND_SCOPE, DEFINITIONS_SCOPE];
