//! An app's project (SPEC.md, "Beyond HubSpot": `chronik project validate|upload`): the
//! `*-hsmeta.json` files of its source folder (`src/` by default), each a component with `uid`,
//! `type` and `config`. HubSpot's layout: the app component lives in `app/` (type `app`), and
//! each app feature in a folder of `app/` named for its type (`app/app-objects/` holds
//! `app-object` components), at that folder's root.
//!
//! Chronik deploys the app's app objects ([`crate::crm::app_object`]). Components of other
//! types (cards, settings, webhooks, …) are listed as skipped, never dropped unmentioned.
//! Every problem of every file is reported at once, named `<file>: <field>`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::crm::app_object::{
    check_app_object, check_uid, AppObjectConfig, AppObjectDefinition, APP_OBJECT_COMPONENT,
};
use crate::error::{DomainError, Problems, ValidationError};
use crate::text::check_no_control_chars;

/// At most this many files in one project.
pub const MAX_PROJECT_FILES: usize = 1_000;

/// The suffix of component files.
pub const META_SUFFIX: &str = "-hsmeta.json";

/// One file of a project, its path relative to the source folder (`app/app-hsmeta.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// `/`-separated, relative to the source folder.
    pub path: String,
    /// The file's text.
    pub content: String,
}

/// A component Chronik does not deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its file.
    pub path: String,
    /// Its `type`.
    pub component_type: String,
    /// Why.
    pub reason: String,
}

/// A checked project: what a deploy stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The app component's `uid`.
    pub app_uid: String,
    /// The app objects, in the order of their files' paths.
    pub app_objects: Vec<AppObjectDefinition>,
    /// The file of each app object, in the same order.
    pub app_object_paths: Vec<String>,
    /// Components left out, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Project {
    /// The file of the app object with this uid.
    pub fn path_of(&self, uid: &str) -> Option<&str> {
        self.app_objects
            .iter()
            .position(|d| d.uid == uid)
            .map(|i| self.app_object_paths[i].as_str())
    }
}

#[derive(Deserialize)]
struct RawComponent {
    uid: Option<String>,
    #[serde(rename = "type")]
    component_type: Option<String>,
    config: Option<serde_json::Value>,
}

/// The folder (under `app/`) each deployable feature's components live in.
fn folder_of(component_type: &str) -> Option<&'static str> {
    match component_type {
        APP_OBJECT_COMPONENT => Some("app/app-objects"),
        _ => None,
    }
}

/// Problems of one file, named `<file>: <field>`.
/// A problem of the file at `path`, named `<file>: <field>` as every problem of a project is.
pub fn in_file_named(path: &str, e: ValidationError) -> ValidationError {
    ValidationError::new(
        format!("{path}: {}", e.field),
        e.code,
        format!("{path}: {}", e.message),
    )
}

fn in_file(path: &str, errors: Vec<ValidationError>, into: &mut Problems) {
    for e in errors {
        into.push(in_file_named(path, e));
    }
}

fn file_problem(path: &str, field: &str, code: &'static str, message: String, into: &mut Problems) {
    in_file(path, vec![ValidationError::new(field, code, message)], into);
}

/// Checks a project's files; every problem of every file is listed. A path with a control
/// character ([`crate::text::is_control_char`]) is refused as `files[<i>].path`, the path
/// shown escaped.
pub fn check_project(files: &[ProjectFile]) -> Result<Project, DomainError> {
    if files.len() > MAX_PROJECT_FILES {
        return Err(DomainError::Invalid(vec![ValidationError::new(
            "files",
            "TOO_MANY_FILES",
            format!(
                "files has {} entries; a project has at most {MAX_PROJECT_FILES}",
                files.len()
            ),
        )]));
    }
    let mut problems = Problems::new();
    // A path with a control character is named by its position in the list and shown escaped
    // (`\u{202e}`): written out, the character would reach the caller's terminal and our logs.
    let mut sorted: Vec<&ProjectFile> = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let field = format!("files[{i}].path");
        match check_no_control_chars(&field, &file.path) {
            Ok(()) => sorted.push(file),
            Err(mut e) => {
                e.message = e
                    .message
                    .replacen(&field, &format!("{field} {:?}", file.path), 1);
                problems.push(e);
            }
        }
    }
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut app_uid = None;
    let mut uids: BTreeMap<String, String> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut app_objects = Vec::new();
    let mut app_object_paths = Vec::new();
    let mut skipped = Vec::new();
    let mut seen_paths = BTreeSet::new();
    for file in sorted {
        let path = file.path.as_str();
        if !seen_paths.insert(path) {
            file_problem(
                path,
                "path",
                "DUPLICATE_FILE",
                "the file is listed twice".to_owned(),
                &mut problems,
            );
            continue;
        }
        if !path.ends_with(META_SUFFIX) {
            continue;
        }
        let component: RawComponent = match serde_json::from_str(&file.content) {
            Ok(c) => c,
            Err(e) => {
                file_problem(
                    path,
                    "",
                    "INVALID_JSON",
                    format!("not a JSON component object: {e}"),
                    &mut problems,
                );
                continue;
            }
        };
        let Some(component_type) = component.component_type.clone() else {
            in_file(path, vec![ValidationError::required("type")], &mut problems);
            continue;
        };
        let (dir, _) = path.rsplit_once('/').unwrap_or(("", path));
        if component_type == "app" {
            if dir != "app" {
                file_problem(
                    path,
                    "type",
                    "WRONG_FOLDER",
                    format!("an app component lives in app/, not in {dir}/"),
                    &mut problems,
                );
                continue;
            }
            let mut p = Problems::new();
            let uid = check_uid("uid", component.uid.as_deref(), &mut p);
            collect(path, p, &mut problems);
            if let Some(uid) = uid {
                if app_uid.replace(uid.clone()).is_some() {
                    file_problem(
                        path,
                        "type",
                        "DUPLICATE_APP",
                        "a project has one app component; this is a second".to_owned(),
                        &mut problems,
                    );
                }
                claim_uid(&mut uids, uid, path, &mut problems);
            }
            continue;
        }
        let Some(folder) = folder_of(&component_type) else {
            skipped.push(Skipped {
                path: path.to_owned(),
                component_type: component_type.clone(),
                reason: format!("Chronik does not deploy {component_type} components"),
            });
            continue;
        };
        if dir != folder {
            file_problem(
                path,
                "type",
                "WRONG_FOLDER",
                format!("a {component_type} component lives at the root of {folder}/"),
                &mut problems,
            );
            continue;
        }
        let config: AppObjectConfig = match component.config.map(serde_json::from_value) {
            None => {
                in_file(
                    path,
                    vec![ValidationError::required("config")],
                    &mut problems,
                );
                continue;
            }
            Some(Err(e)) => {
                file_problem(
                    path,
                    "config",
                    "INVALID_FORMAT",
                    format!("config does not have the shape of an app object: {e}"),
                    &mut problems,
                );
                continue;
            }
            Some(Ok(c)) => c,
        };
        let mut p = Problems::new();
        let def = check_app_object(component.uid.as_deref(), &config, &mut p);
        collect(path, p, &mut problems);
        if let Some(def) = def {
            claim_uid(&mut uids, def.uid.clone(), path, &mut problems);
            if let Some(other) = names.insert(def.name.clone(), path.to_owned()) {
                file_problem(
                    path,
                    "config.name",
                    "DUPLICATE_NAME",
                    format!(
                        "config.name \"{}\" is also the name of the app object in {other}",
                        def.name
                    ),
                    &mut problems,
                );
            }
            app_objects.push(def);
            app_object_paths.push(path.to_owned());
        }
    }
    if app_uid.is_none() && !files.is_empty() {
        problems.push(ValidationError::new(
            "app/app-hsmeta.json",
            "REQUIRED",
            "the project has no app component: add app/app-hsmeta.json with \"type\": \"app\"",
        ));
    }
    if files.is_empty() {
        problems.push(ValidationError::new(
            "files",
            "REQUIRED",
            "the project has no *-hsmeta.json files",
        ));
    }
    problems.finish(())?;
    Ok(Project {
        app_uid: app_uid.unwrap_or_default(),
        app_objects,
        app_object_paths,
        skipped,
    })
}

fn collect(path: &str, p: Problems, into: &mut Problems) {
    if let Err(DomainError::Invalid(errors)) = p.finish(()) {
        in_file(path, errors, into);
    }
}

fn claim_uid(uids: &mut BTreeMap<String, String>, uid: String, path: &str, into: &mut Problems) {
    if let Some(other) = uids.insert(uid.clone(), path.to_owned()) {
        file_problem(
            path,
            "uid",
            "DUPLICATE_UID",
            format!("uid \"{uid}\" is also the uid of {other}; uids are unique in a project"),
            into,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &str) -> ProjectFile {
        ProjectFile {
            path: path.to_owned(),
            content: content.to_owned(),
        }
    }

    const APP: &str = r#"{"uid": "lot_app", "type": "app", "config": {"name": "Lot"}}"#;

    fn car(uid: &str, name: &str) -> String {
        format!(
            r#"{{"uid": "{uid}", "type": "app-object", "config": {{"name": "{name}",
                "description": "Cars", "singularForm": "Car", "pluralForm": "Cars",
                "primaryDisplayLabelPropertyName": "model",
                "settings": {{"hasRecordPage": true}},
                "properties": [{{"name": "model", "label": "Model", "type": "string"}}]}}}}"#
        )
    }

    fn fields(files: &[ProjectFile]) -> Vec<String> {
        match check_project(files) {
            Err(DomainError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn app_objects_are_read_and_other_components_listed_as_skipped() {
        let project = check_project(&[
            file("app/app-hsmeta.json", APP),
            file("app/app-objects/car-hsmeta.json", &car("car", "CAR")),
            file(
                "app/cards/card-hsmeta.json",
                r#"{"uid": "c", "type": "card", "config": {}}"#,
            ),
            file("app/cards/Card.jsx", "export default 1"),
        ])
        .unwrap();
        assert_eq!(project.app_uid, "lot_app");
        assert_eq!(project.app_objects.len(), 1);
        assert_eq!(project.app_objects[0].name, "CAR");
        assert_eq!(
            project.skipped,
            [Skipped {
                path: "app/cards/card-hsmeta.json".to_owned(),
                component_type: "card".to_owned(),
                reason: "Chronik does not deploy card components".to_owned(),
            }]
        );
    }

    #[test]
    fn every_file_problem_is_named_with_its_file() {
        let got = fields(&[
            file("app/app-hsmeta.json", APP),
            file("app/app-objects/a-hsmeta.json", &car("car", "CAR")),
            file("app/app-objects/b-hsmeta.json", &car("car", "CAR")),
            file("app/app-objects/c-hsmeta.json", "{not json"),
            file("app/app-objects/nested/d-hsmeta.json", &car("d", "D")),
            file("app/e-hsmeta.json", r#"{"uid": "e", "config": {}}"#),
        ]);
        assert_eq!(
            got,
            [
                "app/app-objects/b-hsmeta.json: uid",
                "app/app-objects/b-hsmeta.json: config.name",
                "app/app-objects/c-hsmeta.json: ",
                "app/app-objects/nested/d-hsmeta.json: type",
                "app/e-hsmeta.json: type",
            ]
        );
    }

    #[test]
    fn a_project_needs_its_app_component() {
        assert_eq!(
            fields(&[file("app/app-objects/car-hsmeta.json", &car("car", "CAR"))]),
            ["app/app-hsmeta.json"]
        );
        assert_eq!(fields(&[]), ["files"]);
    }

    #[test]
    fn paths_with_control_characters_are_refused_by_their_index() {
        let got = match check_project(&[
            file("app/app-hsmeta.json", APP),
            file("app/app-objects/car\u{0}-hsmeta.json", &car("car", "CAR")),
            file("app/\u{202e}nosj.md", ""),
        ]) {
            Err(DomainError::Invalid(errors)) => errors,
            other => panic!("expected problems, got {other:?}"),
        };
        let named: Vec<(&str, &str)> = got.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            named,
            [
                ("files[1].path", "CONTROL_CHARACTER"),
                ("files[2].path", "CONTROL_CHARACTER")
            ]
        );
        assert!(got[0].message.contains("U+0000"), "{}", got[0].message);
        assert!(
            got[1].message.contains(r#""app/\u{202e}nosj.md""#),
            "the path, escaped: {}",
            got[1].message
        );
        assert!(!got[1].message.contains('\u{202e}'), "{}", got[1].message);
    }

    #[test]
    fn at_most_a_thousand_files() {
        let mut files = vec![file("app/app-hsmeta.json", APP)];
        files.extend((1..MAX_PROJECT_FILES).map(|i| file(&format!("app/readme{i}.md"), "")));
        assert!(check_project(&files).is_ok());
        files.push(file("app/one-more.md", ""));
        assert_eq!(fields(&files), ["files"]);
    }
}
