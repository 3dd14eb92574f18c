//! Association outcomes of timeline events: a utk that waits and joins the contact's timeline
//! once linked, utk and email together, an email change (and one another contact has), and
//! contacts created earlier in the same call.

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::tenancy::Email;
use serde_json::json;

use super::events::timeline;
use super::*;
use crate::timeline::TimelineStore;

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_utk_no_contact_has_waits_and_joins_the_timeline_once_linked() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |d| {
        d.properties
            .push(property("plan", PropertyType::String, Some("firstname")));
    })
    .await;
    let writes = store
        .store_timeline_events(
            a,
            vec![event(
                &ty,
                json!({"id": "early", "utk": "utk-1", "timestamp": 1_000, "tokens": {"plan": "Pro"}}),
            )],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    let waiting = stored(&writes[0]);
    assert_eq!(waiting.object_id, None);
    // Nobody created, nothing stamped.
    assert_eq!(count(&db, "SELECT count(*) FROM crm_objects").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_stamps").await, 0);
    let someone = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "x@example.com")],
    )
    .await;
    assert!(store
        .query_timeline_events(a, &timeline(someone))
        .await
        .unwrap()
        .items
        .is_empty());

    let link = store
        .link_visitor(
            a,
            "utk-1",
            &Email::parse("email", "ada@example.com").unwrap(),
            t(1),
        )
        .await
        .unwrap();
    let page = store
        .query_timeline_events(a, &timeline(link.contact))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, "early");
    assert_eq!(page.items[0].object_id, Some(link.contact));
    assert_eq!(
        store
            .get_timeline_event(a, ty.id, "early")
            .await
            .unwrap()
            .object_id,
        Some(link.contact)
    );
    // A later event with the utk alone goes to the contact directly.
    let later = store
        .store_timeline_events(
            a,
            vec![event(
                &ty,
                json!({"id": "late", "utk": "utk-1", "timestamp": 2_000}),
            )],
            t(2),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&later[0]).object_id, Some(link.contact));
    assert_eq!(
        store
            .query_timeline_events(a, &timeline(link.contact))
            .await
            .unwrap()
            .items
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        ["late", "early"]
    );
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_later_event_with_utk_and_email_creates_the_contact_and_links_the_utk() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |_| {}).await;
    store
        .store_timeline_events(
            a,
            vec![event(
                &ty,
                json!({"id": "w", "utk": "utk-9", "timestamp": 1_000}),
            )],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    // In one call: the linking event, then one with the utk alone that now finds the contact.
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &ty,
                    json!({"id": "link", "utk": "utk-9", "email": "ada@example.com", "timestamp": 2_000}),
                ),
                event(&ty, json!({"id": "after", "utk": "utk-9", "timestamp": 3_000})),
            ],
            t(1),
        )
        .await
        .unwrap()
        .unwrap();
    let contact = stored(&writes[0]).object_id.unwrap();
    assert_eq!(stored(&writes[1]).object_id, Some(contact));
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, contact, "email")
            .await
            .as_deref(),
        Some("ada@example.com")
    );
    let ids: Vec<String> = store
        .query_timeline_events(a, &timeline(contact))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["after", "link", "w"]);
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn an_email_with_a_known_contact_changes_its_email_unless_another_contact_has_it() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |_| {}).await;
    let ada = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "ada@old.example")],
    )
    .await;
    let bob = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "bob@example.com")],
    )
    .await;
    store
        .link_visitor(
            a,
            "utk-b",
            &Email::parse("email", "bob@example.com").unwrap(),
            t(0),
        )
        .await
        .unwrap();
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &ty,
                    json!({"id": "move", "objectId": ada.0, "email": "Ada@New.example", "utk": "utk-a"}),
                ),
                event(&ty, json!({"id": "taken", "objectId": ada.0, "email": "BOB@example.com"})),
                event(&ty, json!({"id": "taken-utk", "utk": "utk-b", "email": "ada@new.example"})),
            ],
            t(5),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&writes[0]).object_id, Some(ada));
    assert_eq!(writes[1], EventWrite::EmailTaken("BOB@example.com".into()));
    assert_eq!(writes[2], EventWrite::EmailTaken("ada@new.example".into()));
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, ada, "email")
            .await
            .as_deref(),
        Some("Ada@New.example")
    );
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, bob, "email")
            .await
            .as_deref(),
        Some("bob@example.com")
    );
    // Through the CRM path: the history keeps the old email, the claim moved.
    let history = store
        .object_history(a, StandardType::Contacts.type_id(), ada)
        .await
        .unwrap();
    let emails: Vec<&str> = history["email"].iter().map(|h| h.value.as_str()).collect();
    assert_eq!(emails, ["Ada@New.example", "ada@old.example"]);
    let by_email = store
        .store_timeline_events(
            a,
            vec![
                event(&ty, json!({"id": "new", "email": "ada@new.example"})),
                event(&ty, json!({"id": "old", "email": "ada@old.example"})),
                event(&ty, json!({"id": "utk", "utk": "utk-a"})),
            ],
            t(6),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&by_email[0]).object_id, Some(ada));
    // The old email is free again: it makes a new contact.
    let old = stored(&by_email[1]).object_id.unwrap();
    assert!(old != ada && old != bob);
    // The utk sent beside the objectId was linked to the contact.
    assert_eq!(stored(&by_email[2]).object_id, Some(ada));
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_contact_created_earlier_in_the_call_can_have_its_utk_linked_and_email_changed() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |_| {}).await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                // Creates the contact.
                event(&ty, json!({"id": "1", "email": "ada@example.com"})),
                // Finds it by email and links the utk to it.
                event(
                    &ty,
                    json!({"id": "2", "utk": "utk-c", "email": "ADA@example.com"}),
                ),
                // Finds it by the utk and changes its email.
                event(
                    &ty,
                    json!({"id": "3", "utk": "utk-c", "email": "ada@new.example"}),
                ),
            ],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    let contact = stored(&writes[0]).object_id.unwrap();
    assert_eq!(stored(&writes[1]).object_id, Some(contact));
    assert_eq!(stored(&writes[2]).object_id, Some(contact));
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, contact, "email")
            .await
            .as_deref(),
        Some("ada@new.example")
    );
    assert_eq!(count(&db, "SELECT count(*) FROM crm_objects").await, 1);
    // The old email is free, the new one and the utk find the contact.
    let later = store
        .store_timeline_events(
            a,
            vec![
                event(&ty, json!({"id": "4", "email": "ada@new.example"})),
                event(&ty, json!({"id": "5", "utk": "utk-c"})),
                event(&ty, json!({"id": "6", "email": "ada@example.com"})),
            ],
            t(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&later[0]).object_id, Some(contact));
    assert_eq!(stored(&later[1]).object_id, Some(contact));
    assert_ne!(stored(&later[2]).object_id, Some(contact));
}
