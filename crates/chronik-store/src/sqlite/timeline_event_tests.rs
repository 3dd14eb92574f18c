//! Tests of storing timeline events on SQLite: every [`EventWrite`], association by objectId,
//! utk and email, stamping newest-wins, waiting for a utk. Events are checked from realistic
//! inputs with `check_event`; the helpers here serve `timeline_query_tests.rs` too.

use std::borrow::Cow;

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::{ObjectTypeId, StandardType};
use chronik_domain::crm::property::standard_properties;
use chronik_domain::tenancy::Email;
use chronik_domain::timeline::event::{check_event, CheckedEvent, EventInput};
use chronik_domain::timeline::event_type::{EventTypeDefinition, PropertyType};
use chronik_domain::{AccountId, ObjectId};
use serde_json::json;

use super::timeline_tests::{app, open, pet_template, t, token};
use super::SqliteStore;
use crate::{
    CrmStore, EventWrite, NewObject, NewTimelineEvent, StoreError, StoredEventType,
    StoredTimelineEvent, TenancyStore, TimelineCursor, TimelineQuery, TimelineRefusal,
    TimelineStore,
};

pub(super) const CONTACTS: ObjectTypeId = ObjectTypeId::Standard(StandardType::Contacts);

/// How an event names its record, as sent.
#[derive(Default, Clone, Copy)]
pub(super) struct Ids<'a> {
    pub(super) object_id: Option<i64>,
    pub(super) email: Option<&'a str>,
    pub(super) utk: Option<&'a str>,
}

pub(super) fn by_email(email: &str) -> Ids<'_> {
    Ids {
        email: Some(email),
        ..Ids::default()
    }
}

pub(super) fn by_id(id: ObjectId) -> Ids<'static> {
    Ids {
        object_id: Some(id.0),
        ..Ids::default()
    }
}

pub(super) fn by_utk(utk: &str) -> Ids<'_> {
    Ids {
        utk: Some(utk),
        ..Ids::default()
    }
}

/// An event of `ty` with id `id`, at `t(at)`, with a pet's name and age, as the v3 endpoint
/// would check it.
pub(super) fn event(
    ty: &StoredEventType,
    id: &str,
    ids: Ids<'_>,
    at: i64,
    pet: &str,
) -> NewTimelineEvent {
    event_with(
        ty,
        id,
        ids,
        at,
        json!({"petName": pet, "petAge": 3, "petColor": "dog"}),
    )
}

/// An event of `ty` with these tokens.
pub(super) fn event_with(
    ty: &StoredEventType,
    id: &str,
    ids: Ids<'_>,
    at: i64,
    tokens: serde_json::Value,
) -> NewTimelineEvent {
    let tokens = tokens.as_object().expect("an object");
    let object_id = ids.object_id.map(|i| Cow::Owned(i.to_string()));
    let timestamp = Cow::Owned((1_700_000_000_000 + at).to_string());
    let input = EventInput {
        id: Some(id),
        object_id,
        email: ids.email,
        utk: ids.utk,
        timestamp: Some(timestamp),
        values: Some(tokens),
        extra_data: Some(&json!({"questions": [{"q": "Favourite toy?", "a": "Ball"}]})),
        serialized_bytes: 200,
        ..EventInput::default()
    };
    let checked: CheckedEvent =
        check_event(&ty.definition, &input, "", "tokens", t(0)).expect("a valid event");
    NewTimelineEvent {
        type_id: ty.id,
        type_version: ty.version,
        object_type_id: ty.definition.object_type.type_id,
        event: checked,
    }
}

pub(super) struct Setup {
    pub(super) _dir: tempfile::TempDir,
    pub(super) store: SqliteStore,
    pub(super) account: AccountId,
    pub(super) pets: StoredEventType,
}

pub(super) async fn setup() -> Setup {
    let (dir, store) = open().await;
    let app = app(&store, "petspot").await;
    let account = store
        .create_account("a", t(0))
        .await
        .expect("an account")
        .id;
    let pets = store
        .create_event_type(app, &pet_template("contacts"), 10, t(0))
        .await
        .expect("a type");
    Setup {
        _dir: dir,
        store,
        account,
        pets,
    }
}

impl Setup {
    pub(super) async fn store(&self, events: Vec<NewTimelineEvent>) -> Vec<EventWrite> {
        self.store
            .store_timeline_events(self.account, events, t(0))
            .await
            .expect("carried out")
            .expect("not refused")
    }

    pub(super) async fn store_one(&self, event: NewTimelineEvent) -> StoredTimelineEvent {
        match self.store(vec![event]).await.remove(0) {
            EventWrite::Stored(e) => *e,
            other => panic!("expected Stored, got {other:?}"),
        }
    }

    pub(super) async fn contact(&self, email: &str) -> ObjectId {
        self.store
            .create_objects(
                self.account,
                CONTACTS,
                vec![NewObject {
                    properties: [("email".to_owned(), email.to_owned())].into(),
                    unique: vec![UniqueValue::new("email", email)],
                }],
                t(0),
            )
            .await
            .expect("carried out")
            .remove(0)
            .expect("created")
            .id
    }

    pub(super) async fn property(&self, id: ObjectId, name: &str) -> Option<String> {
        let mut got = self
            .store
            .get_objects(self.account, CONTACTS, &[id], false)
            .await
            .expect("read");
        got.pop().and_then(|o| o.properties.get(name).cloned())
    }

    pub(super) async fn by_email(&self, email: &str) -> Option<ObjectId> {
        self.store
            .find_by_unique(self.account, CONTACTS, &[UniqueValue::new("email", email)])
            .await
            .expect("read")
            .pop()
            .map(|o| o.id)
    }

    pub(super) async fn timeline(&self, id: ObjectId) -> Vec<String> {
        self.page(TimelineQuery {
            record: (CONTACTS, id),
            type_ids: Vec::new(),
            occurred_after: None,
            occurred_before: None,
            limit: 100,
            before: None,
        })
        .await
        .0
    }

    pub(super) async fn page(
        &self,
        query: TimelineQuery,
    ) -> (Vec<String>, bool, Vec<TimelineCursor>) {
        let page = self
            .store
            .query_timeline_events(self.account, &query)
            .await
            .expect("read");
        (
            page.items.iter().map(|e| e.id.clone()).collect(),
            page.more,
            page.items.iter().map(|e| e.cursor).collect(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_by_email_creates_its_contact_stamps_it_and_reads_back_by_id() {
    let s = setup().await;
    let stored = s
        .store_one(event(&s.pets, "reg-1", by_email("Ann@Pets.io"), 10, "Rex"))
        .await;
    let contact = s
        .by_email("ann@pets.io")
        .await
        .expect("the contact was created");
    assert_eq!(stored.object_id, Some(contact));
    assert_eq!(stored.object_type_id, CONTACTS);
    assert_eq!(stored.occurred_at(), t(10));
    assert_eq!(
        stored.body.tokens["petAge"], "3",
        "numbers are kept as text"
    );
    assert_eq!(
        s.property(contact, "firstname").await.as_deref(),
        Some("Rex"),
        "the created contact is stamped"
    );
    let read = s
        .store
        .get_timeline_event(s.account, s.pets.id, "reg-1")
        .await
        .expect("read by id");
    assert_eq!(read, stored);
    assert!(matches!(
        s.store
            .get_timeline_event(s.account, s.pets.id, "nope")
            .await,
        Err(StoreError::NotFound)
    ));
    // A second event by the same email finds the contact.
    let again = s
        .store_one(event(&s.pets, "reg-2", by_email("ann@pets.io"), 20, "Rex"))
        .await;
    assert_eq!(again.object_id, Some(contact));
    assert!(again.cursor.seq > stored.cursor.seq);
    assert!(matches!(
        s.store
            .store_timeline_events(AccountId(1), vec![], t(0))
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_id_is_refused_and_the_first_kept_in_the_store_and_in_one_call() {
    let s = setup().await;
    s.store_one(event(&s.pets, "dup", by_email("a@pets.io"), 10, "First"))
        .await;
    let writes = s
        .store(vec![
            event(&s.pets, "dup", by_email("a@pets.io"), 20, "Second"),
            event(&s.pets, "new", by_email("a@pets.io"), 30, "Third"),
            event(&s.pets, "new", by_email("b@pets.io"), 40, "Fourth"),
        ])
        .await;
    assert_eq!(writes[0], EventWrite::DuplicateId);
    assert!(matches!(&writes[1], EventWrite::Stored(e) if e.body.tokens["petName"] == "Third"));
    assert_eq!(writes[2], EventWrite::DuplicateId);
    assert_eq!(
        s.by_email("b@pets.io").await,
        None,
        "a refused event creates nothing"
    );
    let read = s
        .store
        .get_timeline_event(s.account, s.pets.id, "dup")
        .await
        .expect("read");
    assert_eq!(read.body.tokens["petName"], "First");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_record_is_not_found_and_objectid_never_creates() {
    let s = setup().await;
    let writes = s
        .store(vec![event(&s.pets, "e1", by_id(ObjectId(999)), 10, "Rex")])
        .await;
    assert_eq!(writes, [EventWrite::RecordNotFound]);
    let app = s.pets.app;
    let deals = s
        .store
        .create_event_type(app, &pet_template("deals"), 10, t(0))
        .await
        .expect("a deal type");
    let contact = s.contact("c@pets.io").await;
    // A contact's id is not a deal.
    let mut e = event(&deals, "d1", by_id(contact), 10, "Rex");
    e.event.stamps.clear();
    assert_eq!(s.store(vec![e]).await, [EventWrite::RecordNotFound]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stamp_of_a_property_the_type_lacks_stores_nothing_until_it_exists() {
    let s = setup().await;
    let with_stamp = |stamped: &str| {
        let mut def: EventTypeDefinition = pet_template("contacts");
        def.properties
            .push(token("petKind", PropertyType::String, Some(stamped)));
        def
    };
    let ty = s
        .store
        .create_event_type(s.pets.app, &with_stamp("pet_kind"), 10, t(0))
        .await
        .expect("a type");
    let tokens = json!({"petName": "Rex", "petKind": "dog"});
    let e = event_with(&ty, "k1", by_email("k@pets.io"), 10, tokens.clone());
    let writes = s.store(vec![e.clone()]).await;
    assert_eq!(writes, [EventWrite::UnknownProperty("pet_kind".into())]);
    assert_eq!(
        s.by_email("k@pets.io").await,
        None,
        "nothing of the event is stored"
    );
    assert!(matches!(
        s.store.get_timeline_event(s.account, ty.id, "k1").await,
        Err(StoreError::NotFound)
    ));
    // Read-only properties are not stampable either.
    let read_only = s
        .store
        .create_event_type(s.pets.app, &with_stamp("createdate"), 10, t(0))
        .await
        .expect("a type");
    let ro = event_with(&read_only, "k2", by_email("k@pets.io"), 10, tokens);
    assert_eq!(
        s.store(vec![ro]).await,
        [EventWrite::UnknownProperty("createdate".into())]
    );
    // Once the account has the property, the event stamps it.
    let mut kind = standard_properties(StandardType::Contacts)
        .into_iter()
        .find(|p| p.name == "firstname")
        .expect("firstname");
    kind.name = "pet_kind".into();
    kind.hubspot_defined = false;
    s.store
        .create_property(s.account, CONTACTS, &kind, t(0))
        .await
        .expect("created");
    let stored = s.store_one(e).await;
    let contact = stored.object_id.expect("a record");
    assert_eq!(
        s.property(contact, "pet_kind").await.as_deref(),
        Some("dog")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_changed_since_the_check_refuses_the_call_and_writes_nothing() {
    let s = setup().await;
    let good = event(&s.pets, "ok", by_email("ok@pets.io"), 10, "Rex");
    let mut stale = event(&s.pets, "stale", by_email("stale@pets.io"), 10, "Rex");
    stale.type_version = s.pets.version + 1; // a version the type is not at
    let refused = s
        .store
        .store_timeline_events(s.account, vec![good.clone(), stale], t(0))
        .await
        .expect("carried out");
    assert_eq!(refused, Err(TimelineRefusal::TypeChanged(s.pets.id)));
    assert_eq!(s.by_email("ok@pets.io").await, None, "no contact created");
    assert!(matches!(
        s.store.get_timeline_event(s.account, s.pets.id, "ok").await,
        Err(StoreError::NotFound)
    ));
    // The same event at the current version is stored.
    s.store_one(good).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_types_events_leave_the_timeline_and_stay_readable_by_id() {
    let s = setup().await;
    let other = s
        .store
        .create_event_type(s.pets.app, &pet_template("contacts"), 10, t(0))
        .await
        .expect("a type");
    let a = s
        .store_one(event(&s.pets, "a", by_email("a@pets.io"), 10, "Rex"))
        .await;
    let contact = a.object_id.expect("a record");
    s.store_one(event(&other, "b", by_id(contact), 20, "Rex"))
        .await;
    assert_eq!(s.timeline(contact).await, ["b", "a"]);
    s.store
        .delete_event_type(s.pets.app, s.pets.id, t(1))
        .await
        .expect("deleted");
    assert_eq!(s.timeline(contact).await, ["b"]);
    let read = s
        .store
        .get_timeline_event(s.account, s.pets.id, "a")
        .await
        .expect("still read");
    assert_eq!(read, a);
    // No new ones: the event is refused as such, the others of the call are stored.
    let writes = s
        .store(vec![
            event(&s.pets, "c", by_id(contact), 30, "Rex"),
            event(&other, "d", by_id(contact), 40, "Rex"),
        ])
        .await;
    assert_eq!(writes[0], EventWrite::TypeDeleted);
    assert!(matches!(writes[1], EventWrite::Stored(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_event_stamps_whatever_the_arrival_order() {
    let s = setup().await;
    let contact = s.contact("n@pets.io").await;
    s.store_one(event(&s.pets, "new", by_id(contact), 200, "Rex"))
        .await;
    // Older, arriving later: stored, but the property keeps the newer value.
    s.store_one(event(&s.pets, "old", by_id(contact), 100, "Bella"))
        .await;
    assert_eq!(
        s.property(contact, "firstname").await.as_deref(),
        Some("Rex")
    );
    // The same time: the later one (higher seq) wins.
    s.store_one(event(&s.pets, "tie", by_id(contact), 200, "Max"))
        .await;
    assert_eq!(
        s.property(contact, "firstname").await.as_deref(),
        Some("Max")
    );
    // In one call, out of order.
    s.store(vec![
        event(&s.pets, "n2", by_id(contact), 400, "Luna"),
        event(&s.pets, "n1", by_id(contact), 300, "Coco"),
    ])
    .await;
    assert_eq!(
        s.property(contact, "firstname").await.as_deref(),
        Some("Luna")
    );
    // History, as CRM writes keep it: only the values that won.
    let history = s
        .store
        .object_history(s.account, CONTACTS, contact)
        .await
        .expect("read");
    let values: Vec<&str> = history["firstname"]
        .iter()
        .map(|h| h.value.as_str())
        .collect();
    assert_eq!(values, ["Luna", "Max", "Rex"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_sent_with_a_known_record_changes_its_email_unless_another_has_it() {
    let s = setup().await;
    let contact = s.contact("old@pets.io").await;
    let other = s.contact("taken@pets.io").await;
    let ids = Ids {
        object_id: Some(contact.0),
        email: Some("New@Pets.io"),
        utk: None,
    };
    s.store_one(event(&s.pets, "e1", ids, 10, "Rex")).await;
    assert_eq!(
        s.property(contact, "email").await.as_deref(),
        Some("New@Pets.io")
    );
    assert_eq!(s.by_email("new@pets.io").await, Some(contact));
    assert_eq!(
        s.by_email("old@pets.io").await,
        None,
        "the old email is free"
    );
    let taken = Ids {
        email: Some("TAKEN@pets.io"),
        ..ids
    };
    let writes = s.store(vec![event(&s.pets, "e2", taken, 20, "Max")]).await;
    assert_eq!(writes, [EventWrite::EmailTaken("TAKEN@pets.io".into())]);
    assert!(matches!(
        s.store.get_timeline_event(s.account, s.pets.id, "e2").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.property(contact, "firstname").await.as_deref(),
        Some("Rex")
    );
    assert_eq!(s.by_email("taken@pets.io").await, Some(other));
    // By utk with an email: the utk's contact gets the email.
    s.store
        .link_visitor(
            s.account,
            "utk-1",
            &Email::parse("e", "new@pets.io").expect("ok"),
            t(0),
        )
        .await
        .expect("linked");
    let by_utk_and_email = Ids {
        utk: Some("utk-1"),
        email: Some("third@pets.io"),
        object_id: None,
    };
    let e = s
        .store_one(event(&s.pets, "e3", by_utk_and_email, 30, "Rex"))
        .await;
    assert_eq!(e.object_id, Some(contact));
    assert_eq!(s.by_email("third@pets.io").await, Some(contact));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_with_an_unknown_utk_waits_for_its_contact() {
    let s = setup().await;
    let contact = s.contact("w@pets.io").await;
    let waiting = s
        .store_one(event(&s.pets, "w1", by_utk("utk-w"), 10, "Rex"))
        .await;
    assert_eq!(waiting.object_id, None);
    assert_eq!(s.timeline(contact).await, Vec::<String>::new());
    assert_eq!(
        s.property(contact, "firstname").await,
        None,
        "waiting events stamp nothing"
    );
    // Linked by the admin endpoint: on the timeline, beside its own events.
    s.store_one(event(&s.pets, "own", by_id(contact), 20, "Rex"))
        .await;
    s.store
        .link_visitor(
            s.account,
            "utk-w",
            &Email::parse("e", "w@pets.io").expect("ok"),
            t(0),
        )
        .await
        .expect("linked");
    assert_eq!(s.timeline(contact).await, ["own", "w1"]);
    let read = s
        .store
        .get_timeline_event(s.account, s.pets.id, "w1")
        .await
        .expect("read");
    assert_eq!(
        read.object_id,
        Some(contact),
        "it reads as the contact's now"
    );
    let page = s
        .store
        .query_timeline_events(
            s.account,
            &TimelineQuery {
                record: (CONTACTS, contact),
                type_ids: Vec::new(),
                occurred_after: None,
                occurred_before: None,
                limit: 10,
                before: None,
            },
        )
        .await
        .expect("page");
    assert!(page.items.iter().all(|e| e.object_id == Some(contact)));

    // Linked by a later event with the utk and an email: the contact is made and linked.
    s.store_one(event(&s.pets, "w2", by_utk("utk-v"), 30, "Max"))
        .await;
    let linking = Ids {
        utk: Some("utk-v"),
        email: Some("v@pets.io"),
        object_id: None,
    };
    let e = s.store_one(event(&s.pets, "w3", linking, 40, "Luna")).await;
    let made = s.by_email("v@pets.io").await.expect("created");
    assert_eq!(e.object_id, Some(made));
    assert_eq!(s.timeline(made).await, ["w3", "w2"]);
    // A utk alone that a contact has now finds it.
    let e = s
        .store_one(event(&s.pets, "w4", by_utk("utk-v"), 50, "Coco"))
        .await;
    assert_eq!(e.object_id, Some(made));

    // Linked by a later event with objectId and the utk.
    s.store_one(event(&s.pets, "w5", by_utk("utk-o"), 60, "Rex"))
        .await;
    let with_id = Ids {
        object_id: Some(contact.0),
        utk: Some("utk-o"),
        email: None,
    };
    s.store_one(event(&s.pets, "w6", with_id, 70, "Rex")).await;
    assert_eq!(s.timeline(contact).await, ["w6", "w5", "own", "w1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stamp_of_the_email_property_claims_it_like_a_crm_write() {
    let s = setup().await;
    let mut def = pet_template("contacts");
    def.properties
        .push(token("ownerEmail", PropertyType::String, Some("email")));
    let ty = s
        .store
        .create_event_type(s.pets.app, &def, 10, t(0))
        .await
        .expect("a type");
    let contact = s.contact("one@pets.io").await;
    s.contact("taken@pets.io").await;
    let stamped = |id: &str, ids, at, email: &str| {
        event_with(
            &ty,
            id,
            ids,
            at,
            json!({"petName": "Rex", "ownerEmail": email}),
        )
    };
    s.store_one(stamped("s1", by_id(contact), 10, "two@pets.io"))
        .await;
    assert_eq!(s.by_email("two@pets.io").await, Some(contact));
    assert_eq!(s.by_email("one@pets.io").await, None);
    let writes = s
        .store(vec![stamped("s2", by_id(contact), 20, "Taken@pets.io")])
        .await;
    assert_eq!(writes, [EventWrite::EmailTaken("Taken@pets.io".into())]);
    assert_eq!(s.by_email("two@pets.io").await, Some(contact));
    // A contact the event creates by one email, stamped with another.
    let e = s
        .store_one(stamped("s3", by_email("three@pets.io"), 30, "four@pets.io"))
        .await;
    let made = e.object_id.expect("a record");
    assert_eq!(s.by_email("four@pets.io").await, Some(made));
    assert_eq!(s.by_email("three@pets.io").await, None);
    assert_eq!(s.property(made, "firstname").await.as_deref(), Some("Rex"));
}
