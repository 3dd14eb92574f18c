//! App timeline events: the event types an app defines (timeline events v3 call them event
//! templates and their properties tokens; app events v4 define them in project files) and the
//! events an installed app adds to records' timelines.
//!
//! One model for both APIs (SPEC.md, "v3 templates and v4 event types"):
//! - [`event_type`]: [`EventTypeDefinition`](event_type::EventTypeDefinition), its typed
//!   [`EventProperty`](event_type::EventProperty)s (some stamping a CRM property), the limits
//!   and name rules, and the changes the v3 endpoints make step by step (add, change or remove
//!   a token; replace the whole template).
//! - [`event`]: the rules one event is checked by against its type: its id, its property
//!   values, its `timelineIFrame`, the size limits, and which CRM properties it stamps.
//!
//! Rendering is [`crate::render`]; which record an event belongs to is
//! [`crate::association`] with [`Priority::TimelineV3`](crate::association::Priority).

pub mod event;
pub mod event_type;

/// The scope an install's access token needs to create timeline events (seed: timeline events
/// v3, and SPEC.md "Tenancy and authentication").
pub const TIMELINE_SCOPE: &str = "timeline";
