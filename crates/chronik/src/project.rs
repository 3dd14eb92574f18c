//! `chronik project validate DIR` and `chronik project upload DIR` (SPEC.md, "Beyond HubSpot"):
//! an app's HubSpot project folder, checked and deployed from the terminal, because HubSpot's own
//! `hs project upload` cannot reach a self-hosted server (api-reference §7.3).
//!
//! Both read the folder's `*-hsmeta.json` component files and check them with the rule the
//! server runs, [`chronik_domain::project::check_project`], so every problem of every file is
//! listed at once, each starting with its file. `upload` then sends the files to
//! `POST /projects/v1/deploys?hapikey=…`, which checks them again (also against what was
//! deployed before) and stores the app objects.
//!
//! Problems, whether found here or listed in the server's 400, go to stdout one per line, as
//! `chronik send` lists its rejected lines; the closing error goes to stderr and the exit code
//! is non-zero. Nothing is sent while a local problem remains.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use chronik_domain::project::{check_project, Project, ProjectFile, META_SUFFIX};
use chronik_domain::{AppId, DomainError, Secret};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error_chain;

/// The HubSpot CLI's project config; its presence marks DIR as a project folder.
const PROJECT_CONFIG: &str = "hsproject.json";

/// The source folder when `hsproject.json` names none (HubSpot CLI's default `srcDir`).
const DEFAULT_SRC_DIR: &str = "src";

/// How long to wait for a TCP connection before reporting the server unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many characters of an unexpected response body go into an error message.
const MAX_QUOTED_BODY_CHARS: usize = 300;

/// A project folder, checked offline or deployed.
#[derive(Debug, clap::Args)]
pub struct ProjectArgs {
    #[command(subcommand)]
    command: ProjectCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ProjectCommand {
    /// Check a project folder offline: list its app objects and the components Chronik skips,
    /// or every problem.
    Validate {
        /// The project folder (with hsproject.json) or its source folder.
        dir: PathBuf,
    },
    /// Check a project folder, then deploy its app objects to a running server.
    Upload(UploadArgs),
}

/// The project folder and where to deploy it.
#[derive(Debug, clap::Args)]
struct UploadArgs {
    /// The project folder (with hsproject.json) or its source folder.
    dir: PathBuf,
    /// Base URL of the running server.
    #[arg(long, env = "CHRONIK_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The app's developer API key (`developerApiKey` from `chronik admin apps create`).
    #[arg(long, env = "CHRONIK_DEVELOPER_KEY", hide_env_values = true, value_parser = parse_secret)]
    developer_key: Option<Secret>,
    /// Print the server's JSON response instead of a summary.
    #[arg(long)]
    json: bool,
}

fn parse_secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value))
}

/// The part of `hsproject.json` Chronik reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectConfig {
    src_dir: Option<String>,
}

/// Where a project's component files live: `DIR/<srcDir>` when DIR holds `hsproject.json`,
/// else DIR itself.
fn source_folder(dir: &Path) -> anyhow::Result<PathBuf> {
    let name = dir.display();
    let metadata = std::fs::metadata(dir).with_context(|| format!("could not open {name}"))?;
    if !metadata.is_dir() {
        bail!("{name} is not a folder; pass a project folder or its source folder");
    }
    let config_path = dir.join(PROJECT_CONFIG);
    let text = match std::fs::read_to_string(&config_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(dir.to_path_buf()),
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("could not read {}", config_path.display()))
            )
        }
    };
    let config: ProjectConfig = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a project config (a JSON object whose srcDir is a string)",
            config_path.display()
        )
    })?;
    let src_dir = config.src_dir.as_deref().unwrap_or(DEFAULT_SRC_DIR);
    let src = dir.join(src_dir);
    if !src.is_dir() {
        bail!(
            "{} names the source folder {src_dir:?}, but {} is not a folder",
            config_path.display(),
            src.display()
        );
    }
    Ok(src)
}

/// The component files of a source folder, and the problems of those that cannot be sent.
#[derive(Debug, Default)]
struct Found {
    /// Sorted by path.
    files: Vec<ProjectFile>,
    /// `<file>: <why>`, sorted.
    problems: Vec<String>,
}

/// Collects every `*-hsmeta.json` under the source folder of `dir`, with paths relative to it.
fn collect(dir: &Path) -> anyhow::Result<Found> {
    let src = source_folder(dir)?;
    let mut found = Found::default();
    walk(&src, "", &mut found)?;
    found.files.sort_by(|a, b| a.path.cmp(&b.path));
    found.problems.sort();
    Ok(found)
}

/// Walks `folder`, whose path relative to the source folder is `prefix` (empty or ending in
/// `/`). `node_modules` and hidden folders hold no components of the project and are skipped;
/// links to folders are not followed, so a link cycle cannot trap the walk.
fn walk(folder: &Path, prefix: &str, found: &mut Found) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(folder)
        .with_context(|| format!("could not list {}", folder.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", folder.display()))?;
        let path = entry.path();
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            let lossy = file_name.to_string_lossy();
            if lossy.ends_with(META_SUFFIX) {
                found.problems.push(format!(
                    "{prefix}{lossy}: the file name is not UTF-8 text; rename the file"
                ));
            }
            continue;
        };
        let relative = format!("{prefix}{name}");
        let file_type = entry
            .file_type()
            .with_context(|| format!("could not read the type of {}", path.display()))?;
        if file_type.is_dir() {
            if name != "node_modules" && !name.starts_with('.') {
                walk(&path, &format!("{relative}/"), found)?;
            }
        } else if name.ends_with(META_SUFFIX) {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("could not read {}", path.display()))?;
            match String::from_utf8(bytes) {
                Ok(content) => found.files.push(ProjectFile {
                    path: relative,
                    content,
                }),
                Err(e) => found.problems.push(format!(
                    "{relative}: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                )),
            }
        }
    }
    Ok(())
}

/// The checked project, or every problem, one line each: those of the walk and those
/// `check_project` finds in the files that could be read, grouped by file.
fn check(found: &Found) -> Result<Project, Vec<String>> {
    let mut problems = found.problems.clone();
    match check_project(&found.files) {
        Ok(project) if problems.is_empty() => return Ok(project),
        Ok(_) => {}
        Err(DomainError::Invalid(errors)) => {
            problems.extend(errors.into_iter().map(|e| e.message));
        }
        Err(other) => problems.push(other.to_string()),
    }
    // Stable: a file's problems keep the order check_project gives them (field by field).
    problems.sort_by(|a, b| file_of(a).cmp(file_of(b)));
    Err(problems)
}

/// The `<file>` a problem line starts with (the whole line when it names no file).
fn file_of(problem: &str) -> &str {
    problem.split_once(": ").map_or(problem, |(file, _)| file)
}

/// Prints `problems` to stdout and returns the closing error, which ends with `then`.
fn refuse(problems: &[String], dir: &Path, then: &str) -> anyhow::Error {
    print!("{}", render_problems(problems));
    anyhow!(
        "{} in {}; {then}",
        counted(problems.len(), "problem", "problems"),
        dir.display()
    )
}

/// One problem per line.
fn render_problems(problems: &[String]) -> String {
    problems.iter().map(|p| format!("{p}\n")).collect()
}

/// `1 property`, `3 properties`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What `validate` prints for a project without problems.
fn render_project(project: &Project) -> String {
    let mut out = format!("app (uid {})\n", project.app_uid);
    if project.app_objects.is_empty() {
        out.push_str("no app objects\n");
    }
    for object in &project.app_objects {
        out.push_str(&format!(
            "app object {} (uid {}): {}\n",
            object.name,
            object.uid,
            counted(object.properties.len(), "property", "properties")
        ));
    }
    for skipped in &project.skipped {
        out.push_str(&format!("skipped {}: {}\n", skipped.path, skipped.reason));
    }
    out
}

/// The body of `POST /projects/v1/deploys`.
#[derive(Debug, Serialize)]
struct DeployIn<'a> {
    files: Vec<ProjectFileIn<'a>>,
}

/// One file of [`DeployIn`].
#[derive(Debug, Serialize)]
struct ProjectFileIn<'a> {
    path: &'a str,
    content: &'a str,
}

/// The server's answer to a deploy.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeployOut {
    app_id: AppId,
    #[serde(default)]
    app_objects: Vec<AppObjectOut>,
    #[serde(default)]
    skipped: Vec<SkippedOut>,
}

/// One deployed app object and what the deploy did to it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppObjectOut {
    name: String,
    object_type_id: String,
    fully_qualified_name: String,
    /// `CREATED`, `UPDATED` or `UNCHANGED`.
    change: String,
}

/// A component the server did not deploy.
#[derive(Debug, Deserialize)]
struct SkippedOut {
    path: String,
    reason: String,
}

/// What `upload` prints for a deploy: the app, one aligned row per app object
/// (name, objectTypeId, fully qualified name, change) and the skipped components.
fn render_deploy(deploy: &DeployOut) -> String {
    let mut out = format!("deployed to app {}\n", deploy.app_id);
    if deploy.app_objects.is_empty() {
        out.push_str("no app objects\n");
    }
    let rows: Vec<[String; 4]> = deploy
        .app_objects
        .iter()
        .map(|o| {
            [
                o.name.clone(),
                o.object_type_id.clone(),
                o.fully_qualified_name.clone(),
                o.change.to_lowercase(),
            ]
        })
        .collect();
    let mut widths = [0; 3];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for [name, type_id, fqn, change] in &rows {
        let [w0, w1, w2] = widths;
        out.push_str(&format!(
            "{name:<w0$}  {type_id:<w1$}  {fqn:<w2$}  {change}\n"
        ));
    }
    for skipped in &deploy.skipped {
        out.push_str(&format!("skipped {}: {}\n", skipped.path, skipped.reason));
    }
    out
}

/// What a refused deploy prints: the problems the server lists (`errors[].message`, to stdout)
/// and the closing error (to stderr).
#[derive(Debug, PartialEq)]
struct Refusal {
    problems: Vec<String>,
    message: String,
}

/// Reads HubSpot's error body (`message`, `correlationId`, `errors[]`) of a non-2xx answer.
fn refusal(status: StatusCode, body: &Value) -> Refusal {
    let problems = body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("message").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    // The hint follows after `; `, so the message's own full stop goes.
    let top = top_message(body);
    let top = top.trim_end_matches('.');
    let mut message = match status {
        StatusCode::UNAUTHORIZED => format!(
            "the server refused the developer key ({status}): {top}; pass the app's \
             developerApiKey (from `chronik admin apps create`) with --developer-key or \
             CHRONIK_DEVELOPER_KEY"
        ),
        StatusCode::BAD_REQUEST => format!("the server refused the project ({status}): {top}"),
        _ => format!("the deploy failed with {status}: {top}"),
    };
    if let Some(id) = body.get("correlationId").and_then(Value::as_str) {
        message.push_str(&format!(" (correlationId {id})"));
    }
    Refusal { problems, message }
}

/// The error body's `message`, or the start of the body itself when it has none.
fn top_message(body: &Value) -> String {
    match body.get("message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => quoted(body),
    }
}

/// The start of a body, for an error message.
fn quoted(body: &Value) -> String {
    match body {
        Value::Null => "no details given".to_owned(),
        Value::String(text) => text.chars().take(MAX_QUOTED_BODY_CHARS).collect(),
        other => other
            .to_string()
            .chars()
            .take(MAX_QUOTED_BODY_CHARS)
            .collect(),
    }
}

pub async fn run(args: ProjectArgs) -> anyhow::Result<()> {
    match args.command {
        ProjectCommand::Validate { dir } => validate(&dir),
        ProjectCommand::Upload(args) => upload(args).await,
    }
}

fn validate(dir: &Path) -> anyhow::Result<()> {
    let found = collect(dir)?;
    let project =
        check(&found).map_err(|problems| refuse(&problems, dir, "fix them and validate again"))?;
    print!("{}", render_project(&project));
    Ok(())
}

async fn upload(args: UploadArgs) -> anyhow::Result<()> {
    let Some(key) = args.developer_key else {
        bail!(
            "no developer key: pass --developer-key or set CHRONIK_DEVELOPER_KEY to the app's \
             developerApiKey (from `chronik admin apps create`)"
        );
    };
    let found = collect(&args.dir)?;
    if let Err(problems) = check(&found) {
        return Err(refuse(&problems, &args.dir, "nothing was sent"));
    }

    let endpoint = format!("{}/projects/v1/deploys", args.url.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .context("could not set up the HTTP client")?;
    let body = DeployIn {
        files: found
            .files
            .iter()
            .map(|f| ProjectFileIn {
                path: &f.path,
                content: &f.content,
            })
            .collect(),
    };
    // reqwest's errors quote the URL, and the key is in its query: print them without it.
    let response = http
        .post(&endpoint)
        .query(&[("hapikey", key.expose())])
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "could not reach {endpoint}: {}; is `chronik serve` running?",
                error_chain(&e.without_url())
            )
        })?;
    let status = response.status();
    let text = response.text().await.map_err(|e| {
        anyhow!(
            "the connection to {endpoint} broke while reading the answer: {}",
            error_chain(&e.without_url())
        )
    })?;
    let answer = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if !status.is_success() {
        let refused = refusal(status, &answer);
        print!("{}", render_problems(&refused.problems));
        bail!(refused.message);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let deploy: DeployOut = serde_json::from_value(answer.clone()).map_err(|e| {
        anyhow!(
            "the server answered {status}, but not with a deploy result ({e}): {}",
            quoted(&answer)
        )
    })?;
    print!("{}", render_deploy(&deploy));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APP: &str = r#"{"uid": "lot_app", "type": "app", "config": {"name": "Lot"}}"#;

    fn car(uid: &str, name: &str) -> String {
        format!(
            r#"{{"uid": "{uid}", "type": "app-object", "config": {{"name": "{name}",
                "description": "Cars", "singularForm": "Car", "pluralForm": "Cars",
                "primaryDisplayLabelPropertyName": "model",
                "settings": {{"hasRecordPage": true}},
                "properties": [{{"name": "model", "label": "Model", "type": "string"}},
                               {{"name": "year", "label": "Year", "type": "number"}}]}}}}"#
        )
    }

    const CARD: &str = r#"{"uid": "card", "type": "card", "config": {}}"#;

    /// Writes `files` (path relative to `root`, content) under `root`.
    fn write(root: &Path, files: &[(&str, &[u8])]) {
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
    }

    fn paths(found: &Found) -> Vec<&str> {
        found.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn hsproject_json_points_at_its_src_dir() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                (
                    "hsproject.json",
                    br#"{"name": "lot", "srcDir": "source", "platformVersion": "2025.2"}"#,
                ),
                ("source/app/app-hsmeta.json", APP.as_bytes()),
                // Outside srcDir: not part of the project.
                ("src/app/other-hsmeta.json", b"{}"),
                ("top-hsmeta.json", b"{}"),
            ],
        );
        let found = collect(dir.path()).unwrap();
        assert_eq!(paths(&found), ["app/app-hsmeta.json"]);
        assert_eq!(found.files[0].content, APP);
    }

    #[test]
    fn hsproject_json_without_src_dir_reads_src() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("hsproject.json", br#"{"name": "lot"}"#),
                ("src/app/app-hsmeta.json", APP.as_bytes()),
                ("app/stray-hsmeta.json", b"{}"),
            ],
        );
        assert_eq!(
            paths(&collect(dir.path()).unwrap()),
            ["app/app-hsmeta.json"]
        );
    }

    #[test]
    fn a_folder_without_hsproject_json_is_the_source_folder() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("app/app-hsmeta.json", APP.as_bytes())]);
        assert_eq!(
            paths(&collect(dir.path()).unwrap()),
            ["app/app-hsmeta.json"]
        );
    }

    #[test]
    fn a_src_dir_that_is_not_a_folder_or_a_broken_config_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[("hsproject.json", br#"{"srcDir": "nowhere"}"#)],
        );
        let e = format!("{:#}", collect(dir.path()).unwrap_err());
        assert!(e.contains("hsproject.json") && e.contains("nowhere"), "{e}");

        write(dir.path(), &[("hsproject.json", br#"{"srcDir": 3}"#)]);
        let e = format!("{:#}", collect(dir.path()).unwrap_err());
        assert!(e.contains("hsproject.json is not a project config"), "{e}");

        let e = format!("{:#}", collect(&dir.path().join("missing")).unwrap_err());
        assert!(e.contains("could not open") && e.contains("missing"), "{e}");
        let file = dir.path().join("hsproject.json");
        let e = format!("{:#}", collect(&file).unwrap_err());
        assert!(e.contains("is not a folder"), "{e}");
    }

    #[test]
    fn only_hsmeta_files_are_collected_with_slash_paths_relative_to_the_source_folder() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("src/app/app-hsmeta.json", APP.as_bytes()),
                ("src/app/app-objects/car-hsmeta.json", b"car"),
                ("src/app/cards/card-hsmeta.json", b"card"),
                ("src/app/cards/Card.jsx", b"export default 1"),
                ("src/app/cards/package.json", b"{}"),
                ("src/app/hsmeta.json", b"{}"),
                ("src/app/car-hsmeta.json.bak", b"{}"),
                ("src/app/cards/node_modules/lib/x-hsmeta.json", b"{}"),
                ("src/node_modules/y-hsmeta.json", b"{}"),
                ("src/.git/z-hsmeta.json", b"{}"),
                ("src/app/.hidden/w-hsmeta.json", b"{}"),
                ("hsproject.json", b"{}"),
            ],
        );
        let found = collect(dir.path()).unwrap();
        assert_eq!(
            paths(&found),
            [
                "app/app-hsmeta.json",
                "app/app-objects/car-hsmeta.json",
                "app/cards/card-hsmeta.json",
            ]
        );
        assert_eq!(found.files[1].content, "car");
        assert!(found.problems.is_empty(), "{:?}", found.problems);
    }

    #[test]
    fn a_file_that_is_not_utf8_is_a_problem_named_by_its_path() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("app/app-hsmeta.json", APP.as_bytes()),
                ("app/app-objects/car-hsmeta.json", b"{\"uid\": \"\xff\"}"),
            ],
        );
        let found = collect(dir.path()).unwrap();
        assert_eq!(paths(&found), ["app/app-hsmeta.json"]);
        assert_eq!(
            found.problems,
            ["app/app-objects/car-hsmeta.json: not UTF-8 text (invalid byte at offset 9)"]
        );
        // The other files pass, but the project does not.
        assert_eq!(
            check(&found).unwrap_err(),
            ["app/app-objects/car-hsmeta.json: not UTF-8 text (invalid byte at offset 9)"]
        );
    }

    #[test]
    fn problems_of_the_walk_and_of_the_check_are_listed_together_by_file() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("app/app-hsmeta.json", APP.as_bytes()),
                ("app/app-objects/a-hsmeta.json", b"{not json"),
                ("app/app-objects/b-hsmeta.json", b"\xff"),
                ("app/app-objects/c-hsmeta.json", b"[]"),
            ],
        );
        let problems = check(&collect(dir.path()).unwrap()).unwrap_err();
        let files: Vec<&str> = problems.iter().map(|p| file_of(p)).collect();
        assert_eq!(
            files,
            [
                "app/app-objects/a-hsmeta.json",
                "app/app-objects/b-hsmeta.json",
                "app/app-objects/c-hsmeta.json",
            ],
            "{problems:?}"
        );
        assert!(problems[1].contains("not UTF-8"), "{problems:?}");
        assert_eq!(
            file_of("the project has no app component"),
            "the project has no app component"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_name_that_is_not_utf8_is_a_problem() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("app/app-hsmeta.json", APP.as_bytes())]);
        let name = std::ffi::OsStr::from_bytes(b"c\xffr-hsmeta.json");
        std::fs::write(dir.path().join("app").join(name), b"{}").unwrap();
        let found = collect(dir.path()).unwrap();
        assert_eq!(found.problems.len(), 1);
        assert!(
            found.problems[0].starts_with("app/c\u{fffd}r-hsmeta.json: the file name is not UTF-8"),
            "{:?}",
            found.problems
        );
    }

    #[test]
    fn a_valid_project_is_summarized_with_its_app_objects_and_skipped_components() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("app/app-hsmeta.json", APP.as_bytes()),
                (
                    "app/app-objects/car-hsmeta.json",
                    car("car_object", "CAR").as_bytes(),
                ),
                ("app/cards/x-hsmeta.json", CARD.as_bytes()),
            ],
        );
        let project = check(&collect(dir.path()).unwrap()).unwrap();
        assert_eq!(
            render_project(&project),
            "app (uid lot_app)\n\
             app object CAR (uid car_object): 2 properties\n\
             skipped app/cards/x-hsmeta.json: Chronik does not deploy card components\n"
        );
    }

    #[test]
    fn every_problem_of_every_file_is_listed_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                ("app/app-hsmeta.json", APP.as_bytes()),
                (
                    "app/app-objects/a-hsmeta.json",
                    car("car", "CAR").as_bytes(),
                ),
                (
                    "app/app-objects/b-hsmeta.json",
                    car("car", "CAR").as_bytes(),
                ),
                ("app/app-objects/c-hsmeta.json", b"{not json"),
            ],
        );
        let problems = check(&collect(dir.path()).unwrap()).unwrap_err();
        let files: Vec<&str> = problems
            .iter()
            .map(|p| p.split_once(": ").unwrap().0)
            .collect();
        assert_eq!(
            files,
            [
                "app/app-objects/b-hsmeta.json",
                "app/app-objects/b-hsmeta.json",
                "app/app-objects/c-hsmeta.json",
            ],
            "{problems:?}"
        );
        assert!(problems[0].contains("\"car\""), "{problems:?}");
        assert_eq!(
            render_problems(&problems).lines().collect::<Vec<_>>(),
            problems
        );
    }

    #[test]
    fn more_files_than_a_project_holds_is_reported_with_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[("app/app-hsmeta.json", APP.as_bytes())]);
        for i in 0..chronik_domain::project::MAX_PROJECT_FILES {
            std::fs::write(dir.path().join(format!("app/c{i}-hsmeta.json")), CARD).unwrap();
        }
        let problems = check(&collect(dir.path()).unwrap()).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("1001") && problems[0].contains("1000"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_closing_error_counts_the_problems() {
        let dir = Path::new("proj");
        let one = refuse(&["a: x".to_owned()], dir, "nothing was sent").to_string();
        assert_eq!(one, "1 problem in proj; nothing was sent");
        let two = refuse(&["a".to_owned(), "b".to_owned()], dir, "fix them").to_string();
        assert_eq!(two, "2 problems in proj; fix them");
    }

    #[test]
    fn a_deploy_is_summarized_one_aligned_row_per_app_object() {
        let deploy: DeployOut = serde_json::from_value(json!({
            "appId": 1000001,
            "appObjects": [
                {"uid": "car_object", "name": "CAR", "objectTypeId": "4-1",
                 "fullyQualifiedName": "a1000001_CAR", "change": "CREATED"},
                {"uid": "lot", "name": "PARKING_LOT", "objectTypeId": "4-12",
                 "fullyQualifiedName": "a1000001_PARKING_LOT", "change": "UNCHANGED"},
            ],
            "skipped": [{"path": "app/cards/card-hsmeta.json", "type": "card",
                         "reason": "Chronik does not deploy card components"}],
        }))
        .unwrap();
        assert_eq!(
            render_deploy(&deploy),
            "deployed to app 1000001\n\
             CAR          4-1   a1000001_CAR          created\n\
             PARKING_LOT  4-12  a1000001_PARKING_LOT  unchanged\n\
             skipped app/cards/card-hsmeta.json: Chronik does not deploy card components\n"
        );
        let single: DeployOut = serde_json::from_value(json!({
            "appId": 7,
            "appObjects": [{"uid": "c", "name": "CAR", "objectTypeId": "4-1",
                            "fullyQualifiedName": "a7_CAR", "change": "UPDATED"}],
        }))
        .unwrap();
        assert_eq!(
            render_deploy(&single),
            "deployed to app 7\nCAR  4-1  a7_CAR  updated\n"
        );
    }

    #[test]
    fn a_refused_deploy_lists_the_servers_problems_and_message() {
        let body = json!({
            "status": "error", "message": "2 problems", "correlationId": "c-1",
            "category": "VALIDATION_ERROR",
            "errors": [
                {"message": "app/app-objects/car-hsmeta.json: config.name cannot change", "in": "files", "code": "IMMUTABLE"},
                {"message": "app/app-objects/van-hsmeta.json: uid is required", "in": "files"},
                {"in": "files"},
            ]
        });
        let refused = refusal(StatusCode::BAD_REQUEST, &body);
        assert_eq!(
            refused.problems,
            [
                "app/app-objects/car-hsmeta.json: config.name cannot change",
                "app/app-objects/van-hsmeta.json: uid is required",
            ]
        );
        assert!(
            refused.message.contains("400") && refused.message.contains("2 problems"),
            "{}",
            refused.message
        );
        assert!(
            refused.message.ends_with("(correlationId c-1)"),
            "{}",
            refused.message
        );

        let unauthorized = refusal(
            StatusCode::UNAUTHORIZED,
            &json!({"status": "error", "message": "The developer API key is invalid."}),
        );
        assert!(unauthorized.problems.is_empty());
        for needle in [
            "401",
            "The developer API key is invalid; pass",
            "--developer-key",
            "CHRONIK_DEVELOPER_KEY",
        ] {
            assert!(
                unauthorized.message.contains(needle),
                "{needle}: {}",
                unauthorized.message
            );
        }

        let plain = refusal(
            StatusCode::BAD_GATEWAY,
            &Value::String("upstream down".into()),
        );
        assert!(
            plain.message.contains("502") && plain.message.contains("upstream down"),
            "{}",
            plain.message
        );
        let empty = refusal(StatusCode::NOT_FOUND, &Value::Null);
        assert!(
            empty.message.contains("no details given"),
            "{}",
            empty.message
        );
    }
}
