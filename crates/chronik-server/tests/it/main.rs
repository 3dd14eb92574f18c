//! In-process HTTP tests: each test starts its own server ([`helpers::TestApp`]) on a port the
//! OS picked, on SQLite in a temp dir or on a fresh PostgreSQL schema, and talks HTTP to it.

// Test helpers outside #[test] functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod admin;
mod app_icons;
mod app_objects;
mod auth;
mod connections;
mod crm_batch;
mod crm_helpers;
mod crm_objects;
mod crm_properties;
mod crm_schemas;
mod crm_search;
mod errors;
mod events_definitions;
mod events_helpers;
mod events_read;
mod events_send;
mod helpers;
mod multinode;
mod oauth;
mod ops;
mod record_timeline;
mod time_zones;
mod timeline_events;
mod timeline_helpers;
mod timeline_render;
mod timeline_templates;
