//! Request and response shapes of `/projects/v1` (camelCase, like HubSpot's own APIs).

use serde::{Deserialize, Serialize};

/// `POST /projects/v1/deploys`: the project's files.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployIn {
    /// The `*-hsmeta.json` files of the project's source folder (other files are ignored).
    pub files: Vec<FileIn>,
}

/// One file of a project.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileIn {
    /// Relative to the source folder, `/`-separated (`app/app-objects/car-hsmeta.json`).
    pub path: String,
    /// The file's text.
    pub content: String,
}

/// What a deploy did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployOut {
    /// The app deployed to.
    pub app_id: i64,
    /// Every app object of the project.
    pub app_objects: Vec<AppObjectOut>,
    /// Components Chronik does not deploy.
    pub skipped: Vec<SkippedOut>,
}

/// One app object after a deploy.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppObjectOut {
    /// The component's uid.
    pub uid: String,
    /// `config.name`.
    pub name: String,
    /// `4-<n>`, the same in every account.
    pub object_type_id: String,
    /// `a{appId}_{name}`.
    pub fully_qualified_name: String,
    /// `CREATED`, `UPDATED` or `UNCHANGED`.
    pub change: &'static str,
}

/// A component left out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkippedOut {
    /// Its file.
    pub path: String,
    /// Its `type`.
    #[serde(rename = "type")]
    pub component_type: String,
    /// Why.
    pub reason: String,
}
