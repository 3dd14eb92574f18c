//! CRM cases: records and their unique values, history, custom properties, custom object
//! schemas, tenant isolation, restart, and the link to visitor tokens.

use std::collections::BTreeMap;

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::{ObjectTypeId, StandardType};
use chronik_domain::crm::property::{PropertyDefinition, PropertyType};
use chronik_domain::crm::schema::{Labels, SchemaDefinition};
use chronik_domain::tenancy::Email;
use chronik_domain::{AccountId, ObjectId};
use chronik_store::{
    HistoryEntry, NewObject, ObjectUpdate, SchemaKey, Store, StoreError, StoredObject,
};
use chrono::{DateTime, Duration, Utc};

use crate::conformance;
use crate::fixture::Fixture;

conformance!(
    records_are_created_read_and_listed_by_ascending_id,
    creating_in_an_unknown_account_is_not_found,
    a_taken_email_fails_only_its_own_input,
    an_input_blocked_only_by_a_failed_batch_mate_is_stored,
    concurrent_creates_of_one_email_store_exactly_one,
    updates_change_values_and_keep_history_newest_first,
    updating_to_a_taken_email_fails_alone,
    archiving_releases_the_email_and_hides_the_record,
    unique_values_match_case_insensitively_through_folding,
    custom_properties_are_created_listed_updated_and_archived,
    schemas_get_distinct_type_ids_and_keep_their_names,
    schema_archive_is_refused_while_live_records_exist,
    accounts_see_only_their_own_crm_data,
    crm_data_survives_a_reopen,
    visitor_links_and_records_share_contact_emails,
    reset_removes_records_but_keeps_definitions,
);

const CONTACTS: ObjectTypeId = ObjectTypeId::Standard(StandardType::Contacts);
const COMPANIES: ObjectTypeId = ObjectTypeId::Standard(StandardType::Companies);

/// An id no record has (ids are allocated from 1 up).
const MISSING: ObjectId = ObjectId(987_654_321_000);

/// A time in whole milliseconds (what both backends store), `offset` seconds from now.
fn at(offset: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((Utc::now() + Duration::seconds(offset)).timestamp_millis())
        .unwrap()
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn email(address: &str) -> UniqueValue {
    UniqueValue::new("email", address)
}

fn contact(address: &str, extra: &[(&str, &str)]) -> NewObject {
    let mut properties = props(extra);
    properties.insert("email".into(), address.into());
    NewObject {
        properties,
        unique: vec![email(address)],
    }
}

fn update(id: ObjectId) -> ObjectUpdate {
    ObjectUpdate {
        id,
        set: BTreeMap::new(),
        clear: Vec::new(),
        unique: Vec::new(),
        released: Vec::new(),
    }
}

pub(crate) fn property(name: &str, label: &str) -> PropertyDefinition {
    PropertyDefinition {
        name: name.into(),
        label: label.into(),
        property_type: PropertyType::String,
        field_type: "text".into(),
        group_name: "contactinformation".into(),
        description: String::new(),
        options: Vec::new(),
        has_unique_value: false,
        hidden: false,
        display_order: -1,
        form_field: true,
        hubspot_defined: false,
        read_only_value: false,
        returned_by_default: false,
    }
}

fn schema(name: &str) -> SchemaDefinition {
    SchemaDefinition {
        name: name.into(),
        labels: Labels {
            singular: format!("{name} one"),
            plural: format!("{name} many"),
        },
        description: String::new(),
        primary_display_property: Some("title".into()),
        secondary_display_properties: Vec::new(),
        required_properties: vec!["title".into()],
        searchable_properties: Vec::new(),
        associated_objects: vec![CONTACTS],
    }
}

async fn account(store: &dyn Store, name: &str) -> AccountId {
    store.create_account(name, Utc::now()).await.unwrap().id
}

async fn create_one(store: &dyn Store, acct: AccountId, input: NewObject) -> StoredObject {
    let mut r = store
        .create_objects(acct, CONTACTS, vec![input], Utc::now())
        .await
        .unwrap();
    r.pop().unwrap().unwrap()
}

fn existing_id(r: &Result<StoredObject, StoreError>) -> Option<String> {
    match r {
        Err(StoreError::Conflict { existing_id, .. }) => existing_id.clone(),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn records_are_created_read_and_listed_by_ascending_id(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let now = at(0);
    let inputs: Vec<NewObject> = (0..5)
        .map(|i| {
            contact(
                &format!("p{i}@example.com"),
                &[("firstname", &format!("P{i}"))],
            )
        })
        .collect();
    let created: Vec<StoredObject> = store
        .create_objects(a, CONTACTS, inputs, now)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(created.len(), 5);
    for (i, o) in created.iter().enumerate() {
        assert_eq!(o.type_id, CONTACTS);
        assert_eq!(o.properties["firstname"], format!("P{i}"));
        assert_eq!(
            (o.created_at, o.updated_at, o.archived_at),
            (now, now, None)
        );
    }
    let mut ids: Vec<ObjectId> = created.iter().map(|o| o.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "ids are distinct");

    // Read in the order asked, unknown ids left out, exactly as created.
    let got = store
        .get_objects(a, CONTACTS, &[created[3].id, MISSING, created[0].id], false)
        .await
        .unwrap();
    assert_eq!(got, vec![created[3].clone(), created[0].clone()]);
    assert!(store
        .get_objects(a, CONTACTS, &[created[0].id], true)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .get_objects(a, COMPANIES, &[created[0].id], false)
        .await
        .unwrap()
        .is_empty());

    // Pages of two by ascending id, each starting after the last one seen.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_objects(a, CONTACTS, after, 2, false)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.iter().map(|o| o.id));
    }
    assert_eq!(seen, ids);
    assert!(store
        .list_objects(a, COMPANIES, None, 10, false)
        .await
        .unwrap()
        .is_empty());

    // Records of another type without unique values.
    let companies = store
        .create_objects(
            a,
            COMPANIES,
            vec![
                NewObject {
                    properties: props(&[("name", "Acme")]),
                    unique: Vec::new(),
                },
                NewObject::default(),
            ],
            now,
        )
        .await
        .unwrap();
    assert!(companies.iter().all(Result::is_ok));
    assert_eq!(
        store
            .list_objects(a, COMPANIES, None, 10, false)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .list_objects(a, CONTACTS, None, 10, false)
            .await
            .unwrap()
            .len(),
        5
    );
}

async fn creating_in_an_unknown_account_is_not_found(fx: &Fixture) {
    let store = fx.open().await;
    let r = store
        .create_objects(
            AccountId(999_999_999),
            CONTACTS,
            vec![contact("x@example.com", &[])],
            Utc::now(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    let r = store
        .create_objects(AccountId(999_999_999), COMPANIES, Vec::new(), Utc::now())
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

async fn a_taken_email_fails_only_its_own_input(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let ada = create_one(
        &*store,
        a,
        contact("ada@example.com", &[("firstname", "Ada")]),
    )
    .await;
    let results = store
        .create_objects(
            a,
            CONTACTS,
            vec![
                contact("b@example.com", &[]),
                contact("ADA@example.com", &[("firstname", "Impostor")]),
                contact("c@example.com", &[]),
            ],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert_eq!(existing_id(&results[1]), Some(ada.id.to_string()));
    // Nothing of the failed input is stored; the holder is untouched.
    let all = store
        .list_objects(a, CONTACTS, None, 100, false)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|o| o.properties.get("firstname").map(String::as_str) != Some("Impostor")));
    let found = store
        .find_by_unique(a, CONTACTS, &[email("ada@example.com")])
        .await
        .unwrap();
    assert_eq!(found, vec![ada]);
}

async fn an_input_blocked_only_by_a_failed_batch_mate_is_stored(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let holder = create_one(&*store, a, contact("taken@example.com", &[])).await;
    let plate = UniqueValue::new("plate", "B-XY 1");
    let mut first = contact("taken@example.com", &[("plate", "B-XY 1")]);
    first.unique.push(plate.clone());
    let second = NewObject {
        properties: props(&[("plate", "B-XY 1")]),
        unique: vec![plate.clone()],
    };
    let results = store
        .create_objects(a, CONTACTS, vec![first, second], Utc::now())
        .await
        .unwrap();
    // Stored one after the other, the first fails on its email and never keeps the plate.
    assert_eq!(existing_id(&results[0]), Some(holder.id.to_string()));
    let second = results[1].as_ref().unwrap();
    let found = store.find_by_unique(a, CONTACTS, &[plate]).await.unwrap();
    assert_eq!(found, vec![second.clone()]);
}

async fn concurrent_creates_of_one_email_store_exactly_one(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // The same address in different cases.
            let address = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@Example.com"
            };
            let input = contact(address, &[("n", &i.to_string())]);
            store
                .create_objects(a, CONTACTS, vec![input], Utc::now())
                .await
                .unwrap()
                .pop()
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let winners: Vec<&StoredObject> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0].id.to_string();
    for r in results.iter().filter(|r| r.is_err()) {
        assert_eq!(existing_id(r), Some(winner.clone()));
    }
    assert_eq!(
        store
            .list_objects(a, CONTACTS, None, 100, false)
            .await
            .unwrap()
            .len(),
        1
    );
}

fn entries(list: &[(&str, DateTime<Utc>)]) -> Vec<HistoryEntry> {
    list.iter()
        .map(|(v, t)| HistoryEntry {
            value: (*v).to_owned(),
            timestamp: *t,
        })
        .collect()
}

async fn updates_change_values_and_keep_history_newest_first(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let (t0, t1, t2) = (at(-20), at(-10), at(0));
    let ada = store
        .create_objects(
            a,
            CONTACTS,
            vec![contact("ada@example.com", &[("firstname", "Ada")])],
            t0,
        )
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    // Never updated: one entry per property, at creation.
    let h = store.object_history(a, CONTACTS, ada.id).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h["firstname"], entries(&[("Ada", t0)]));

    let mut u = update(ada.id);
    u.set = props(&[("firstname", "Grace"), ("lastname", "Hopper")]);
    let mut missing = update(MISSING);
    missing.set = props(&[("firstname", "Nobody")]);
    let results = store
        .update_objects(a, CONTACTS, vec![u, missing], t1)
        .await
        .unwrap();
    let updated = results[0].as_ref().unwrap();
    assert_eq!(
        updated.properties,
        props(&[
            ("email", "ada@example.com"),
            ("firstname", "Grace"),
            ("lastname", "Hopper")
        ])
    );
    assert_eq!((updated.created_at, updated.updated_at), (t0, t1));
    assert!(matches!(results[1], Err(StoreError::NotFound)));

    let mut u = update(ada.id);
    u.clear = vec!["lastname".into()];
    u.set = props(&[("firstname", "Grace")]); // unchanged: no new entry
    let cleared = store
        .update_objects(a, CONTACTS, vec![u], t2)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert!(!cleared.properties.contains_key("lastname"));
    let got = store
        .get_objects(a, CONTACTS, &[ada.id], false)
        .await
        .unwrap();
    assert_eq!(got, vec![cleared]);

    let h = store.object_history(a, CONTACTS, ada.id).await.unwrap();
    assert_eq!(h["firstname"], entries(&[("Grace", t1), ("Ada", t0)]));
    assert_eq!(h["lastname"], entries(&[("", t2), ("Hopper", t1)]));
    assert_eq!(h["email"], entries(&[("ada@example.com", t0)]));
    assert!(matches!(
        store.object_history(a, CONTACTS, MISSING).await,
        Err(StoreError::NotFound)
    ));
}

async fn updating_to_a_taken_email_fails_alone(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let ada = create_one(&*store, a, contact("ada@example.com", &[])).await;
    let bob = create_one(
        &*store,
        a,
        contact("bob@example.com", &[("firstname", "Bob")]),
    )
    .await;

    let mut steal = update(bob.id);
    steal.set = props(&[("email", "Ada@Example.com"), ("firstname", "Thief")]);
    steal.unique = vec![email("Ada@Example.com")];
    let mut rename = update(ada.id);
    rename.set = props(&[("firstname", "Ada")]);
    let results = store
        .update_objects(a, CONTACTS, vec![steal, rename], Utc::now())
        .await
        .unwrap();
    assert_eq!(existing_id(&results[0]), Some(ada.id.to_string()));
    assert_eq!(results[1].as_ref().unwrap().properties["firstname"], "Ada");
    // Nothing of the failed update applied: values, claims and history as before.
    let bob_now = store
        .get_objects(a, CONTACTS, &[bob.id], false)
        .await
        .unwrap();
    assert_eq!(bob_now, vec![bob.clone()]);
    let found = store
        .find_by_unique(
            a,
            CONTACTS,
            &[email("bob@example.com"), email("ada@example.com")],
        )
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![bob.id, ada.id]
    );
    assert_eq!(
        store.object_history(a, CONTACTS, bob.id).await.unwrap()["firstname"].len(),
        1
    );

    // Re-claiming one's own value in another case works; a new value replaces the old claim.
    let mut same = update(ada.id);
    same.set = props(&[("email", "ADA@example.com")]);
    same.unique = vec![email("ADA@example.com")];
    store
        .update_objects(a, CONTACTS, vec![same], Utc::now())
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let mut moved = update(bob.id);
    moved.set = props(&[("email", "robert@example.com")]);
    moved.unique = vec![email("robert@example.com")];
    store
        .update_objects(a, CONTACTS, vec![moved], Utc::now())
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert!(store
        .find_by_unique(a, CONTACTS, &[email("bob@example.com")])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .find_by_unique(a, CONTACTS, &[email("robert@example.com")])
            .await
            .unwrap()[0]
            .id,
        bob.id
    );
    // The freed value can be taken by a new record; clearing the email releases it too.
    let new_bob = create_one(&*store, a, contact("bob@example.com", &[])).await;
    let mut cleared = update(new_bob.id);
    cleared.clear = vec!["email".into()];
    cleared.released = vec!["email".into()];
    store
        .update_objects(a, CONTACTS, vec![cleared], Utc::now())
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    create_one(&*store, a, contact("bob@example.com", &[])).await;
}

async fn archiving_releases_the_email_and_hides_the_record(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let ada = create_one(&*store, a, contact("ada@example.com", &[])).await;
    let keep = create_one(&*store, a, contact("keep@example.com", &[])).await;
    let when = at(0);
    let r = store
        .archive_objects(a, CONTACTS, vec![ada.id, MISSING, ada.id], when)
        .await
        .unwrap();
    assert!(r[0].is_ok());
    assert!(matches!(r[1], Err(StoreError::NotFound)));
    assert!(
        matches!(r[2], Err(StoreError::NotFound)),
        "already archived"
    );

    assert!(store
        .get_objects(a, CONTACTS, &[ada.id], false)
        .await
        .unwrap()
        .is_empty());
    let archived = store
        .get_objects(a, CONTACTS, &[ada.id, keep.id], true)
        .await
        .unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].archived_at, Some(when));
    let live: Vec<ObjectId> = store
        .list_objects(a, CONTACTS, None, 10, false)
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(live, vec![keep.id]);
    let gone: Vec<ObjectId> = store
        .list_objects(a, CONTACTS, None, 10, true)
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(gone, vec![ada.id]);
    assert!(store
        .find_by_unique(a, CONTACTS, &[email("ada@example.com")])
        .await
        .unwrap()
        .is_empty());

    // An archived record cannot be updated; its email is free for a new record.
    let mut u = update(ada.id);
    u.set = props(&[("firstname", "Ghost")]);
    let r = store
        .update_objects(a, CONTACTS, vec![u], Utc::now())
        .await
        .unwrap();
    assert!(matches!(r[0], Err(StoreError::NotFound)));
    let again = create_one(&*store, a, contact("Ada@example.com", &[])).await;
    assert_ne!(again.id, ada.id);
    assert_eq!(
        store
            .find_by_unique(a, CONTACTS, &[email("ada@example.com")])
            .await
            .unwrap(),
        vec![again]
    );
}

async fn unique_values_match_case_insensitively_through_folding(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let ada = create_one(&*store, a, contact("Ada@Example.COM", &[])).await;
    assert_eq!(ada.properties["email"], "Ada@Example.COM", "stored as sent");
    let bob = create_one(&*store, a, contact("bob@example.com", &[])).await;
    let found = store
        .find_by_unique(
            a,
            CONTACTS,
            &[
                email("BOB@example.com"),
                email("nobody@example.com"),
                email(" ada@example.com "),
            ],
        )
        .await
        .unwrap();
    assert_eq!(found, vec![bob, ada.clone()]);
    // The same folded value of another property or type is another value.
    assert!(store
        .find_by_unique(a, COMPANIES, &[email("ada@example.com")])
        .await
        .unwrap()
        .is_empty());
    let r = store
        .create_objects(
            a,
            CONTACTS,
            vec![contact("ADA@EXAMPLE.COM", &[])],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(existing_id(&r[0]), Some(ada.id.to_string()));
}

async fn custom_properties_are_created_listed_updated_and_archived(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let t0 = at(-10);
    let color = store
        .create_property(a, CONTACTS, &property("favorite_color", "Color"), t0)
        .await
        .unwrap();
    assert_eq!(
        (color.created_at, color.updated_at, color.archived_at),
        (t0, t0, None)
    );
    store
        .create_property(a, CONTACTS, &property("budget", "Budget"), t0)
        .await
        .unwrap();
    let r = store
        .create_property(a, CONTACTS, &property("budget", "Other"), t0)
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    // Another type has its own names.
    store
        .create_property(a, COMPANIES, &property("budget", "Budget"), t0)
        .await
        .unwrap();

    let names = |list: Vec<chronik_store::StoredProperty>| {
        list.into_iter()
            .map(|p| p.definition.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(store.list_properties(a, CONTACTS, false).await.unwrap()),
        vec!["budget", "favorite_color"]
    );

    let t1 = at(0);
    let mut relabeled = property("favorite_color", "Favourite colour");
    relabeled.description = "what they like".into();
    let updated = store
        .update_property(a, CONTACTS, &relabeled, t1)
        .await
        .unwrap();
    assert_eq!(updated.definition, relabeled);
    assert_eq!((updated.created_at, updated.updated_at), (t0, t1));
    let listed = store.list_properties(a, CONTACTS, false).await.unwrap();
    assert_eq!(listed[1], updated);
    assert!(matches!(
        store
            .update_property(a, CONTACTS, &property("nope", "Nope"), t1)
            .await,
        Err(StoreError::NotFound)
    ));

    store
        .archive_property(a, CONTACTS, "favorite_color", t1)
        .await
        .unwrap();
    assert_eq!(
        names(store.list_properties(a, CONTACTS, false).await.unwrap()),
        vec!["budget"]
    );
    let archived = store.list_properties(a, CONTACTS, true).await.unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].archived_at, Some(t1));
    assert!(matches!(
        store
            .archive_property(a, CONTACTS, "favorite_color", t1)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_property(a, CONTACTS, &relabeled, t1).await,
        Err(StoreError::NotFound)
    ));
    // An archived name stays taken.
    let r = store
        .create_property(a, CONTACTS, &property("favorite_color", "Again"), t1)
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    let r = store
        .create_property(AccountId(999_999_999), CONTACTS, &property("x", "X"), t1)
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

async fn schemas_get_distinct_type_ids_and_keep_their_names(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let t0 = at(-10);
    let mut vin = property("vin", "VIN");
    vin.has_unique_value = true;
    let cars = store
        .create_schema(
            a,
            &schema("cars"),
            &[property("title", "Title"), vin.clone()],
            t0,
        )
        .await
        .unwrap();
    let boats = store
        .create_schema(a, &schema("boats"), &[], at(-5))
        .await
        .unwrap();
    assert_ne!(cars.type_id, boats.type_id);
    for s in [&cars, &boats] {
        assert_eq!(s.type_id, ObjectTypeId::Custom(s.id.parse().unwrap()));
        assert!(s.id.parse::<u64>().is_ok(), "numeric id: {}", s.id);
        // One association definition per associated object, made with the schema.
        assert_eq!(s.associations.len(), 1, "{:?}", s.associations);
        assert_eq!(
            (s.associations[0].from_type_id, s.associations[0].to_type_id),
            (s.type_id, CONTACTS)
        );
    }
    assert_eq!(cars.definition, schema("cars"));
    assert_eq!(
        (cars.created_at, cars.updated_at, cars.archived_at),
        (t0, t0, None)
    );

    // The schema's properties are the type's custom properties.
    let listed = store.list_properties(a, cars.type_id, false).await.unwrap();
    assert_eq!(
        listed.iter().map(|p| &p.definition).collect::<Vec<_>>(),
        vec![&property("title", "Title"), &vin]
    );

    assert_eq!(
        store
            .get_schema(a, &SchemaKey::TypeId(cars.type_id))
            .await
            .unwrap(),
        cars
    );
    assert_eq!(
        store
            .get_schema(a, &SchemaKey::Name("cars".into()))
            .await
            .unwrap(),
        cars
    );
    assert!(matches!(
        store.get_schema(a, &SchemaKey::Name("planes".into())).await,
        Err(StoreError::NotFound)
    ));
    match store.create_schema(a, &schema("cars"), &[], at(0)).await {
        Err(StoreError::Conflict { existing_id, .. }) => {
            assert_eq!(existing_id, Some(cars.type_id.to_string()))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    // Associations, oldest first.
    let first = store
        .create_schema_association(a, cars.type_id, CONTACTS, None, at(0))
        .await
        .unwrap();
    let second = store
        .create_schema_association(a, cars.type_id, COMPANIES, Some("fleet_owner"), at(0))
        .await
        .unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(
        (
            second.from_type_id,
            second.to_type_id,
            second.name.as_deref()
        ),
        (cars.type_id, COMPANIES, Some("fleet_owner"))
    );
    assert!(matches!(
        store
            .create_schema_association(a, ObjectTypeId::Custom(1), CONTACTS, None, at(0))
            .await,
        Err(StoreError::NotFound)
    ));
    let got = store
        .get_schema(a, &SchemaKey::TypeId(cars.type_id))
        .await
        .unwrap();
    assert_eq!(
        got.associations,
        vec![cars.associations[0].clone(), first.clone(), second.clone()]
    );

    // Updating replaces the definition but never the name.
    let mut next = schema("renamed");
    next.labels.singular = "Car".into();
    let t1 = at(0);
    let updated = store
        .update_schema(a, cars.type_id, &next, t1)
        .await
        .unwrap();
    assert_eq!(updated.definition.name, "cars");
    assert_eq!(updated.definition.labels.singular, "Car");
    assert_eq!((updated.created_at, updated.updated_at), (t0, t1));
    assert_eq!(
        updated.associations,
        vec![cars.associations[0].clone(), first, second]
    );
    assert_eq!(
        store
            .get_schema(a, &SchemaKey::Name("cars".into()))
            .await
            .unwrap(),
        updated
    );
    assert!(matches!(
        store
            .update_schema(a, ObjectTypeId::Custom(1), &next, t1)
            .await,
        Err(StoreError::NotFound)
    ));

    let all = store.list_schemas(a, false).await.unwrap();
    assert_eq!(all, vec![updated, boats]);
    assert!(store.list_schemas(a, true).await.unwrap().is_empty());
}

async fn schema_archive_is_refused_while_live_records_exist(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let cars = store
        .create_schema(a, &schema("cars"), &[], Utc::now())
        .await
        .unwrap();
    let car = store
        .create_objects(
            a,
            cars.type_id,
            vec![NewObject {
                properties: props(&[("title", "Beetle")]),
                unique: vec![UniqueValue::new("vin", "WVW123")],
            }],
            Utc::now(),
        )
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(car.type_id, cars.type_id);
    let r = store.archive_schema(a, cars.type_id, Utc::now()).await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert!(store
        .get_schema(a, &SchemaKey::TypeId(cars.type_id))
        .await
        .is_ok());

    store
        .archive_objects(a, cars.type_id, vec![car.id], Utc::now())
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let when = at(0);
    store.archive_schema(a, cars.type_id, when).await.unwrap();
    assert!(matches!(
        store.get_schema(a, &SchemaKey::TypeId(cars.type_id)).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.list_schemas(a, false).await.unwrap().is_empty());
    let archived = store.list_schemas(a, true).await.unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].archived_at, Some(when));
    assert!(matches!(
        store.archive_schema(a, cars.type_id, when).await,
        Err(StoreError::NotFound)
    ));
    // No records, associations or second schema for an archived type; its name stays taken.
    let r = store
        .create_objects(a, cars.type_id, vec![NewObject::default()], Utc::now())
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert!(matches!(
        store
            .create_schema_association(a, cars.type_id, CONTACTS, None, when)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.create_schema(a, &schema("cars"), &[], when).await,
        Err(StoreError::Conflict { .. })
    ));
}

async fn accounts_see_only_their_own_crm_data(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let b = account(&*store, "B").await;
    let ada = create_one(&*store, a, contact("ada@example.com", &[])).await;
    store
        .create_property(
            a,
            CONTACTS,
            &property("favorite_color", "Color"),
            Utc::now(),
        )
        .await
        .unwrap();
    let cars = store
        .create_schema(a, &schema("cars"), &[], Utc::now())
        .await
        .unwrap();

    assert!(store
        .get_objects(b, CONTACTS, &[ada.id], false)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_objects(b, CONTACTS, None, 10, false)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .find_by_unique(b, CONTACTS, &[email("ada@example.com")])
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.object_history(b, CONTACTS, ada.id).await,
        Err(StoreError::NotFound)
    ));
    let mut u = update(ada.id);
    u.set = props(&[("firstname", "Hijacked")]);
    assert!(matches!(
        store
            .update_objects(b, CONTACTS, vec![u], Utc::now())
            .await
            .unwrap()[0],
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .archive_objects(b, CONTACTS, vec![ada.id], Utc::now())
            .await
            .unwrap()[0],
        Err(StoreError::NotFound)
    ));
    assert!(store
        .list_properties(b, CONTACTS, false)
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_schemas(b, false).await.unwrap().is_empty());
    assert!(matches!(
        store.get_schema(b, &SchemaKey::TypeId(cars.type_id)).await,
        Err(StoreError::NotFound)
    ));
    // B has its own namespace for every unique thing.
    create_one(&*store, b, contact("ada@example.com", &[])).await;
    store
        .create_property(
            b,
            CONTACTS,
            &property("favorite_color", "Color"),
            Utc::now(),
        )
        .await
        .unwrap();
    let b_cars = store
        .create_schema(b, &schema("cars"), &[], Utc::now())
        .await
        .unwrap();
    assert_ne!(b_cars.type_id, cars.type_id);
    // A is untouched.
    assert_eq!(
        store
            .get_objects(a, CONTACTS, &[ada.id], false)
            .await
            .unwrap(),
        vec![ada]
    );
}

async fn crm_data_survives_a_reopen(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let (t0, t1) = (at(-10), at(0));
    let ada = store
        .create_objects(
            a,
            CONTACTS,
            vec![contact("ada@example.com", &[("firstname", "Ada")])],
            t0,
        )
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let mut u = update(ada.id);
    u.set = props(&[("firstname", "Grace")]);
    let ada = store
        .update_objects(a, CONTACTS, vec![u], t1)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let color = store
        .create_property(a, CONTACTS, &property("favorite_color", "Color"), t0)
        .await
        .unwrap();
    let cars = store
        .create_schema(a, &schema("cars"), &[], t0)
        .await
        .unwrap();
    store
        .create_schema_association(a, cars.type_id, CONTACTS, None, t0)
        .await
        .unwrap();
    let cars = store
        .get_schema(a, &SchemaKey::TypeId(cars.type_id))
        .await
        .unwrap();
    drop(store);

    let store = fx.open().await;
    assert_eq!(
        store
            .get_objects(a, CONTACTS, &[ada.id], false)
            .await
            .unwrap(),
        vec![ada.clone()]
    );
    assert_eq!(
        store.object_history(a, CONTACTS, ada.id).await.unwrap()["firstname"],
        entries(&[("Grace", t1), ("Ada", t0)])
    );
    assert_eq!(
        store.list_properties(a, CONTACTS, false).await.unwrap(),
        vec![color]
    );
    assert_eq!(store.list_schemas(a, false).await.unwrap(), vec![cars]);
    let r = store
        .create_objects(
            a,
            CONTACTS,
            vec![contact("ada@example.com", &[])],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(existing_id(&r[0]), Some(ada.id.to_string()));
    // Ids keep growing after a restart.
    let next = create_one(&*store, a, contact("next@example.com", &[])).await;
    assert!(next.id > ada.id);
}

async fn visitor_links_and_records_share_contact_emails(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let ada = create_one(&*store, a, contact("Ada@Example.com", &[])).await;
    let link = store
        .link_visitor(
            a,
            "utk-1",
            &Email::parse("email", "ada@example.COM").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(link.contact, ada.id);
    assert!(!link.contact_created);

    // A contact created by a link holds its email like any other.
    let grace = store
        .link_visitor(
            a,
            "utk-2",
            &Email::parse("email", "Grace@Example.com").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(grace.contact_created);
    let found = store
        .find_by_unique(a, CONTACTS, &[email("grace@example.com")])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, grace.contact);
    assert_eq!(found[0].properties["email"], "Grace@Example.com");
    let r = store
        .create_objects(
            a,
            CONTACTS,
            vec![contact("GRACE@example.com", &[])],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(existing_id(&r[0]), Some(grace.contact.to_string()));
}

async fn reset_removes_records_but_keeps_definitions(fx: &Fixture) {
    let store = fx.open().await;
    let a = account(&*store, "A").await;
    let b = account(&*store, "B").await;
    create_one(&*store, a, contact("ada@example.com", &[])).await;
    let kept = create_one(&*store, b, contact("ada@example.com", &[])).await;
    store
        .create_property(
            a,
            CONTACTS,
            &property("favorite_color", "Color"),
            Utc::now(),
        )
        .await
        .unwrap();
    let cars = store
        .create_schema(a, &schema("cars"), &[], Utc::now())
        .await
        .unwrap();
    store
        .create_objects(a, cars.type_id, vec![NewObject::default()], Utc::now())
        .await
        .unwrap();

    store.reset_account(a).await.unwrap();
    for type_id in [CONTACTS, cars.type_id] {
        assert!(store
            .list_objects(a, type_id, None, 10, false)
            .await
            .unwrap()
            .is_empty());
    }
    assert!(store
        .find_by_unique(a, CONTACTS, &[email("ada@example.com")])
        .await
        .unwrap()
        .is_empty());
    create_one(&*store, a, contact("ada@example.com", &[])).await;
    assert_eq!(
        store
            .list_properties(a, CONTACTS, false)
            .await
            .unwrap()
            .len(),
        1
    );
    // With its records gone, the schema can be archived.
    store
        .archive_schema(a, cars.type_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store
            .get_objects(b, CONTACTS, &[kept.id], false)
            .await
            .unwrap(),
        vec![kept]
    );
}
