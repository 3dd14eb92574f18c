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

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
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
