//! Chronik's domain: the ids, rules and limits of the three HubSpot event APIs and of the
//! tenancy around them. Nothing here knows HTTP or SQL: the server parses wire types into
//! these values, calls the rules, and hands the result to one store method
//! (`chronik-store`).
//!
//! Start at [`ids`] for the vocabulary, [`error`] for how rules report problems and
//! [`tenancy`] for accounts, apps, installs, tokens and scopes.

pub mod app_icon;
pub mod association;
pub mod crm;
pub mod custom_events;
pub mod error;
pub mod ids;
pub mod project;
pub mod render;
pub mod secret;
pub mod tenancy;
pub mod text;
pub mod timeline;

pub use error::{DomainError, Problems, ValidationError};
pub use ids::{AccountId, AppId, EventDefinitionId, EventTypeId, ObjectId, PrivateAppId};
pub use secret::{Secret, TokenHash};
