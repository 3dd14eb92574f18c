//! App object cases: deploys by uid, type numbers shared by every account, visibility only
//! where the app is installed, and records of app object types.

use std::collections::BTreeMap;

use chronik_domain::crm::app_object::AppObjectDefinition;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::schema::Labels;
use chronik_domain::tenancy::Scopes;
use chronik_domain::{AccountId, AppId, Secret};
use chronik_store::StoreError;
use chronik_store::{
    AppObjectKey, DeployChange, Grant, NewApp, NewObject, NewTokens, Store, StoredAppObject,
};
use chrono::{Duration, Utc};

use crate::conformance;
use crate::crm::property;
use crate::fixture::Fixture;

conformance!(
    deploys_create_update_and_keep_types_by_uid,
    a_deploy_checked_against_an_older_state_stores_nothing,
    a_name_of_another_uid_is_a_conflict_and_the_deploy_stores_nothing,
    accounts_see_app_objects_only_where_the_app_is_installed,
    records_of_an_app_object_need_the_install,
    deploying_for_an_unknown_app_is_not_found,
);

async fn new_app(store: &dyn Store, name: &str) -> AppId {
    store
        .create_app(
            NewApp {
                name: name.into(),
                developer_key: Secret::generate("dev-").hash(),
                client_id: Secret::generate_uuid_shaped().expose().to_owned(),
                client_secret: Secret::generate("cs-").hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}

async fn install(store: &dyn Store, account: AccountId, app: AppId) {
    let grant = Grant {
        account,
        app,
        scopes: Scopes::from_stored(["crm.objects.custom.write".to_owned()]),
        user: "dev@example.com".into(),
        user_id: 7,
    };
    let tokens = NewTokens {
        access: Secret::generate("at-").hash(),
        access_expires_at: Utc::now() + Duration::minutes(30),
        refresh: Secret::generate("rt-").hash(),
    };
    store
        .install_app(&grant, &tokens, Utc::now())
        .await
        .unwrap();
}

fn definition(uid: &str, name: &str, properties: &[&str]) -> AppObjectDefinition {
    AppObjectDefinition {
        uid: uid.into(),
        name: name.into(),
        description: format!("{name} records"),
        labels: Labels {
            singular: name.to_lowercase(),
            plural: format!("{}s", name.to_lowercase()),
        },
        app_prefix: None,
        primary_display_property: properties[0].into(),
        secondary_display_properties: Vec::new(),
        properties: properties
            .iter()
            .map(|p| property(p, &p.to_uppercase()))
            .collect(),
    }
}

/// Deploys `objects` for `app`, checked against what the app has now (as the server does).
async fn deploy(
    store: &dyn Store,
    app: AppId,
    objects: &[AppObjectDefinition],
) -> Result<Vec<(StoredAppObject, DeployChange)>, StoreError> {
    let checked = store.app_objects_of_app(app).await?;
    store
        .deploy_app_objects(app, &checked, objects, Utc::now())
        .await
}

/// An app with CAR deployed, installed in one of two fresh accounts: the app, the account it
/// is installed in, the other account, and CAR.
async fn installed_car(store: &dyn Store) -> (AppId, AccountId, AccountId, StoredAppObject) {
    let app = new_app(store, "Lot").await;
    let installed = store.create_account("Dealer", Utc::now()).await.unwrap().id;
    let elsewhere = store.create_account("Other", Utc::now()).await.unwrap().id;
    install(store, installed, app).await;
    let car = deploy(store, app, &[definition("car", "CAR", &["model"])])
        .await
        .unwrap()
        .remove(0)
        .0;
    (app, installed, elsewhere, car)
}

async fn deploys_create_update_and_keep_types_by_uid(fx: &Fixture) {
    let store = fx.open().await;
    let app = new_app(&*store, "Lot").await;
    let other = new_app(&*store, "Other").await;
    let first = deploy(
        &*store,
        app,
        &[
            definition("car", "CAR", &["model"]),
            definition("bike", "BIKE", &["frame"]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        first.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        [DeployChange::Created, DeployChange::Created]
    );
    let (car, bike) = (first[0].0.clone(), first[1].0.clone());
    assert_ne!(car.number, bike.number);
    assert_eq!(car.type_id(), ObjectTypeId::App(car.number));

    let again = deploy(
        &*store,
        app,
        &[
            definition("car", "CAR", &["model", "vin"]),
            definition("bike", "BIKE", &["frame"]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|(s, c)| (s.number, *c))
            .collect::<Vec<_>>(),
        [
            (car.number, DeployChange::Updated),
            (bike.number, DeployChange::Unchanged)
        ]
    );
    assert_eq!(again[0].0.definition.properties.len(), 2);

    // Another app's type of the same name is a type of its own.
    let theirs = deploy(&*store, other, &[definition("car", "CAR", &["model"])])
        .await
        .unwrap();
    assert_ne!(theirs[0].0.number, car.number);

    let listed = store.app_objects_of_app(app).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| (s.number, s.definition.name.as_str()))
            .collect::<Vec<_>>(),
        [(car.number, "CAR"), (bike.number, "BIKE")]
    );
    drop(store);
    let reopened = fx.open().await;
    assert_eq!(reopened.app_objects_of_app(app).await.unwrap(), listed);
}

async fn a_name_of_another_uid_is_a_conflict_and_the_deploy_stores_nothing(fx: &Fixture) {
    let store = fx.open().await;
    let app = new_app(&*store, "Lot").await;
    deploy(&*store, app, &[definition("car", "CAR", &["model"])])
        .await
        .unwrap();
    let refused = deploy(
        &*store,
        app,
        &[
            definition("bike", "BIKE", &["frame"]),
            definition("auto", "CAR", &["model"]),
        ],
    )
    .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    let names: Vec<String> = store
        .app_objects_of_app(app)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.definition.uid)
        .collect();
    assert_eq!(names, ["car"], "the bike of the refused deploy is not kept");
}

async fn accounts_see_app_objects_only_where_the_app_is_installed(fx: &Fixture) {
    let store = fx.open().await;
    let (app, installed, elsewhere, car) = installed_car(&*store).await;
    for key in [
        AppObjectKey::Number(car.number),
        AppObjectKey::Name(app, "CAR".into()),
    ] {
        assert_eq!(
            store.app_object_in_account(installed, &key).await.unwrap(),
            car
        );
        assert!(matches!(
            store.app_object_in_account(elsewhere, &key).await,
            Err(StoreError::NotFound)
        ));
    }
    assert!(matches!(
        store
            .app_object_in_account(installed, &AppObjectKey::Name(app, "BIKE".into()))
            .await,
        Err(StoreError::NotFound)
    ));
    // Installing later makes the types deployed before visible.
    install(&*store, elsewhere, app).await;
    assert_eq!(
        store
            .app_object_in_account(elsewhere, &AppObjectKey::Number(car.number))
            .await
            .unwrap()
            .number,
        car.number
    );
}

async fn records_of_an_app_object_need_the_install(fx: &Fixture) {
    let store = fx.open().await;
    let (app, installed, elsewhere, car) = installed_car(&*store).await;
    let record = || NewObject {
        properties: BTreeMap::from([(format!("a{app}_model"), "Model T".to_owned())]),
        unique: Vec::new(),
    };
    let created = store
        .create_objects(installed, car.type_id(), vec![record()], Utc::now())
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(created.type_id, car.type_id());
    let listed = store
        .list_objects(installed, car.type_id(), None, 10, false)
        .await
        .unwrap();
    assert_eq!(listed, [created]);
    assert!(matches!(
        store
            .create_objects(elsewhere, car.type_id(), vec![record()], Utc::now())
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .create_objects(
                installed,
                ObjectTypeId::App(987_654_321),
                vec![record()],
                Utc::now()
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn deploying_for_an_unknown_app_is_not_found(fx: &Fixture) {
    let store = fx.open().await;
    assert!(matches!(
        store
            .deploy_app_objects(
                AppId(987_654_321),
                &[],
                &[definition("car", "CAR", &["model"])],
                Utc::now()
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn a_deploy_checked_against_an_older_state_stores_nothing(fx: &Fixture) {
    let store = fx.open().await;
    let app = new_app(&*store, "Lot").await;
    let before = store.app_objects_of_app(app).await.unwrap();
    // Another deploy lands between the check and the write.
    store
        .deploy_app_objects(
            app,
            &before,
            &[definition("car", "CAR", &["model"])],
            Utc::now(),
        )
        .await
        .unwrap();
    let stale = store
        .deploy_app_objects(
            app,
            &before,
            &[definition("car", "CAR", &["model", "vin"])],
            Utc::now(),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let now = store.app_objects_of_app(app).await.unwrap();
    assert_eq!(
        now[0].definition.properties.len(),
        1,
        "the stale deploy stored nothing"
    );
    // Checked against what is there now, it goes through.
    let fresh = store
        .deploy_app_objects(
            app,
            &now,
            &[definition("car", "CAR", &["model", "vin"])],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(fresh[0].1, DeployChange::Updated);
}
