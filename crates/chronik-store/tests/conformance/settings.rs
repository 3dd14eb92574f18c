//! Settings versions: a Bearer grant carries its account's settings version, every change of
//! the account's event definitions or tokens raises it (and only that account's), a write
//! checked against an older version is refused and stores nothing, and sends racing the
//! deletion of their definition leave none of its completions behind.

use std::sync::Arc;

use chronik_domain::association::RecordRef;
use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::StandardType;
use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::tenancy::Scopes;
use chronik_domain::{AccountId, DomainError, EventDefinitionId, ObjectId, Secret};
use chronik_store::{
    BatchRefusal, CompletionQuery, Grant, NewApp, NewCompletion, NewObject, NewPrivateApp,
    NewTokens, SettingsVersion, Store,
};
use chrono::{Duration, Utc};

use crate::completions::definition;
use crate::conformance;
use crate::fixture::Fixture;

conformance!(
    every_change_of_definitions_or_tokens_raises_the_settings_version,
    a_write_checked_against_older_settings_stores_nothing,
    sends_racing_the_deletion_of_their_definition_leave_none_behind,
);

const QUOTA: u64 = 1_000_000;

/// An account with a private app: the account and the app's token.
async fn account_with_token(store: &dyn Store, name: &str) -> (AccountId, Secret) {
    let account = store.create_account(name, Utc::now()).await.unwrap().id;
    let token = Secret::generate("pat-");
    store
        .create_private_app(
            account,
            NewPrivateApp {
                name: "app".into(),
                scopes: Scopes::from_stored(["analytics.behavioral_events.send".to_owned()]),
                token: token.hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    (account, token)
}

async fn version(store: &dyn Store, token: &Secret) -> SettingsVersion {
    store.bearer(&token.hash()).await.unwrap().settings
}

async fn create(store: &dyn Store, account: AccountId, name: &str) -> EventDefinitionId {
    store
        .create_event_definition(account, &definition(name), 500, Utc::now())
        .await
        .unwrap()
        .id
}

async fn contact(store: &dyn Store, account: AccountId) -> ObjectId {
    let address = "c@example.com";
    let object = NewObject {
        properties: [("email".to_owned(), address.to_owned())].into(),
        unique: vec![UniqueValue::new("email", address)],
    };
    store
        .create_objects(
            account,
            StandardType::Contacts.type_id(),
            vec![object],
            Utc::now(),
        )
        .await
        .unwrap()
        .remove(0)
        .unwrap()
        .id
}

fn completion(definition: EventDefinitionId, contact: ObjectId, uuid: &str) -> NewCompletion {
    NewCompletion {
        definition_id: definition,
        object_type_id: StandardType::Contacts.type_id(),
        record: RecordRef::Id(contact),
        occurred_at: Utc::now(),
        uuid: uuid.into(),
        properties_json: "{}".into(),
    }
}

async fn stored_of(store: &dyn Store, account: AccountId, definition: EventDefinitionId) -> usize {
    let query = CompletionQuery {
        definition_id: Some(definition),
        limit: 10_000,
        ..Default::default()
    };
    store
        .query_completions(account, &query)
        .await
        .unwrap()
        .items
        .len()
}

fn raised(last: &mut SettingsVersion, now: SettingsVersion, what: &str) {
    assert!(now > *last, "{what}: {now:?} after {last:?}");
    *last = now;
}

async fn every_change_of_definitions_or_tokens_raises_the_settings_version(fx: &Fixture) {
    let store = fx.open().await;
    let (a, token) = account_with_token(&*store, "A").await;
    let (_, other_token) = account_with_token(&*store, "B").await;
    let other = version(&*store, &other_token).await;
    let mut last = version(&*store, &token).await;

    create(&*store, a, "signup").await;
    raised(
        &mut last,
        version(&*store, &token).await,
        "a created definition",
    );

    let changed = store
        .modify_event_definition(
            a,
            "signup",
            Box::new(|d| {
                Ok(EventDefinition {
                    label: "Sign-up".into(),
                    ..d.clone()
                })
            }),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(changed.is_ok());
    raised(
        &mut last,
        version(&*store, &token).await,
        "a changed definition",
    );

    // A change the domain refuses changes nothing, the version included.
    let refused = store
        .modify_event_definition(
            a,
            "signup",
            Box::new(|_| Err(DomainError::Conflict("no".into()))),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(refused.is_err());
    assert_eq!(version(&*store, &token).await, last, "a refused change");

    store
        .delete_event_definition(a, "signup", Utc::now())
        .await
        .unwrap();
    raised(
        &mut last,
        version(&*store, &token).await,
        "a deleted definition",
    );

    // An install's tokens: the grant carries the version, and a revocation raises it.
    let key = Secret::generate("dev-");
    let app = store
        .create_app(
            NewApp {
                name: "app".into(),
                developer_key: key.hash(),
                client_id: Secret::generate_uuid_shaped().expose().to_owned(),
                client_secret: Secret::generate("cs-").hash(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let grant = Grant {
        account: a,
        app: app.id,
        scopes: Scopes::from_stored(["timeline".to_owned()]),
        user: "dev@example.com".into(),
        user_id: 7,
    };
    let (access, refresh) = (Secret::generate("at-"), Secret::generate("rt-"));
    let tokens = NewTokens {
        access: access.hash(),
        access_expires_at: Utc::now() + Duration::minutes(30),
        refresh: refresh.hash(),
    };
    store
        .install_app(&grant, &tokens, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store.bearer(&access.hash()).await.unwrap().settings,
        last,
        "an install's token carries the account's version"
    );
    store
        .revoke_refresh_token(&refresh.hash(), Utc::now())
        .await
        .unwrap();
    raised(&mut last, version(&*store, &token).await, "a revoked token");

    assert_eq!(
        version(&*store, &other_token).await,
        other,
        "another account's version stays"
    );
}

async fn a_write_checked_against_older_settings_stores_nothing(fx: &Fixture) {
    let store = fx.open().await;
    let (a, token) = account_with_token(&*store, "A").await;
    let signup = create(&*store, a, "signup").await;
    let c = contact(&*store, a).await;
    let checked = version(&*store, &token).await;

    let first = store
        .store_completions(
            a,
            vec![completion(signup, c, "1")],
            QUOTA,
            Utc::now(),
            Some(checked),
        )
        .await
        .unwrap();
    assert_eq!(first.unwrap().stored, 1, "the current version is accepted");

    // Another definition changes: the account's settings moved on.
    create(&*store, a, "login").await;
    for batch in [
        vec![completion(signup, c, "2")],
        vec![completion(signup, c, "3"), completion(signup, c, "4")],
    ] {
        let stale = store
            .store_completions(a, batch, QUOTA, Utc::now(), Some(checked))
            .await
            .unwrap();
        assert_eq!(stale, Err(BatchRefusal::SettingsChanged));
    }
    assert_eq!(stored_of(&*store, a, signup).await, 1, "nothing stored");
    assert_eq!(store.monthly_completions(a, Utc::now()).await.unwrap(), 1);

    let current = version(&*store, &token).await;
    let again = store
        .store_completions(
            a,
            vec![completion(signup, c, "2")],
            QUOTA,
            Utc::now(),
            Some(current),
        )
        .await
        .unwrap();
    assert_eq!(again.unwrap().stored, 1, "checked again, it is stored");
    // Without a version the store does not compare (callers that checked nothing kept).
    let unchecked = store
        .store_completions(a, vec![completion(signup, c, "3")], QUOTA, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(unchecked.unwrap().stored, 1);
    assert_eq!(stored_of(&*store, a, signup).await, 3);

    // A version of another account is no version of this one.
    let (_, b_token) = account_with_token(&*store, "B").await;
    let b_version = version(&*store, &b_token).await;
    assert_ne!(b_version, current);
    let crossed = store
        .store_completions(
            a,
            vec![completion(signup, c, "4")],
            QUOTA,
            Utc::now(),
            Some(b_version),
        )
        .await
        .unwrap();
    assert_eq!(crossed, Err(BatchRefusal::SettingsChanged));
}

async fn sends_racing_the_deletion_of_their_definition_leave_none_behind(fx: &Fixture) {
    let store = fx.open().await;
    let (a, token) = account_with_token(&*store, "A").await;
    let doomed = create(&*store, a, "doomed").await;
    let c = contact(&*store, a).await;
    let checked = version(&*store, &token).await;

    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let store: Arc<dyn Store> = Arc::clone(&store);
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for round in 0..25 {
                    let batch = (0..10)
                        .map(|i| completion(doomed, c, &format!("{sender}-{round}-{i}")))
                        .collect();
                    let answer = store
                        .store_completions(a, batch, QUOTA, Utc::now(), Some(checked))
                        .await;
                    answers.push(answer);
                    tokio::task::yield_now().await;
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .delete_event_definition(a, "doomed", Utc::now())
        .await
        .unwrap();
    let mut refused = 0;
    for sender in senders {
        for answer in sender.await.unwrap() {
            match answer {
                Ok(Ok(_)) => {}
                Ok(Err(BatchRefusal::SettingsChanged)) => refused += 1,
                other => panic!("unexpected answer {other:?}"),
            }
        }
    }
    assert!(refused > 0, "the sends after the deletion are refused");
    store.settle().await.unwrap();
    assert_eq!(
        stored_of(&*store, a, doomed).await,
        0,
        "no completion of the deleted definition stays"
    );
    let by_contact = CompletionQuery {
        record: Some((StandardType::Contacts.type_id(), c)),
        limit: 10_000,
        ..Default::default()
    };
    let left = store.query_completions(a, &by_contact).await.unwrap();
    assert!(left.items.is_empty(), "{} left", left.items.len());
}
