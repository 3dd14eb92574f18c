//! CRM records (issue: CRM records; api-reference §5; SPEC.md "CRM records"): object types,
//! property definitions and the typing of values, identity (unique values such as a contact's
//! email), and search.
//!
//! - [`object_type`]: contacts, companies, deals, tickets and custom objects; type ids.
//! - [`property`]: property definitions, HubSpot's default properties, value validation.
//! - [`object`]: what a create or an update may set, checked against the definitions.
//! - [`search`]: `PublicObjectSearchRequest` as a typed query with HubSpot's limits, and its
//!   evaluation over stored records (the same code for both backends).
//! - [`schema`]: custom object schemas.
//! - [`app_object`]: app objects, the object types an app's project defines.

pub mod app_object;
pub mod object;
pub mod object_type;
pub mod property;
pub mod schema;
pub mod search;
