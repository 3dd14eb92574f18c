//! `chronik admin …`: a terminal client of a running server's `/admin/v1` API. Prints a short
//! human summary, or the server's JSON with `--json`. Errors print HubSpot's message and exit
//! non-zero.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// Base URL of the running server.
    #[arg(
        long,
        env = "CHRONIK_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// The admin token. Defaults to the one stored in the data directory.
    #[arg(
        long,
        env = "CHRONIK_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    admin_token: Option<String>,
    /// Data directory to read the stored admin token from when --admin-token is not given.
    #[arg(
        long,
        env = "CHRONIK_DATA",
        default_value = "./chronik-data",
        global = true
    )]
    data: PathBuf,
    /// Print the server's JSON response instead of a summary.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Accounts (HubSpot portals).
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Private apps: account-scoped Bearer tokens with scopes.
    #[command(subcommand)]
    PrivateApps(PrivateAppsCommand),
    /// Apps: developer API key and OAuth client credentials.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Install an app into an account and print its OAuth tokens.
    #[command(subcommand)]
    Installs(InstallsCommand),
    /// Issue a one-time OAuth authorization code, as a user's consent would.
    #[command(subcommand)]
    AuthorizationCodes(CodesCommand),
    /// Link a visitor token (utk) to a contact by email.
    #[command(subcommand)]
    Visitors(VisitorsCommand),
    /// Delete an account's records and events (keeps apps, installs and tokens).
    Reset {
        /// The account.
        #[arg(long)]
        portal_id: i64,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AccountsCommand {
    /// Create an account.
    Create {
        /// Display name.
        name: String,
    },
    /// List every account.
    List,
    /// Show one account.
    Get {
        /// The account.
        portal_id: i64,
    },
    /// Set the time zone the account's dates render in (default UTC).
    TimeZone {
        /// The account.
        portal_id: i64,
        /// An IANA time zone name, such as Europe/Berlin or UTC.
        zone: String,
    },
}

#[derive(Debug, clap::Subcommand)]
enum PrivateAppsCommand {
    /// Create a private app and print its token.
    Create {
        /// The account it acts in.
        #[arg(long)]
        portal_id: i64,
        /// Display name.
        #[arg(long)]
        name: String,
        /// A scope to grant; repeat or separate with commas.
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AppsCommand {
    /// Create an app and print its credentials.
    Create {
        /// Display name.
        name: String,
    },
    /// Set the app's icon from a PNG or SVG file (at most 5 MB, roughly square, transparent
    /// background); cards show it at 30x30.
    Icon {
        /// The app.
        app_id: i64,
        /// The image file; its type comes from the extension (.png, .svg) or its bytes.
        file: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
enum InstallsCommand {
    /// Install (or re-install) an app into an account.
    Create {
        /// The app.
        #[arg(long)]
        app_id: i64,
        /// The account.
        #[arg(long)]
        portal_id: i64,
        /// A scope to grant; repeat or separate with commas.
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// The installing user's email.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum CodesCommand {
    /// Issue a code to exchange at POST /oauth/v1/token.
    Create {
        /// The app.
        #[arg(long)]
        app_id: i64,
        /// The account.
        #[arg(long)]
        portal_id: i64,
        /// The redirect URI the exchange must repeat.
        #[arg(long)]
        redirect_uri: String,
        /// A scope to grant; repeat or separate with commas.
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum VisitorsCommand {
    /// Link a utk to the contact with this email (creating the contact when needed).
    Link {
        /// The account.
        #[arg(long)]
        portal_id: i64,
        /// The visitor token.
        #[arg(long)]
        utk: String,
        /// The contact's email.
        #[arg(long)]
        email: String,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// The media type of an icon file, from its extension or else its bytes.
fn icon_content_type(file: &std::path::Path, bytes: &[u8]) -> anyhow::Result<&'static str> {
    use chronik_domain::app_icon::IconFormat;
    let by_extension = file
        .extension()
        .and_then(|e| e.to_str())
        .and_then(IconFormat::from_extension);
    match by_extension.or_else(|| IconFormat::sniff(bytes)) {
        Some(format) => Ok(format.content_type()),
        None => bail!(
            "{} is neither a PNG nor an SVG file (by its extension or its contents); an icon is one of those",
            file.display()
        ),
    }
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let request = self.request(method.clone(), path);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        self.send(request, method, path).await
    }

    /// Sends `bytes` as the body, of `content_type`.
    async fn call_bytes(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Value> {
        let request = self
            .request(method.clone(), path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.send(request, method, path).await
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        self.http.request(method, url).bearer_auth(&self.token)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: reqwest::Method,
        path: &str,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let response = request
            .send()
            .await
            .with_context(|| format!("could not reach {url}; is `chronik serve` running?"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("could not read the response")?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            let details: Vec<String> = value
                .get("errors")
                .and_then(Value::as_array)
                .map(|errs| {
                    errs.iter()
                        .filter_map(|e| {
                            let m = e.get("message")?.as_str()?;
                            Some(match e.get("in").and_then(Value::as_str) {
                                Some(field) => format!("  {field}: {m}"),
                                None => format!("  {m}"),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut text = format!("{method} {path} failed with {status}: {message}");
            for d in details {
                text.push('\n');
                text.push_str(&d);
            }
            bail!(text);
        }
        Ok(value)
    }
}

fn resolve_token(args: &AdminArgs) -> anyhow::Result<String> {
    if let Some(token) = &args.admin_token {
        return Ok(token.clone());
    }
    let path = args.data.join(chronik_server::config::ADMIN_TOKEN_FILE);
    let stored = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no --admin-token given and could not read {}; pass --admin-token or --data",
            path.display()
        )
    })?;
    Ok(stored.trim().to_owned())
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let client = Client {
        http: reqwest::Client::new(),
        base: args.url.clone(),
        token: resolve_token(&args)?,
    };
    use reqwest::Method;
    let (value, summary): (Value, &[&str]) = match &args.command {
        AdminCommand::Accounts(AccountsCommand::Create { name }) => (
            client.call(Method::POST, "/admin/v1/accounts", Some(json!({ "name": name }))).await?,
            &["portalId", "name"],
        ),
        AdminCommand::Accounts(AccountsCommand::List) => {
            let value = client.call(Method::GET, "/admin/v1/accounts", None).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                for a in value.get("results").and_then(Value::as_array).into_iter().flatten() {
                    println!("{}\t{}", field(a, "portalId"), field(a, "name"));
                }
            }
            return Ok(());
        }
        AdminCommand::Accounts(AccountsCommand::Get { portal_id }) => (
            client.call(Method::GET, &format!("/admin/v1/accounts/{portal_id}"), None).await?,
            &["portalId", "name", "timeZone", "createdAt"],
        ),
        AdminCommand::Accounts(AccountsCommand::TimeZone { portal_id, zone }) => (
            client
                .call(
                    Method::PATCH,
                    &format!("/admin/v1/accounts/{portal_id}"),
                    Some(json!({ "timeZone": zone })),
                )
                .await?,
            &["portalId", "name", "timeZone"],
        ),
        AdminCommand::PrivateApps(PrivateAppsCommand::Create { portal_id, name, scopes }) => (
            client
                .call(
                    Method::POST,
                    &format!("/admin/v1/accounts/{portal_id}/private-apps"),
                    Some(json!({ "name": name, "scopes": scopes })),
                )
                .await?,
            &["id", "portalId", "scopes", "token"],
        ),
        AdminCommand::Apps(AppsCommand::Create { name }) => (
            client.call(Method::POST, "/admin/v1/apps", Some(json!({ "name": name }))).await?,
            &["appId", "name", "developerApiKey", "clientId", "clientSecret"],
        ),
        AdminCommand::Apps(AppsCommand::Icon { app_id, file }) => {
            let bytes = std::fs::read(file)
                .with_context(|| format!("could not read the icon file {}", file.display()))?;
            let content_type = icon_content_type(file, &bytes)?;
            (
                client
                    .call_bytes(Method::PUT, &format!("/admin/v1/apps/{app_id}/icon"), content_type, bytes)
                    .await?,
                &["appId", "contentType", "originalBytes", "iconUrl"],
            )
        }
        AdminCommand::Installs(InstallsCommand::Create { app_id, portal_id, scopes, user }) => {
            let mut body = json!({ "portalId": portal_id, "scopes": scopes });
            if let Some(user) = user {
                body["user"] = json!(user);
            }
            (
                client.call(Method::POST, &format!("/admin/v1/apps/{app_id}/installs"), Some(body)).await?,
                &["portalId", "appId", "scopes", "accessToken", "refreshToken", "expiresIn"],
            )
        }
        AdminCommand::AuthorizationCodes(CodesCommand::Create { app_id, portal_id, redirect_uri, scopes }) => (
            client
                .call(
                    Method::POST,
                    &format!("/admin/v1/apps/{app_id}/authorization-codes"),
                    Some(json!({ "portalId": portal_id, "scopes": scopes, "redirectUri": redirect_uri })),
                )
                .await?,
            &["code", "redirectUri", "expiresIn"],
        ),
        AdminCommand::Visitors(VisitorsCommand::Link { portal_id, utk, email }) => (
            client
                .call(
                    Method::POST,
                    &format!("/admin/v1/accounts/{portal_id}/visitors"),
                    Some(json!({ "utk": utk, "email": email })),
                )
                .await?,
            &["portalId", "utk", "email", "contactId", "contactCreated"],
        ),
        AdminCommand::Reset { portal_id } => {
            client.call(Method::POST, &format!("/admin/v1/accounts/{portal_id}/reset"), None).await?;
            if args.json {
                println!("{}", json!({ "portalId": portal_id, "reset": true }));
            } else {
                println!("account {portal_id} reset");
            }
            return Ok(());
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for key in summary {
            println!("{key}: {}", field(&value, key));
        }
    }
    Ok(())
}

fn field(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}
