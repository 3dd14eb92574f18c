//! SQLite SQL for [`TenancyStore`].

use std::collections::BTreeMap;

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::tenancy::{BearerKind, Email, Scopes};
use chronik_domain::{AccountId, AppId, ObjectId, PrivateAppId, TokenHash};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::completion_log;
use super::{
    account_exists, db, from_ms, json_error, ms, next_id, raise_settings_version, SqliteStore,
};
use crate::tenancy::*;
use crate::StoreError;

fn scopes_json(scopes: &Scopes) -> String {
    serde_json::Value::from(scopes.to_vec()).to_string()
}

fn scopes_from_json(raw: &str) -> rusqlite::Result<Scopes> {
    let list: Vec<String> = serde_json::from_str(raw).map_err(|e| json_error(0, e))?;
    Ok(Scopes::from_stored(list))
}

const ACCOUNT_COLUMNS: &str = "account_id, name, created_at, time_zone";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(r.get(0)?),
        name: r.get(1)?,
        created_at: from_ms(r.get(2)?),
        time_zone: r.get(3)?,
    })
}

const ICON_COLUMNS: &str = "app_id, content_type, length(original), rendition, updated_at";

fn icon_row(r: &Row<'_>) -> rusqlite::Result<AppIcon> {
    Ok(AppIcon {
        app: AppId(r.get(0)?),
        content_type: r.get(1)?,
        original_bytes: r.get(2)?,
        rendition_png: r.get(3)?,
        updated_at: from_ms(r.get(4)?),
    })
}

const APP_COLUMNS: &str = "app_id, name, client_id, client_secret_hash, created_at";

fn app_row(r: &Row<'_>) -> rusqlite::Result<App> {
    Ok(App {
        id: AppId(r.get(0)?),
        name: r.get(1)?,
        client_id: r.get(2)?,
        client_secret: TokenHash::from_stored(r.get(3)?),
        created_at: from_ms(r.get(4)?),
    })
}

/// Reads `account_id, app_id, scopes, user_email, user_id` starting at column `at`.
fn grant_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Grant> {
    Ok(Grant {
        account: AccountId(r.get(at)?),
        app: AppId(r.get(at + 1)?),
        scopes: scopes_from_json(&r.get::<_, String>(at + 2)?)?,
        user: r.get(at + 3)?,
        user_id: r.get(at + 4)?,
    })
}

fn insert_tokens(
    conn: &Connection,
    grant: &Grant,
    tokens: &NewTokens,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let scopes = scopes_json(&grant.scopes);
    conn.execute(
        "INSERT INTO installs (account_id, app_id, scopes, user_email, user_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (account_id, app_id) DO UPDATE SET
             scopes = excluded.scopes, user_email = excluded.user_email,
             user_id = excluded.user_id, updated_at = excluded.updated_at",
        params![grant.account.0, grant.app.0, scopes, grant.user, grant.user_id, ms(now)],
    )
    .map_err(db)?;
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, account_id, app_id, scopes, user_email, user_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            tokens.refresh.as_str(),
            grant.account.0,
            grant.app.0,
            scopes,
            grant.user,
            grant.user_id,
            ms(now)
        ],
    )
    .map_err(db)?;
    conn.execute(
        "INSERT INTO access_tokens (token_hash, account_id, app_id, refresh_token_hash, scopes,
                                    user_email, user_id, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            tokens.access.as_str(),
            grant.account.0,
            grant.app.0,
            tokens.refresh.as_str(),
            scopes,
            grant.user,
            grant.user_id,
            ms(tokens.access_expires_at),
            ms(now)
        ],
    )
    .map_err(db)?;
    Ok(())
}

/// The live contact with `email` (compared folded), created with that email when none has it;
/// `true` when created.
pub(super) fn contact_by_email(
    conn: &Connection,
    account: AccountId,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<(i64, bool), StoreError> {
    // The contact's email claim, as create_objects would make it for `0-1`.
    let claim = UniqueValue::new("email", email.as_str());
    let existing: Option<i64> = conn
        .prepare_cached(
            "SELECT object_id FROM crm_unique_values
             WHERE account_id = ?1 AND object_type_id = '0-1' AND property = ?2 AND value = ?3",
        )
        .map_err(db)?
        .query_row(params![account.0, claim.property, claim.value], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    if let Some(id) = existing {
        return Ok((id, false));
    }
    let id = next_id(conn, "object")?;
    create_contact(conn, account, id, email, BTreeMap::new(), now)?;
    Ok((id, true))
}

/// Creates contact `id` (a fresh id of the `object` sequence) with `email` (which no live
/// contact has: the caller made sure) and these other stored-form values.
pub(super) fn create_contact(
    conn: &Connection,
    account: AccountId,
    id: i64,
    email: &Email,
    mut properties: BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // The contact's email claim, as create_objects would make it for `0-1`.
    let claim = UniqueValue::new("email", email.as_str());
    properties.insert("email".to_owned(), email.as_str().to_owned());
    let properties = serde_json::to_string(&properties).map_err(StoreError::internal)?;
    conn.prepare_cached(
        "INSERT INTO crm_objects (account_id, object_id, object_type_id, properties, created_at, updated_at)
         VALUES (?1, ?2, '0-1', ?3, ?4, ?4)",
    )
    .map_err(db)?
    .execute(params![account.0, id, properties, ms(now)])
    .map_err(db)?;
    conn.prepare_cached(
        "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
         VALUES (?1, '0-1', ?2, ?3, ?4)",
    )
    .map_err(db)?
    .execute(params![account.0, claim.property, claim.value, id])
    .map_err(db)?;
    Ok(())
}

/// Links visitor token `utk` to contact `contact`; a utk linked to another contact moves.
pub(super) fn link_utk(
    conn: &Connection,
    account: AccountId,
    utk: &str,
    contact: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO visitor_tokens (account_id, utk, object_id, linked_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id, utk)
         DO UPDATE SET object_id = excluded.object_id, linked_at = excluded.linked_at",
    )
    .map_err(db)?
    .execute(params![account.0, utk, contact, ms(now)])
    .map_err(db)?;
    Ok(())
}

#[async_trait::async_trait]
impl TenancyStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn create_account(&self, name: &str, now: DateTime<Utc>) -> Result<Account, StoreError> {
        let name = name.to_owned();
        self.write(move |conn| {
            let id = next_id(conn, "account")?;
            conn.execute(
                "INSERT INTO accounts (account_id, name, created_at) VALUES (?1, ?2, ?3)",
                params![id, name, ms(now)],
            )
            .map_err(db)?;
            Ok(Account {
                id: AccountId(id),
                name,
                time_zone: DEFAULT_TIME_ZONE.to_owned(),
                created_at: from_ms(ms(now)),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_account(&self, account: AccountId) -> Result<Account, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?1"),
                [account.0],
                account_row,
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id"
                ))
                .map_err(db)?;
            let rows = stmt.query_map([], account_row).map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn set_account_time_zone(
        &self,
        account: AccountId,
        time_zone: &str,
    ) -> Result<Account, StoreError> {
        let time_zone = time_zone.to_owned();
        self.write(move |conn| {
            conn.query_row(
                &format!(
                    "UPDATE accounts SET time_zone = ?1 WHERE account_id = ?2
                     RETURNING {ACCOUNT_COLUMNS}"
                ),
                params![time_zone, account.0],
                account_row,
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_private_app(
        &self,
        account: AccountId,
        app: NewPrivateApp,
        now: DateTime<Utc>,
    ) -> Result<PrivateApp, StoreError> {
        self.write(move |conn| {
            account_exists(conn, account)?;
            let id = next_id(conn, "private_app")?;
            conn.execute(
                "INSERT INTO private_apps (account_id, private_app_id, name, token_hash, scopes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![account.0, id, app.name, app.token.as_str(), scopes_json(&app.scopes), ms(now)],
            )
            .map_err(db)?;
            Ok(PrivateApp {
                account,
                id: PrivateAppId(id),
                name: app.name,
                scopes: app.scopes,
                created_at: from_ms(ms(now)),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn create_app(&self, app: NewApp, now: DateTime<Utc>) -> Result<App, StoreError> {
        self.write(move |conn| {
            let id = next_id(conn, "app")?;
            conn.execute(
                "INSERT INTO apps (app_id, name, developer_key_hash, client_id, client_secret_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    app.name,
                    app.developer_key.as_str(),
                    app.client_id,
                    app.client_secret.as_str(),
                    ms(now)
                ],
            )
            .map_err(db)?;
            Ok(App {
                id: AppId(id),
                name: app.name,
                client_id: app.client_id,
                client_secret: app.client_secret,
                created_at: from_ms(ms(now)),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn get_app(&self, app: AppId) -> Result<App, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE app_id = ?1"),
                [app.0],
                app_row,
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn app_by_client_id(&self, client_id: &str) -> Result<App, StoreError> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE client_id = ?1"),
                [client_id],
                app_row,
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn app_by_developer_key(&self, key: &TokenHash) -> Result<App, StoreError> {
        let key = key.as_str().to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE developer_key_hash = ?1"),
                [key],
                app_row,
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn set_app_icon(
        &self,
        app: AppId,
        icon: NewAppIcon,
        now: DateTime<Utc>,
    ) -> Result<AppIcon, StoreError> {
        self.write(move |conn| {
            // The foreign key refuses an unknown app (NotFound through `db`).
            conn.query_row(
                &format!(
                    "INSERT INTO app_icons (app_id, content_type, original, rendition, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (app_id) DO UPDATE SET
                         content_type = excluded.content_type, original = excluded.original,
                         rendition = excluded.rendition, updated_at = excluded.updated_at
                     RETURNING {ICON_COLUMNS}"
                ),
                params![
                    app.0,
                    icon.content_type,
                    icon.original,
                    icon.rendition_png,
                    ms(now)
                ],
                icon_row,
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn app_icon(&self, app: AppId) -> Result<AppIcon, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ICON_COLUMNS} FROM app_icons WHERE app_id = ?1"
            ))
            .map_err(db)?
            .query_row([app.0], icon_row)
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn app_icon_original(&self, app: AppId) -> Result<AppIconOriginal, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT content_type, original FROM app_icons WHERE app_id = ?1",
                [app.0],
                |r| {
                    Ok(AppIconOriginal {
                        content_type: r.get(0)?,
                        bytes: r.get(1)?,
                    })
                },
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn delete_app_icon(&self, app: AppId) -> Result<(), StoreError> {
        self.write(move |conn| {
            let deleted = conn
                .execute("DELETE FROM app_icons WHERE app_id = ?1", [app.0])
                .map_err(db)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %grant.account, app = %grant.app))]
    async fn install_app(
        &self,
        grant: &Grant,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (grant, tokens) = (grant.clone(), tokens.clone());
        self.write(move |conn| insert_tokens(conn, &grant, &tokens, now))
            .await
    }

    #[tracing::instrument(skip_all, fields(account = %code.grant.account, app = %code.grant.app))]
    async fn create_authorization_code(
        &self,
        code: &NewAuthorizationCode,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let code = code.clone();
        self.write(move |conn| {
            let g = &code.grant;
            conn.execute(
                "INSERT INTO authorization_codes (code_hash, account_id, app_id, scopes, user_email,
                     user_id, redirect_uri, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    code.code.as_str(),
                    g.account.0,
                    g.app.0,
                    scopes_json(&g.scopes),
                    g.user,
                    g.user_id,
                    code.redirect_uri,
                    ms(code.expires_at),
                    ms(now)
                ],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn redeem_authorization_code(
        &self,
        app: AppId,
        code: &TokenHash,
        redirect_uri: &str,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<Grant, StoreError> {
        let (code, redirect_uri, tokens) = (
            code.as_str().to_owned(),
            redirect_uri.to_owned(),
            tokens.clone(),
        );
        self.write(move |conn| {
            // The conditional UPDATE is the one-time check: a second exchange matches no row.
            let grant = conn
                .query_row(
                    "UPDATE authorization_codes SET redeemed_at = ?1
                     WHERE code_hash = ?2 AND app_id = ?3 AND redirect_uri = ?4
                       AND redeemed_at IS NULL AND expires_at > ?1
                     RETURNING account_id, app_id, scopes, user_email, user_id",
                    params![ms(now), code, app.0, redirect_uri],
                    |r| grant_row(r, 0),
                )
                .map_err(db)?;
            insert_tokens(conn, &grant, &tokens, now)?;
            Ok(grant)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn refresh_access_token(
        &self,
        app: AppId,
        refresh: &TokenHash,
        access: &TokenHash,
        access_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Grant, StoreError> {
        let (refresh, access) = (refresh.as_str().to_owned(), access.as_str().to_owned());
        self.write(move |conn| {
            conn.query_row(
                "INSERT INTO access_tokens (token_hash, account_id, app_id, refresh_token_hash, scopes,
                                            user_email, user_id, expires_at, created_at)
                 SELECT ?1, account_id, app_id, token_hash, scopes, user_email, user_id, ?2, ?3
                 FROM refresh_tokens
                 WHERE token_hash = ?4 AND app_id = ?5 AND revoked_at IS NULL
                 RETURNING account_id, app_id, scopes, user_email, user_id",
                params![access, ms(access_expires_at), ms(now), refresh, app.0],
                |r| grant_row(r, 0),
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn access_token(&self, token: &TokenHash) -> Result<AccessToken, StoreError> {
        let token = token.as_str().to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT account_id, app_id, scopes, user_email, user_id, expires_at
                 FROM access_tokens WHERE token_hash = ?1",
            )
            .map_err(db)?
            .query_row([token], |r| {
                Ok(AccessToken {
                    grant: grant_row(r, 0)?,
                    expires_at: from_ms(r.get(5)?),
                })
            })
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn refresh_token(&self, token: &TokenHash) -> Result<RefreshToken, StoreError> {
        let token = token.as_str().to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT r.account_id, r.app_id, r.scopes, r.user_email, r.user_id, a.client_id
                 FROM refresh_tokens r JOIN apps a ON a.app_id = r.app_id
                 WHERE r.token_hash = ?1 AND r.revoked_at IS NULL",
                [token],
                |r| {
                    Ok(RefreshToken {
                        grant: grant_row(r, 0)?,
                        client_id: r.get(5)?,
                    })
                },
            )
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_refresh_token(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let token = token.as_str().to_owned();
        self.write(move |conn| {
            let revoked = conn
                .execute(
                    "UPDATE refresh_tokens SET revoked_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL",
                    params![ms(now), token],
                )
                .map_err(db)?;
            if revoked == 0 {
                return Err(StoreError::NotFound);
            }
            let account: i64 = conn
                .query_row(
                    "SELECT account_id FROM refresh_tokens WHERE token_hash = ?1",
                    [&token],
                    |r| r.get(0),
                )
                .map_err(db)?;
            raise_settings_version(conn, AccountId(account))?;
            conn.execute("DELETE FROM access_tokens WHERE refresh_token_hash = ?1", [token])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn bearer(&self, token: &TokenHash) -> Result<BearerGrant, StoreError> {
        let token = token.as_str().to_owned();
        self.read(move |conn| {
            // Every authenticated request runs these two lookups: keep them prepared.
            let install = conn
                .prepare_cached(
                    "SELECT t.account_id, t.app_id, t.scopes, t.expires_at, a.settings_version
                     FROM access_tokens t JOIN accounts a ON a.account_id = t.account_id
                     WHERE t.token_hash = ?1",
                )
                .map_err(db)?
                .query_row([&token], |r| {
                    Ok(BearerGrant {
                        account: AccountId(r.get(0)?),
                        kind: BearerKind::Install {
                            app: AppId(r.get(1)?),
                        },
                        scopes: scopes_from_json(&r.get::<_, String>(2)?)?,
                        expires_at: Some(from_ms(r.get(3)?)),
                        settings: SettingsVersion(r.get(4)?),
                    })
                })
                .optional()
                .map_err(db)?;
            if let Some(grant) = install {
                return Ok(grant);
            }
            conn.prepare_cached(
                "SELECT p.account_id, p.private_app_id, p.scopes, a.settings_version
                 FROM private_apps p JOIN accounts a ON a.account_id = p.account_id
                 WHERE p.token_hash = ?1",
            )
            .map_err(db)?
            .query_row([&token], |r| {
                Ok(BearerGrant {
                    account: AccountId(r.get(0)?),
                    kind: BearerKind::PrivateApp {
                        private_app: PrivateAppId(r.get(1)?),
                    },
                    scopes: scopes_from_json(&r.get::<_, String>(2)?)?,
                    expires_at: None,
                    settings: SettingsVersion(r.get(3)?),
                })
            })
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn link_visitor(
        &self,
        account: AccountId,
        utk: &str,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<VisitorLink, StoreError> {
        let (utk, email) = (utk.to_owned(), email.clone());
        self.write(move |conn| {
            account_exists(conn, account)?;
            let (contact, contact_created) = contact_by_email(conn, account, &email, now)?;
            link_utk(conn, account, &utk, contact, now)?;
            Ok(VisitorLink {
                contact: ObjectId(contact),
                contact_created,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn reset_account(&self, account: AccountId) -> Result<(), StoreError> {
        self.write_staging(move |conn, log| {
            account_exists(conn, account)?;
            // Records and events only: schemas, property and event definitions stay, and so do
            // timeline event types (they belong to apps).
            completion_log::purge(conn, log, account.0, None)?;
            for table in [
                "timeline_stamps",
                "timeline_events",
                "event_usage",
                "visitor_tokens",
                "crm_unique_values",
                "crm_objects",
            ] {
                conn.execute(
                    &format!("DELETE FROM {table} WHERE account_id = ?1"),
                    [account.0],
                )
                .map_err(db)?;
            }
            Ok(())
        })
        .await
    }
}
