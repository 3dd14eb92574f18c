//! SQLite SQL for [`AppObjectStore`]. A deploy is one writer job, so two deploys of one app
//! never interleave.

use chronik_domain::crm::app_object::AppObjectDefinition;
use chronik_domain::{AccountId, AppId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{db, from_json, from_ms, ms, SqliteStore};
use crate::app_objects::*;
use crate::StoreError;

const COLUMNS: &str = "t.number, t.app_id, t.definition, t.created_at, t.updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<StoredAppObject> {
    Ok(StoredAppObject {
        number: r.get(0)?,
        app: AppId(r.get(1)?),
        definition: from_json(r, 2)?,
        created_at: from_ms(r.get(3)?),
        updated_at: from_ms(r.get(4)?),
    })
}

/// `NotFound` unless app object type `number` belongs to an app installed in `account`.
pub(super) fn installed_app_object(
    conn: &Connection,
    account: AccountId,
    number: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "SELECT 1 FROM app_object_types t
         JOIN installs i ON i.app_id = t.app_id AND i.account_id = ?1
         WHERE t.number = ?2",
    )
    .map_err(db)?
    .query_row(params![account.0, number], |_| Ok(()))
    .map_err(db)
}

fn deploy_one(
    conn: &Connection,
    app: AppId,
    def: &AppObjectDefinition,
    now: DateTime<Utc>,
) -> Result<(StoredAppObject, DeployChange), StoreError> {
    let json = serde_json::to_string(def).map_err(StoreError::internal)?;
    let current: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT number, definition FROM app_object_types WHERE app_id = ?1 AND uid = ?2",
        )
        .map_err(db)?
        .query_row(params![app.0, def.uid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db)?;
    let change = match &current {
        None => {
            conn.prepare_cached(
                "INSERT INTO app_object_types (app_id, uid, name, definition, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )
            .map_err(db)?
            .execute(params![app.0, def.uid, def.name, json, ms(now)])
            .map_err(db)?;
            DeployChange::Created
        }
        Some((_, old))
            if serde_json::from_str::<AppObjectDefinition>(old)
                .ok()
                .as_ref()
                == Some(def) =>
        {
            DeployChange::Unchanged
        }
        Some((number, _)) => {
            conn.prepare_cached(
                "UPDATE app_object_types SET name = ?2, definition = ?3, updated_at = ?4
                 WHERE number = ?1",
            )
            .map_err(db)?
            .execute(params![number, def.name, json, ms(now)])
            .map_err(db)?;
            DeployChange::Updated
        }
    };
    let stored = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM app_object_types t WHERE t.app_id = ?1 AND t.uid = ?2"
        ))
        .map_err(db)?
        .query_row(params![app.0, def.uid], row)
        .map_err(db)?;
    Ok((stored, change))
}

#[async_trait::async_trait]
impl AppObjectStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn deploy_app_objects(
        &self,
        app: AppId,
        checked: &[StoredAppObject],
        objects: &[AppObjectDefinition],
        now: DateTime<Utc>,
    ) -> Result<Vec<(StoredAppObject, DeployChange)>, StoreError> {
        let (checked, objects) = (checked.to_vec(), objects.to_vec());
        self.write(move |conn| {
            conn.prepare_cached("SELECT 1 FROM apps WHERE app_id = ?1")
                .map_err(db)?
                .query_row([app.0], |_| Ok(()))
                .map_err(db)?;
            let current: Vec<(i64, AppObjectDefinition)> = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM app_object_types t WHERE t.app_id = ?1 ORDER BY t.number"
                ))
                .map_err(db)?
                .query_map([app.0], row)
                .map_err(db)?
                .map(|r| r.map(|s| (s.number, s.definition)))
                .collect::<Result<_, _>>()
                .map_err(db)?;
            unchanged_since_check(&checked, &current)?;
            // The writer job is one transaction: a failure here undoes the earlier objects.
            objects
                .iter()
                .map(|def| deploy_one(conn, app, def, now))
                .collect()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn app_objects_of_app(&self, app: AppId) -> Result<Vec<StoredAppObject>, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM app_object_types t WHERE t.app_id = ?1 ORDER BY t.number"
            ))
            .map_err(db)?
            .query_map([app.0], row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn app_object_in_account(
        &self,
        account: AccountId,
        key: &AppObjectKey,
    ) -> Result<StoredAppObject, StoreError> {
        let key = key.clone();
        self.read(move |conn| {
            let join = "FROM app_object_types t
                        JOIN installs i ON i.app_id = t.app_id AND i.account_id = ?1";
            match key {
                AppObjectKey::Number(n) => conn
                    .prepare_cached(&format!("SELECT {COLUMNS} {join} WHERE t.number = ?2"))
                    .map_err(db)?
                    .query_row(params![account.0, n], row),
                AppObjectKey::Name(app, name) => conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} {join} WHERE t.app_id = ?2 AND t.name = ?3"
                    ))
                    .map_err(db)?
                    .query_row(params![account.0, app.0, name], row),
            }
            .map_err(db)
        })
        .await
    }
}
