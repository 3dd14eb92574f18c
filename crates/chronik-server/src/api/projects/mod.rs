//! `/projects/v1/…`: deploying an app's project (SPEC.md, "Beyond HubSpot";
//! `chronik project upload` sends it). HubSpot's own upload runs through its CLI and build
//! service, which cannot be pointed at another host (api-reference §7.3), so this endpoint is
//! Chronik's: the app's developer API key (`hapikey`) and the project's `*-hsmeta.json` files.
//!
//! A deploy checks every file ([`chronik_domain::project`]), then compares each app object
//! with what was deployed before under its uid: a deployed app object is never removed, its
//! name never changes, and its properties are never removed or retyped (records hold values
//! of them). Only then is anything stored, in one transaction, which the store refuses when
//! another deploy changed the app's objects since they were read for the check (409).

mod wire;

use axum::extract::State;
use chronik_domain::crm::app_object::fully_qualified_name;
use chronik_domain::project::{check_project, in_file_named, ProjectFile};
use chronik_domain::ValidationError;
use chronik_store::{DeployChange, StoreError};
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::DeveloperKey;
use crate::error::{ApiError, Category, ErrorBody};
use crate::extract::Json;
use crate::state::AppState;
use wire::*;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deploy))
}

/// Deploys the project of the key's app: its app objects become object types of every
/// account the app is installed in.
#[utoipa::path(post, path = "/projects/v1/deploys", tag = "projects",
    request_body = DeployIn, security(("hapikey" = [])),
    responses((status = 200, body = DeployOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn deploy(
    key: DeveloperKey,
    State(state): State<AppState>,
    Json(body): Json<DeployIn>,
) -> Result<axum::Json<DeployOut>, ApiError> {
    let app = key.app.id;
    let files: Vec<ProjectFile> = body
        .files
        .into_iter()
        .map(|f| ProjectFile {
            path: f.path,
            content: f.content,
        })
        .collect();
    let project = check_project(&files)?;
    let deployed = state.store.app_objects_of_app(app).await?;
    let mut problems = Vec::new();
    for before in &deployed {
        let uid = &before.definition.uid;
        match project.app_objects.iter().find(|d| &d.uid == uid) {
            None => problems.push(ValidationError::new(
                "files",
                "APP_OBJECT_REMOVED",
                format!(
                    "the app object {} (uid {uid}) was deployed before and is missing; a deployed app object cannot be removed",
                    before.definition.name
                ),
            )),
            Some(next) => {
                let path = project.path_of(uid).unwrap_or_default();
                problems.extend(
                    before
                        .definition
                        .change_problems(next)
                        .into_iter()
                        .map(|e| in_file_named(path, e)),
                );
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let stored = state
        .store
        .deploy_app_objects(app, &deployed, &project.app_objects, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                Category::Conflict,
                "Another deploy of this app changed its app objects at the same time; deploy again.",
            ),
            e => e.into(),
        })?;
    tracing::info!(app = %app, app_objects = stored.len(), "project deployed");
    Ok(axum::Json(DeployOut {
        app_id: app.0,
        app_objects: stored
            .into_iter()
            .map(|(s, change)| AppObjectOut {
                object_type_id: s.type_id().to_string(),
                fully_qualified_name: fully_qualified_name(app, &s.definition.name),
                uid: s.definition.uid,
                name: s.definition.name,
                change: match change {
                    DeployChange::Created => "CREATED",
                    DeployChange::Updated => "UPDATED",
                    DeployChange::Unchanged => "UNCHANGED",
                },
            })
            .collect(),
        skipped: project
            .skipped
            .into_iter()
            .map(|s| SkippedOut {
                path: s.path,
                component_type: s.component_type,
                reason: s.reason,
            })
            .collect(),
    }))
}
