//! Compiled templates of app timeline event types, kept per type version: a template compiles
//! once per version ([`chronik_domain::render::Templates`]), never per render.
//!
//! The version comes from the stored type ([`StoredEventType::version`]), which every render
//! and event write reads (a primary-key lookup), so a change made on any node is used by every
//! node from its commit on: a stale entry is simply never asked for again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chronik_domain::render::Templates;
use chronik_domain::EventTypeId;
use chronik_store::StoredEventType;

use crate::error::ApiError;
use crate::settings_cache::{keep, lock};

/// At most this many compiled versions are kept (past it the map starts again empty).
const MAX_KEPT: usize = 4_096;

/// Compiled templates by `(type, version)`.
#[derive(Default)]
pub struct CompiledTemplates {
    kept: Mutex<HashMap<(EventTypeId, i64), Arc<Templates>>>,
}

impl CompiledTemplates {
    /// The compiled templates of this version of the type, compiling them on first use.
    /// A stored definition always compiled when it was saved; failing now is an internal
    /// error (a template engine change), never the caller's.
    pub fn of(&self, stored: &StoredEventType) -> Result<Arc<Templates>, ApiError> {
        let key = (stored.id, stored.version);
        if let Some(t) = lock(&self.kept).get(&key) {
            return Ok(t.clone());
        }
        let compiled = Arc::new(stored.definition.check().map_err(|e| {
            ApiError::internal(&format!(
                "stored event template {} (version {}) no longer compiles: {e}",
                stored.id, stored.version
            ))
        })?);
        self.keep(stored, compiled.clone());
        Ok(compiled)
    }

    /// Keeps templates compiled when a version was saved, so its first render needs no
    /// compile.
    pub fn keep(&self, stored: &StoredEventType, templates: Arc<Templates>) {
        keep(
            &mut lock(&self.kept),
            MAX_KEPT,
            (stored.id, stored.version),
            templates,
        );
    }
}
