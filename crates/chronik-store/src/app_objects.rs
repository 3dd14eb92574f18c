//! [`AppObjectStore`]: the app object types each app deploys from its project, and which of
//! them an account sees (those of the apps installed in it). Their records are CRM records
//! ([`crate::CrmStore`]) of type `4-<n>`.

use chronik_domain::crm::app_object::AppObjectDefinition;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::{AccountId, AppId};
use chrono::{DateTime, Utc};

use crate::StoreError;

/// An app object type as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppObject {
    /// The app that defines it.
    pub app: AppId,
    /// The `<n>` of its objectTypeId `4-<n>`.
    pub number: i64,
    /// The definition last deployed.
    pub definition: AppObjectDefinition,
    /// First deploy.
    pub created_at: DateTime<Utc>,
    /// Last deploy that changed it.
    pub updated_at: DateTime<Utc>,
}

impl StoredAppObject {
    /// Its objectTypeId, `4-<n>`.
    pub fn type_id(&self) -> ObjectTypeId {
        ObjectTypeId::App(self.number)
    }
}

/// What a deploy did to one app object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployChange {
    /// A new uid: a new type.
    Created,
    /// The uid was deployed before with another definition.
    Updated,
    /// The same definition again.
    Unchanged,
}

/// `Conflict` unless `current` (the app's types now, by number) are what `checked` says.
pub(crate) fn unchanged_since_check(
    checked: &[StoredAppObject],
    current: &[(i64, AppObjectDefinition)],
) -> Result<(), StoreError> {
    let same = checked.len() == current.len()
        && checked
            .iter()
            .zip(current)
            .all(|(c, (number, definition))| c.number == *number && &c.definition == definition);
    if same {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            constraint: "app objects changed since checked",
            existing_id: None,
        })
    }
}

/// How a request names an app object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppObjectKey {
    /// By the `<n>` of `4-<n>`.
    Number(i64),
    /// By app and upper-case name (the fully qualified name `a{appId}_{name}`).
    Name(AppId, String),
}

/// App object types.
#[async_trait::async_trait]
pub trait AppObjectStore: Send + Sync {
    /// Stores `objects` for `app` in one transaction, each by its uid: a new uid gets a new
    /// type number, a known one its new definition. Types the deploy does not name stay as
    /// they are. `checked` is the app's types as the caller checked the deploy against them
    /// ([`Self::app_objects_of_app`]): when they changed since (another deploy), nothing is
    /// stored and the answer is `Conflict`, as it is when a name belongs to another uid of the
    /// app. `NotFound` when there is no such app.
    async fn deploy_app_objects(
        &self,
        app: AppId,
        checked: &[StoredAppObject],
        objects: &[AppObjectDefinition],
        now: DateTime<Utc>,
    ) -> Result<Vec<(StoredAppObject, DeployChange)>, StoreError>;

    /// The app's types, by number.
    async fn app_objects_of_app(&self, app: AppId) -> Result<Vec<StoredAppObject>, StoreError>;

    /// One type as `account` sees it: `NotFound` unless its app is installed in the account.
    async fn app_object_in_account(
        &self,
        account: AccountId,
        key: &AppObjectKey,
    ) -> Result<StoredAppObject, StoreError>;
}
