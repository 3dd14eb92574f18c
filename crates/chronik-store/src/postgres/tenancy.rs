//! PostgreSQL SQL for [`TenancyStore`].

use std::collections::{BTreeMap, HashMap};

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::tenancy::{BearerKind, Email, Scopes};
use chronik_domain::{AccountId, AppId, ObjectId, PrivateAppId, TokenHash};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::{account_exists, db, from_ms, ms, raise_settings_version, PostgresStore};
use crate::tenancy::*;
use crate::StoreError;

fn scopes_json(scopes: &Scopes) -> String {
    serde_json::Value::from(scopes.to_vec()).to_string()
}

fn scopes_from_json(raw: &str) -> Result<Scopes, StoreError> {
    let list: Vec<String> = serde_json::from_str(raw).map_err(StoreError::internal)?;
    Ok(Scopes::from_stored(list))
}

fn account_row(r: &PgRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId(r.try_get(0).map_err(db)?),
        name: r.try_get(1).map_err(db)?,
        created_at: from_ms(r.try_get(2).map_err(db)?),
        time_zone: r.try_get(3).map_err(db)?,
    })
}

fn icon_row(r: &PgRow) -> Result<AppIcon, StoreError> {
    let original_bytes: i32 = r.try_get(2).map_err(db)?;
    Ok(AppIcon {
        app: AppId(r.try_get(0).map_err(db)?),
        content_type: r.try_get(1).map_err(db)?,
        original_bytes: u64::try_from(original_bytes).map_err(StoreError::internal)?,
        rendition_png: r.try_get(3).map_err(db)?,
        updated_at: from_ms(r.try_get(4).map_err(db)?),
    })
}

fn app_row(r: &PgRow) -> Result<App, StoreError> {
    Ok(App {
        id: AppId(r.try_get(0).map_err(db)?),
        name: r.try_get(1).map_err(db)?,
        client_id: r.try_get(2).map_err(db)?,
        client_secret: TokenHash::from_stored(r.try_get(3).map_err(db)?),
        created_at: from_ms(r.try_get(4).map_err(db)?),
    })
}

/// Reads `account_id, app_id, scopes, user_email, user_id` starting at column `at`.
fn grant_row(r: &PgRow, at: usize) -> Result<Grant, StoreError> {
    Ok(Grant {
        account: AccountId(r.try_get(at).map_err(db)?),
        app: AppId(r.try_get(at + 1).map_err(db)?),
        scopes: scopes_from_json(&r.try_get::<String, _>(at + 2).map_err(db)?)?,
        user: r.try_get(at + 3).map_err(db)?,
        user_id: r.try_get(at + 4).map_err(db)?,
    })
}

async fn insert_tokens(
    conn: &mut PgConnection,
    grant: &Grant,
    tokens: &NewTokens,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let scopes = scopes_json(&grant.scopes);
    let mut rows = sqlx::query(
        "INSERT INTO installs (account_id, app_id, scopes, user_email, user_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (account_id, app_id) DO UPDATE SET
             scopes = excluded.scopes, user_email = excluded.user_email,
             user_id = excluded.user_id, updated_at = excluded.updated_at",
    )
    .bind(grant.account.0)
    .bind(grant.app.0)
    .bind(&scopes)
    .bind(&grant.user)
    .bind(grant.user_id)
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    rows += sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, account_id, app_id, scopes, user_email, user_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tokens.refresh.as_str())
    .bind(grant.account.0)
    .bind(grant.app.0)
    .bind(&scopes)
    .bind(&grant.user)
    .bind(grant.user_id)
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    rows += sqlx::query(
        "INSERT INTO access_tokens (token_hash, account_id, app_id, refresh_token_hash, scopes,
                                    user_email, user_id, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tokens.access.as_str())
    .bind(grant.account.0)
    .bind(grant.app.0)
    .bind(tokens.refresh.as_str())
    .bind(&scopes)
    .bind(&grant.user)
    .bind(grant.user_id)
    .bind(ms(tokens.access_expires_at))
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    Ok(rows)
}

/// The live contact with `email` (compared folded), created with that email when none has it;
/// `true` when created. Claims the email first, as create_objects claims a contact's `email`:
/// of two concurrent creates, ON CONFLICT lets exactly one win and makes the other wait for it,
/// then read its contact.
pub(super) async fn contact_by_email(
    tx: &mut PgConnection,
    account: AccountId,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<(i64, bool), StoreError> {
    let claim = UniqueValue::new("email", email.as_str());
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
         VALUES ($1, '0-1', $2, $3, nextval('object_ids'))
         ON CONFLICT DO NOTHING RETURNING object_id",
    )
    .bind(account.0)
    .bind(&claim.property)
    .bind(&claim.value)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    match claimed {
        Some(id) => {
            let properties = serde_json::json!({ "email": email.as_str() });
            sqlx::query(
                "INSERT INTO crm_objects (account_id, object_id, object_type_id, properties, created_at, updated_at)
                 VALUES ($1, $2, '0-1', $3, $4, $4)",
            )
            .bind(account.0)
            .bind(id)
            .bind(properties)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            Ok((id, true))
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "SELECT object_id FROM crm_unique_values
                 WHERE account_id = $1 AND object_type_id = '0-1' AND property = $2 AND value = $3",
            )
            .bind(account.0)
            .bind(&claim.property)
            .bind(&claim.value)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            Ok((id, false))
        }
    }
}

/// The contacts holding each of `emails` (folded), for a whole batch in two statements: the
/// claims of the emails no contact has (in folded order, so two batches never wait on each
/// other in a cycle; of two concurrent claims ON CONFLICT lets one win and makes the other
/// wait for it), then the holders of the others. Answers each folded email's contact, and the
/// ids claimed for new contacts with their emails as sent: the caller writes those records
/// ([`insert_contacts`]) before its commit, where the claims' deferred foreign key is checked.
pub(super) async fn claim_contact_emails(
    tx: &mut PgConnection,
    account: AccountId,
    emails: &[&Email],
) -> Result<(HashMap<String, i64>, BTreeMap<i64, String>), StoreError> {
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for e in emails {
        wanted.entry(e.folded()).or_insert(e.as_str());
    }
    let folded: Vec<&str> = wanted.keys().copied().collect();
    let mut found: HashMap<String, i64> = HashMap::with_capacity(folded.len());
    let mut created: BTreeMap<i64, String> = BTreeMap::new();
    if folded.is_empty() {
        return Ok((found, created));
    }
    let claimed: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
         SELECT $1, '0-1', 'email', e.folded, nextval('object_ids')
         FROM UNNEST($2::text[]) WITH ORDINALITY AS e(folded, n)
         ORDER BY e.n
         ON CONFLICT DO NOTHING
         RETURNING value, object_id",
    )
    .bind(account.0)
    .bind(&folded)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    for (value, id) in claimed {
        let sent = wanted
            .get(value.as_str())
            .copied()
            .unwrap_or(value.as_str());
        created.insert(id, sent.to_owned());
        found.insert(value, id);
    }
    let held: Vec<&str> = folded
        .iter()
        .copied()
        .filter(|f| !found.contains_key(*f))
        .collect();
    if !held.is_empty() {
        // A statement of its own: it sees the claims the insert waited for. One index probe
        // per email, whatever the statistics say: written as `value = ANY($2)`, PostgreSQL
        // plans it, while autovacuum has not yet analyzed a table that grew fast (a bulk load),
        // as a scan of all the account's email claims filtered by the array (300 ms a batch of
        // 500 at 80,000 contacts, against 3 ms probed; BENCHMARKS.md, `timeline`). `OFFSET 0`
        // keeps the subquery from being flattened into a hash join over the same scan.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT e.folded, v.object_id FROM UNNEST($2::text[]) AS e(folded)
             CROSS JOIN LATERAL (
                 SELECT object_id FROM crm_unique_values
                 WHERE account_id = $1 AND object_type_id = '0-1' AND property = 'email'
                   AND value = e.folded
                 OFFSET 0) v",
        )
        .bind(account.0)
        .bind(&held)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        found.extend(rows);
    }
    Ok((found, created))
}

/// Writes the records of contacts whose emails [`claim_contact_emails`] claimed, each with
/// its properties (its email among them), in one statement.
pub(super) async fn insert_contacts(
    conn: &mut PgConnection,
    account: AccountId,
    contacts: &BTreeMap<i64, BTreeMap<String, String>>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if contacts.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = contacts.keys().copied().collect();
    let properties = contacts
        .values()
        .map(|p| serde_json::to_string(p).map_err(StoreError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sqlx::query(
        "INSERT INTO crm_objects
             (account_id, object_id, object_type_id, properties, created_at, updated_at)
         SELECT $1, c.id, '0-1', c.p::jsonb, $4, $4
         FROM UNNEST($2::bigint[], $3::text[]) AS c(id, p)",
    )
    .bind(account.0)
    .bind(&ids)
    .bind(&properties)
    .bind(ms(now))
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected())
}

/// The live contacts the visitor tokens `utks` are linked to (`visitor_tokens`).
pub(super) async fn contacts_by_utk(
    conn: &mut PgConnection,
    account: AccountId,
    utks: &[&str],
) -> Result<HashMap<String, i64>, StoreError> {
    if utks.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT v.utk, v.object_id FROM visitor_tokens v JOIN crm_objects o
             ON o.account_id = v.account_id AND o.object_id = v.object_id
         WHERE v.account_id = $1 AND v.utk = ANY($2) AND o.archived_at IS NULL",
    )
    .bind(account.0)
    .bind(utks)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows.into_iter().collect())
}

#[async_trait::async_trait]
impl TenancyStore for PostgresStore {
    #[tracing::instrument(skip_all)]
    async fn create_account(&self, name: &str, now: DateTime<Utc>) -> Result<Account, StoreError> {
        let row = sqlx::query(
            "INSERT INTO accounts (name, created_at) VALUES ($1, $2)
             RETURNING account_id, name, created_at, time_zone",
        )
        .bind(name)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        account_row(&row)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_account(&self, account: AccountId) -> Result<Account, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, name, created_at, time_zone FROM accounts WHERE account_id = $1",
        )
        .bind(account.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        account_row(&row)
    }

    #[tracing::instrument(skip_all)]
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, name, created_at, time_zone FROM accounts ORDER BY account_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(account_row).collect()
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn set_account_time_zone(
        &self,
        account: AccountId,
        time_zone: &str,
    ) -> Result<Account, StoreError> {
        let row = sqlx::query("UPDATE accounts SET time_zone = $1 WHERE account_id = $2 RETURNING account_id, name, created_at, time_zone")
        .bind(time_zone)
        .bind(account.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        account_row(&row)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_private_app(
        &self,
        account: AccountId,
        app: NewPrivateApp,
        now: DateTime<Utc>,
    ) -> Result<PrivateApp, StoreError> {
        // The foreign key refuses an unknown account (mapped to NotFound).
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO private_apps (account_id, name, token_hash, scopes, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING private_app_id",
        )
        .bind(account.0)
        .bind(&app.name)
        .bind(app.token.as_str())
        .bind(scopes_json(&app.scopes))
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        Ok(PrivateApp {
            account,
            id: PrivateAppId(id),
            name: app.name,
            scopes: app.scopes,
            created_at: from_ms(ms(now)),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn create_app(&self, app: NewApp, now: DateTime<Utc>) -> Result<App, StoreError> {
        let row = sqlx::query(
            "INSERT INTO apps (name, developer_key_hash, client_id, client_secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING app_id, name, client_id, client_secret_hash, created_at",
        )
        .bind(&app.name)
        .bind(app.developer_key.as_str())
        .bind(&app.client_id)
        .bind(app.client_secret.as_str())
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        app_row(&row)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn get_app(&self, app: AppId) -> Result<App, StoreError> {
        let row = sqlx::query(
            "SELECT app_id, name, client_id, client_secret_hash, created_at FROM apps WHERE app_id = $1",
        )
        .bind(app.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        app_row(&row)
    }

    #[tracing::instrument(skip_all)]
    async fn app_by_client_id(&self, client_id: &str) -> Result<App, StoreError> {
        let row = sqlx::query(
            "SELECT app_id, name, client_id, client_secret_hash, created_at FROM apps WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        app_row(&row)
    }

    #[tracing::instrument(skip_all)]
    async fn app_by_developer_key(&self, key: &TokenHash) -> Result<App, StoreError> {
        let row = sqlx::query(
            "SELECT app_id, name, client_id, client_secret_hash, created_at
             FROM apps WHERE developer_key_hash = $1",
        )
        .bind(key.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        app_row(&row)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn set_app_icon(
        &self,
        app: AppId,
        icon: NewAppIcon,
        now: DateTime<Utc>,
    ) -> Result<AppIcon, StoreError> {
        // The foreign key refuses an unknown app (mapped to NotFound).
        let row = sqlx::query(
            "INSERT INTO app_icons (app_id, content_type, original, rendition, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (app_id) DO UPDATE SET
                 content_type = excluded.content_type, original = excluded.original,
                 rendition = excluded.rendition, updated_at = excluded.updated_at
             RETURNING app_id, content_type, octet_length(original), rendition, updated_at",
        )
        .bind(app.0)
        .bind(&icon.content_type)
        .bind(&icon.original)
        .bind(&icon.rendition_png)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        icon_row(&row)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn app_icon(&self, app: AppId) -> Result<AppIcon, StoreError> {
        let row = sqlx::query("SELECT app_id, content_type, octet_length(original), rendition, updated_at FROM app_icons WHERE app_id = $1")
        .bind(app.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        icon_row(&row)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn app_icon_original(&self, app: AppId) -> Result<AppIconOriginal, StoreError> {
        let row = sqlx::query("SELECT content_type, original FROM app_icons WHERE app_id = $1")
            .bind(app.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(AppIconOriginal {
            content_type: row.try_get(0).map_err(db)?,
            bytes: row.try_get(1).map_err(db)?,
        })
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn delete_app_icon(&self, app: AppId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM app_icons WHERE app_id = $1")
            .bind(app.0)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Self::committed(deleted);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account = %grant.account, app = %grant.app))]
    async fn install_app(
        &self,
        grant: &Grant,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let rows = insert_tokens(&mut tx, grant, tokens, now).await?;
        tx.commit().await.map_err(db)?;
        Self::committed(rows);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account = %code.grant.account, app = %code.grant.app))]
    async fn create_authorization_code(
        &self,
        code: &NewAuthorizationCode,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let g = &code.grant;
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, account_id, app_id, scopes, user_email,
                 user_id, redirect_uri, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(code.code.as_str())
        .bind(g.account.0)
        .bind(g.app.0)
        .bind(scopes_json(&g.scopes))
        .bind(&g.user)
        .bind(g.user_id)
        .bind(&code.redirect_uri)
        .bind(ms(code.expires_at))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        Ok(())
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The conditional UPDATE is the one-time check: the row lock makes a concurrent second
        // exchange wait, then match nothing.
        let row = sqlx::query(
            "UPDATE authorization_codes SET redeemed_at = $1
             WHERE code_hash = $2 AND app_id = $3 AND redirect_uri = $4
               AND redeemed_at IS NULL AND expires_at > $1
             RETURNING account_id, app_id, scopes, user_email, user_id",
        )
        .bind(ms(now))
        .bind(code.as_str())
        .bind(app.0)
        .bind(redirect_uri)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let grant = grant_row(&row, 0)?;
        let rows = insert_tokens(&mut tx, &grant, tokens, now).await?;
        tx.commit().await.map_err(db)?;
        Self::committed(rows + 1);
        Ok(grant)
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
        let row = sqlx::query(
            "INSERT INTO access_tokens (token_hash, account_id, app_id, refresh_token_hash, scopes,
                                        user_email, user_id, expires_at, created_at)
             SELECT $1, account_id, app_id, token_hash, scopes, user_email, user_id, $2, $3
             FROM refresh_tokens
             WHERE token_hash = $4 AND app_id = $5 AND revoked_at IS NULL
             RETURNING account_id, app_id, scopes, user_email, user_id",
        )
        .bind(access.as_str())
        .bind(ms(access_expires_at))
        .bind(ms(now))
        .bind(refresh.as_str())
        .bind(app.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        grant_row(&row, 0)
    }

    #[tracing::instrument(skip_all)]
    async fn access_token(&self, token: &TokenHash) -> Result<AccessToken, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, app_id, scopes, user_email, user_id, expires_at
             FROM access_tokens WHERE token_hash = $1",
        )
        .bind(token.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(AccessToken {
            grant: grant_row(&row, 0)?,
            expires_at: from_ms(row.try_get(5).map_err(db)?),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn refresh_token(&self, token: &TokenHash) -> Result<RefreshToken, StoreError> {
        let row = sqlx::query(
            "SELECT r.account_id, r.app_id, r.scopes, r.user_email, r.user_id, a.client_id
             FROM refresh_tokens r JOIN apps a ON a.app_id = r.app_id
             WHERE r.token_hash = $1 AND r.revoked_at IS NULL",
        )
        .bind(token.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(RefreshToken {
            grant: grant_row(&row, 0)?,
            client_id: row.try_get(5).map_err(db)?,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_refresh_token(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The account first (the order every change of settings takes its locks in).
        let account: Option<i64> = sqlx::query_scalar(
            "SELECT account_id FROM refresh_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let account = account.ok_or(StoreError::NotFound)?;
        raise_settings_version(&mut tx, AccountId(account)).await?;
        let revoked = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(ms(now))
        .bind(token.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if revoked == 0 {
            return Err(StoreError::NotFound);
        }
        let deleted = sqlx::query("DELETE FROM access_tokens WHERE refresh_token_hash = $1")
            .bind(token.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        tx.commit().await.map_err(db)?;
        Self::committed(revoked + deleted);
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn bearer(&self, token: &TokenHash) -> Result<BearerGrant, StoreError> {
        // One round trip: the token is either an install's access token or a private app's.
        let row = sqlx::query(
            "SELECT t.account_id, t.app_id, t.private_app_id, t.scopes, t.expires_at,
                    a.settings_version
             FROM (SELECT account_id, app_id, NULL::BIGINT AS private_app_id, scopes, expires_at
                   FROM access_tokens WHERE token_hash = $1
                   UNION ALL
                   SELECT account_id, NULL, private_app_id, scopes, NULL
                   FROM private_apps WHERE token_hash = $1
                   LIMIT 1) t
             JOIN accounts a ON a.account_id = t.account_id",
        )
        .bind(token.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let app: Option<i64> = row.try_get(1).map_err(db)?;
        let private_app: Option<i64> = row.try_get(2).map_err(db)?;
        let kind = match (app, private_app) {
            (Some(app), _) => BearerKind::Install { app: AppId(app) },
            (None, Some(p)) => BearerKind::PrivateApp {
                private_app: PrivateAppId(p),
            },
            (None, None) => return Err(StoreError::internal("bearer row without a principal")),
        };
        let expires_at: Option<i64> = row.try_get(4).map_err(db)?;
        Ok(BearerGrant {
            account: AccountId(row.try_get(0).map_err(db)?),
            kind,
            scopes: scopes_from_json(&row.try_get::<String, _>(3).map_err(db)?)?,
            expires_at: expires_at.map(from_ms),
            settings: SettingsVersion(row.try_get(5).map_err(db)?),
        })
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn link_visitor(
        &self,
        account: AccountId,
        utk: &str,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<VisitorLink, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        account_exists(&mut tx, account).await?;
        let (contact, contact_created) = contact_by_email(&mut tx, account, email, now).await?;
        let rows = 1 + if contact_created { 2 } else { 0 };
        sqlx::query(
            "INSERT INTO visitor_tokens (account_id, utk, object_id, linked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, utk) DO UPDATE SET object_id = excluded.object_id, linked_at = excluded.linked_at",
        )
        .bind(account.0)
        .bind(utk)
        .bind(contact)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Self::committed(rows);
        Ok(VisitorLink {
            contact: ObjectId(contact),
            contact_created,
        })
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn reset_account(&self, account: AccountId) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        account_exists(&mut tx, account).await?;
        let mut rows = 0;
        for sql in [
            // Records and events only: schemas, property and event definitions and timeline event
            // types stay.
            "DELETE FROM event_completions WHERE account_id = $1",
            "DELETE FROM event_usage WHERE account_id = $1",
            "DELETE FROM timeline_events WHERE account_id = $1",
            "DELETE FROM timeline_stamps WHERE account_id = $1",
            "DELETE FROM visitor_tokens WHERE account_id = $1",
            "DELETE FROM crm_unique_values WHERE account_id = $1",
            "DELETE FROM crm_objects WHERE account_id = $1",
        ] {
            rows += sqlx::query(sql)
                .bind(account.0)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Self::committed(rows);
        Ok(())
    }
}
