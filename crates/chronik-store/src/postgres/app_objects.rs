//! PostgreSQL SQL for [`AppObjectStore`]. A deploy is one transaction that first locks its
//! app's row, so two deploys of one app (from any nodes) run one after the other.

use chronik_domain::crm::app_object::AppObjectDefinition;
use chronik_domain::{AccountId, AppId};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::{db, from_ms, ms, PostgresStore};
use crate::app_objects::*;
use crate::StoreError;

/// The columns [`row`] reads, as a literal for `concat!` (sqlx takes only static SQL).
macro_rules! columns {
    () => {
        "SELECT t.number, t.app_id, t.definition, t.created_at, t.updated_at "
    };
}

/// The types of the apps installed in account `$1`.
macro_rules! in_account {
    () => {
        "FROM app_object_types t JOIN installs i ON i.app_id = t.app_id AND i.account_id = $1 "
    };
}

fn row(r: &PgRow) -> Result<StoredAppObject, StoreError> {
    Ok(StoredAppObject {
        number: r.try_get(0).map_err(db)?,
        app: AppId(r.try_get(1).map_err(db)?),
        definition: r.try_get::<Json<AppObjectDefinition>, _>(2).map_err(db)?.0,
        created_at: from_ms(r.try_get(3).map_err(db)?),
        updated_at: from_ms(r.try_get(4).map_err(db)?),
    })
}

/// `NotFound` unless app object type `number` belongs to an app installed in `account`.
pub(super) async fn installed_app_object(
    conn: &mut PgConnection,
    account: AccountId,
    number: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "SELECT 1 FROM app_object_types t
         JOIN installs i ON i.app_id = t.app_id AND i.account_id = $1
         WHERE t.number = $2",
    )
    .bind(account.0)
    .bind(number)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn deploy_one(
    conn: &mut PgConnection,
    app: AppId,
    def: &AppObjectDefinition,
    now: DateTime<Utc>,
) -> Result<(StoredAppObject, DeployChange), StoreError> {
    let current: Option<(i64, Json<AppObjectDefinition>)> = sqlx::query_as(
        "SELECT number, definition FROM app_object_types WHERE app_id = $1 AND uid = $2",
    )
    .bind(app.0)
    .bind(&def.uid)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let change = match current {
        None => {
            sqlx::query(
                "INSERT INTO app_object_types (app_id, uid, name, definition, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(app.0)
            .bind(&def.uid)
            .bind(&def.name)
            .bind(Json(def))
            .bind(ms(now))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            DeployChange::Created
        }
        Some((_, Json(old))) if &old == def => DeployChange::Unchanged,
        Some((number, _)) => {
            sqlx::query(
                "UPDATE app_object_types SET name = $2, definition = $3, updated_at = $4
                 WHERE number = $1",
            )
            .bind(number)
            .bind(&def.name)
            .bind(Json(def))
            .bind(ms(now))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            DeployChange::Updated
        }
    };
    let stored = sqlx::query(concat!(
        columns!(),
        "FROM app_object_types t WHERE t.app_id = $1 AND t.uid = $2"
    ))
    .bind(app.0)
    .bind(&def.uid)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    Ok((row(&stored)?, change))
}

#[async_trait::async_trait]
impl AppObjectStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn deploy_app_objects(
        &self,
        app: AppId,
        checked: &[StoredAppObject],
        objects: &[AppObjectDefinition],
        now: DateTime<Utc>,
    ) -> Result<Vec<(StoredAppObject, DeployChange)>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SELECT 1 FROM apps WHERE app_id = $1 FOR UPDATE")
            .bind(app.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        // Read after the lock: a deploy that committed before it is seen.
        let current: Vec<(i64, AppObjectDefinition)> = sqlx::query(concat!(
            columns!(),
            "FROM app_object_types t WHERE t.app_id = $1 ORDER BY t.number"
        ))
        .bind(app.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .iter()
        .map(|r| row(r).map(|s| (s.number, s.definition)))
        .collect::<Result<_, _>>()?;
        unchanged_since_check(checked, &current)?;
        let mut out = Vec::with_capacity(objects.len());
        for def in objects {
            out.push(deploy_one(&mut tx, app, def, now).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn app_objects_of_app(&self, app: AppId) -> Result<Vec<StoredAppObject>, StoreError> {
        sqlx::query(concat!(
            columns!(),
            "FROM app_object_types t WHERE t.app_id = $1 ORDER BY t.number"
        ))
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(row)
        .collect()
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn app_object_in_account(
        &self,
        account: AccountId,
        key: &AppObjectKey,
    ) -> Result<StoredAppObject, StoreError> {
        let found = match key {
            AppObjectKey::Number(n) => {
                sqlx::query(concat!(columns!(), in_account!(), "WHERE t.number = $2"))
                    .bind(account.0)
                    .bind(n)
                    .fetch_one(&self.pool)
                    .await
            }
            AppObjectKey::Name(app, name) => {
                sqlx::query(concat!(
                    columns!(),
                    in_account!(),
                    "WHERE t.app_id = $2 AND t.name = $3"
                ))
                .bind(account.0)
                .bind(app.0)
                .bind(name)
                .fetch_one(&self.pool)
                .await
            }
        }
        .map_err(db)?;
        row(&found)
    }
}
