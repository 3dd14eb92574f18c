//! Custom event cases: event definitions, their never-reused names, the per-account quota
//! (also under racing creates), tenant isolation and restart.

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::crm::property::{PropertyOption, PropertyType};
use chronik_domain::custom_events::definition::{CustomMatchingId, EventDefinition, EventProperty};
use chronik_domain::{AccountId, DomainError};
use chronik_store::{DefinitionChange, Store, StoreError, StoredEventDefinition};
use chrono::{DateTime, Duration, Utc};

use crate::conformance;
use crate::fixture::Fixture;

conformance!(
    definitions_are_created_read_listed_updated_and_deleted,
    a_taken_name_is_a_conflict_naming_the_holder,
    a_deleted_name_stays_taken_and_the_definition_is_gone,
    the_quota_allows_its_limit_and_refuses_one_more,
    concurrent_creates_never_exceed_the_quota,
    accounts_see_only_their_own_definitions,
    definitions_in_an_unknown_account_are_not_found,
    definitions_survive_a_reopen_and_a_reset,
    concurrent_changes_each_see_the_others,
);

/// A time in whole milliseconds (what both backends store), `offset` seconds from now.
fn at(offset: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((Utc::now() + Duration::seconds(offset)).timestamp_millis())
        .unwrap()
}

/// A definition with a bit of everything, so a lost field shows.
fn definition(name: &str, label: &str) -> EventDefinition {
    EventDefinition {
        name: name.into(),
        label: label.into(),
        description: format!("{label} — described"),
        primary_object_type_id: StandardType::Contacts.type_id(),
        include_default_properties: true,
        properties: vec![
            EventProperty {
                name: "plan".into(),
                label: "Plan".into(),
                property_type: PropertyType::Enumeration,
                description: "Which plan".into(),
                options: vec![PropertyOption {
                    label: "Pro".into(),
                    value: "pro".into(),
                    display_order: 1,
                    hidden: false,
                    description: Some("the paid one".into()),
                }],
                hubspot_defined: false,
            },
            EventProperty {
                name: "page_url".into(),
                label: "Page URL".into(),
                property_type: PropertyType::String,
                description: String::new(),
                options: Vec::new(),
                hubspot_defined: false,
            },
        ],
        custom_matching_id: Some(CustomMatchingId {
            target_object_property_name: "email".into(),
            event_property_name: "user_email".into(),
        }),
    }
}

/// A change that replaces the definition with `next`.
fn replace(next: EventDefinition) -> DefinitionChange {
    Box::new(move |_| Ok(next))
}

async fn account(store: &dyn Store, name: &str) -> AccountId {
    store.create_account(name, Utc::now()).await.unwrap().id
}

async fn create(store: &dyn Store, a: AccountId, name: &str, max: u64) -> StoredEventDefinition {
    store
        .create_event_definition(a, &definition(name, "Label"), max, at(0))
        .await
        .unwrap()
}

fn names(list: &[StoredEventDefinition]) -> Vec<&str> {
    list.iter().map(|d| d.definition.name.as_str()).collect()
}

async fn definitions_are_created_read_listed_updated_and_deleted(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let created_at = at(-10);
    let signup = store
        .create_event_definition(a, &definition("signup", "Signup"), 10, created_at)
        .await
        .unwrap();
    assert_eq!(signup.definition, definition("signup", "Signup"));
    assert_eq!(signup.created_at, created_at);
    assert_eq!(signup.updated_at, created_at);
    assert!(signup.id.0 > 0, "a positive id");
    let login = create(&*store, a, "login", 10).await;
    assert_ne!(login.id, signup.id);

    assert_eq!(
        store.get_event_definition(a, "signup").await.unwrap(),
        signup
    );
    let list = store.list_event_definitions(a).await.unwrap();
    assert_eq!(names(&list), ["login", "signup"], "ordered by name");
    assert_eq!(list[1], signup);

    let mut changed = definition("signup", "Signed up");
    changed.properties.pop();
    changed.custom_matching_id = None;
    changed.include_default_properties = false;
    let updated_at = at(0);
    let replacement = changed.clone();
    let updated = store
        .modify_event_definition(a, "signup", replace(replacement), updated_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.id, signup.id);
    assert_eq!(updated.definition, changed);
    assert_eq!(updated.created_at, created_at);
    assert_eq!(updated.updated_at, updated_at);
    assert_eq!(
        store.get_event_definition(a, "signup").await.unwrap(),
        updated
    );
    // A change that refuses stores nothing, and its reason comes back.
    let refused = store
        .modify_event_definition(
            a,
            "signup",
            Box::new(|_| Err(DomainError::Conflict("no".into()))),
            at(5),
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(DomainError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.get_event_definition(a, "signup").await.unwrap(),
        updated
    );

    let missing = store
        .modify_event_definition(a, "nope", replace(definition("nope", "Nope")), at(0))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    store
        .delete_event_definition(a, "signup", at(1))
        .await
        .unwrap();
    let again = store.delete_event_definition(a, "signup", at(2)).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    let gone = store.delete_event_definition(a, "nope", at(2)).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    assert_eq!(
        names(&store.list_event_definitions(a).await.unwrap()),
        ["login"]
    );
}

async fn a_taken_name_is_a_conflict_naming_the_holder(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let first = create(&*store, a, "signup", 10).await;
    let second = store
        .create_event_definition(a, &definition("signup", "Other"), 10, at(0))
        .await;
    match second {
        Err(StoreError::Conflict {
            constraint,
            existing_id,
        }) => {
            assert_eq!(constraint, "event definition name");
            assert_eq!(existing_id, Some(first.id.to_string()));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The first one is untouched.
    assert_eq!(
        store.get_event_definition(a, "signup").await.unwrap(),
        first
    );
}

async fn a_deleted_name_stays_taken_and_the_definition_is_gone(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let first = create(&*store, a, "signup", 10).await;
    store
        .delete_event_definition(a, "signup", at(0))
        .await
        .unwrap();
    let got = store.get_event_definition(a, "signup").await;
    assert!(matches!(got, Err(StoreError::NotFound)), "{got:?}");
    assert!(store.list_event_definitions(a).await.unwrap().is_empty());
    let upd = store
        .modify_event_definition(a, "signup", replace(definition("signup", "X")), at(0))
        .await;
    assert!(matches!(upd, Err(StoreError::NotFound)), "{upd:?}");

    let reused = store
        .create_event_definition(a, &definition("signup", "Again"), 10, at(0))
        .await;
    match reused {
        Err(StoreError::Conflict {
            constraint,
            existing_id,
        }) => {
            assert_eq!(constraint, "event definition name");
            assert_eq!(existing_id, Some(first.id.to_string()));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(store.list_event_definitions(a).await.unwrap().is_empty());
}

async fn the_quota_allows_its_limit_and_refuses_one_more(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    for name in ["one", "two", "three"] {
        create(&*store, a, name, 3).await;
    }
    let fourth = store
        .create_event_definition(a, &definition("four", "Four"), 3, at(0))
        .await;
    match fourth {
        Err(StoreError::QuotaExceeded { quota, limit }) => {
            assert_eq!(quota, "event definitions");
            assert_eq!(limit, 3);
        }
        other => panic!("expected the quota, got {other:?}"),
    }
    let get = store.get_event_definition(a, "four").await;
    assert!(matches!(get, Err(StoreError::NotFound)), "{get:?}");

    // Deleting one frees a place, for a new name only.
    store
        .delete_event_definition(a, "two", at(0))
        .await
        .unwrap();
    let reused = store
        .create_event_definition(a, &definition("two", "Two"), 3, at(0))
        .await;
    assert!(
        matches!(reused, Err(StoreError::Conflict { .. })),
        "{reused:?}"
    );
    create(&*store, a, "four", 3).await;
    let fifth = store
        .create_event_definition(a, &definition("five", "Five"), 3, at(0))
        .await;
    assert!(
        matches!(fifth, Err(StoreError::QuotaExceeded { limit: 3, .. })),
        "{fifth:?}"
    );
    assert_eq!(
        names(&store.list_event_definitions(a).await.unwrap()),
        ["four", "one", "three"]
    );
    // A larger quota (another configuration) lets it grow.
    create(&*store, a, "five", 4).await;
}

async fn concurrent_creates_never_exceed_the_quota(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let other = account(&*store, "B").await;
    create(&*store, other, "elsewhere", 3).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_event_definition(a, &definition(&format!("race_{i}"), "Race"), 3, at(0))
                .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::QuotaExceeded { limit: 3, .. }) => {}
            Err(e) => panic!("unexpected failure: {e:?}"),
        }
    }
    assert_eq!(won, 3);
    assert_eq!(store.list_event_definitions(a).await.unwrap().len(), 3);
    assert_eq!(store.list_event_definitions(other).await.unwrap().len(), 1);
}

async fn accounts_see_only_their_own_definitions(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let b = account(&*store, "B").await;
    let in_a = create(&*store, a, "signup", 1).await;
    // The same name and a full quota in A are nothing to B.
    let in_b = store
        .create_event_definition(b, &definition("signup", "B's"), 1, at(0))
        .await
        .unwrap();
    assert_ne!(in_a.id, in_b.id);
    assert_eq!(store.get_event_definition(a, "signup").await.unwrap(), in_a);
    assert_eq!(store.get_event_definition(b, "signup").await.unwrap(), in_b);

    create(&*store, b, "only_b", 10).await;
    assert_eq!(
        names(&store.list_event_definitions(a).await.unwrap()),
        ["signup"]
    );
    let get = store.get_event_definition(a, "only_b").await;
    assert!(matches!(get, Err(StoreError::NotFound)), "{get:?}");
    let upd = store
        .modify_event_definition(a, "only_b", replace(definition("only_b", "X")), at(0))
        .await;
    assert!(matches!(upd, Err(StoreError::NotFound)), "{upd:?}");
    let del = store.delete_event_definition(a, "only_b", at(0)).await;
    assert!(matches!(del, Err(StoreError::NotFound)), "{del:?}");

    store
        .delete_event_definition(b, "signup", at(0))
        .await
        .unwrap();
    assert_eq!(store.get_event_definition(a, "signup").await.unwrap(), in_a);
}

async fn definitions_in_an_unknown_account_are_not_found(fx: &Fixture) {
    let store = fx.open().await;
    account(&*store, "A").await;
    let nobody = AccountId(987_654_321);
    let created = store
        .create_event_definition(nobody, &definition("signup", "Signup"), 10, at(0))
        .await;
    assert!(matches!(created, Err(StoreError::NotFound)), "{created:?}");
    assert!(store
        .list_event_definitions(nobody)
        .await
        .unwrap()
        .is_empty());
    let got = store.get_event_definition(nobody, "signup").await;
    assert!(matches!(got, Err(StoreError::NotFound)), "{got:?}");
}

async fn definitions_survive_a_reopen_and_a_reset(fx: &Fixture) {
    let (a, signup, login) = {
        let store = fx.open().await;
        let a = account(&*store, "A").await;
        let signup = create(&*store, a, "signup", 10).await;
        let login = create(&*store, a, "login", 10).await;
        store
            .delete_event_definition(a, "login", at(0))
            .await
            .unwrap();
        (a, signup, login)
    };
    let store = fx.open().await;
    assert_eq!(
        store.get_event_definition(a, "signup").await.unwrap(),
        signup
    );
    assert_eq!(
        names(&store.list_event_definitions(a).await.unwrap()),
        ["signup"]
    );
    let reused = store
        .create_event_definition(a, &definition("login", "Login"), 10, at(0))
        .await;
    match reused {
        Err(StoreError::Conflict { existing_id, .. }) => {
            assert_eq!(existing_id, Some(login.id.to_string()))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Ids keep counting after a restart.
    let third = create(&*store, a, "third", 10).await;
    assert!(third.id > signup.id);

    // A reset removes records, not definitions.
    store.reset_account(a).await.unwrap();
    assert_eq!(
        names(&store.list_event_definitions(a).await.unwrap()),
        ["signup", "third"]
    );
}

/// Ten changes at once, each adding a property to what it is given: all ten land.
async fn concurrent_changes_each_see_the_others(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "acme").await;
    create(&*store, a, "busy", 500).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = std::sync::Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let change: DefinitionChange = Box::new(move |current| {
                let mut next = current.clone();
                let mut added = current.properties[0].clone();
                added.name = format!("p{i}");
                next.properties.push(added);
                Ok(next)
            });
            store
                .modify_event_definition(a, "busy", change, at(0))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap().unwrap();
    }
    let stored = store.get_event_definition(a, "busy").await.unwrap();
    for i in 0..10 {
        let name = format!("p{i}");
        assert!(
            stored.definition.properties.iter().any(|p| p.name == name),
            "{name} lost"
        );
    }
    assert_eq!(stored.definition.properties.len(), 12);
}
