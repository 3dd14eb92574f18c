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
