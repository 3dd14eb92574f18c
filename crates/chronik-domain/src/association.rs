//! Which record an event belongs to: the identifiers an event is sent with (`objectId`,
//! `email`, `utk`, a custom matching id), the priority each API gives them, and what the
//! store does with the record they name. Custom events use it today; timeline events v3 and
//! app events v4 use it with their own priorities.
//!
//! Two steps, both pure:
//! 1. [`identify`] picks the identifier that decides by the API's [`Priority`] and checks it
//!    (a malformed id, an email or utk for a type that is not contacts, nothing at all); the
//!    others the API keeps come along as secondaries ([`EventRecord`]).
//! 2. [`resolve`], called by the store inside the write's transaction with a lookup of live
//!    records, gives the [`Outcome`]: this record (perhaps changing its email or linking a
//!    utk to it), the contact with this email (found or created), wait for this utk, or not
//!    found.
//!
//! Priorities: custom events take the custom matching id, then `objectId`, `email`, `utk`
//! (api-reference §1.2), each alone. Timeline events v3 take `objectId`, then `utk`, then
//! `email` (seed: timeline events v3, "Ein Event zu einem CRM-Objekt zuordnen"): email with a
//! known objectId or utk changes that contact's email, `objectId` never creates, and an event
//! whose utk matches no contact waits for a contact to get that utk.

use std::borrow::Cow;

use crate::crm::object::UniqueValue;
use crate::crm::object_type::{ObjectTypeId, StandardType};
use crate::tenancy::{parse_utk, Email};
use crate::{ObjectId, ValidationError};

/// How an event names its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRef {
    /// A live record of the event type's object type, by id.
    Id(ObjectId),
    /// A contact by email: found case-insensitively, created when none has it.
    Email(Email),
    /// A contact by visitor token (`utk`).
    Utk(String),
    /// A live record of the object type holding this unique value (a custom matching id).
    Unique(UniqueValue),
}

/// Whose rules pick the identifier that decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Custom events: the custom matching id, `objectId`, `email`, `utk`; the first one sent
    /// decides alone, and a utk no contact has is not found.
    CustomEvents,
    /// Timeline events v3: `objectId`, `utk`, `email`; for contacts the lower ones come along
    /// (an email changes the contact's, a utk is linked to it), and a utk no contact has
    /// waits.
    TimelineV3,
}

/// A custom matching id: the event property that holds the value, the unique record property
/// it is matched against, and the value sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomMatch<'a> {
    /// The event property (its name, for messages and the field path).
    pub event_property: &'a str,
    /// The record property (`hs_object_id`, `email`, or another unique property).
    pub target_property: &'a str,
    /// The value the event carries.
    pub value: &'a str,
}

/// The identifiers an event was sent with, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identifiers<'a> {
    /// A custom matching id (custom events only).
    pub custom: Option<CustomMatch<'a>>,
    /// `objectId`, as text (numbers are taken as their decimal text).
    pub object_id: Option<Cow<'a, str>>,
    /// `email`.
    pub email: Option<&'a str>,
    /// `utk`.
    pub utk: Option<&'a str>,
}

/// The record an event names: the identifier that decides, and the ones that come along.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The identifier that decides.
    pub primary: RecordRef,
    /// An email that comes along: the contact's email becomes it (v3).
    pub email: Option<Email>,
    /// A utk that comes along: it is linked to the contact (v3).
    pub utk: Option<String>,
    /// The field `primary` came from (`objectId`, `email`, `utk`, `properties`).
    pub field: &'static str,
    /// How to describe the record when it does not exist (for the error message).
    pub described: String,
}

/// What the store does with an event's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This live record; for a contact, perhaps with a new email and a utk to link.
    Record {
        /// The record.
        id: ObjectId,
        /// Set the contact's email to this one.
        change_email: Option<Email>,
        /// Link this utk to the contact.
        link_utk: Option<String>,
    },
    /// The contact with this email, created when none has it; perhaps with a utk to link.
    ContactByEmail {
        /// The email.
        email: Email,
        /// Link this utk to the contact.
        link_utk: Option<String>,
    },
    /// No contact has this utk yet: keep the event until one does (v3).
    AwaitUtk(String),
    /// The record named does not exist: the event is refused.
    NotFound,
}

/// Picks and checks the identifier that decides, by `priority`, for an event type whose object
/// type is `type_id`. `path` prefixes every field in errors (`inputs[3].`).
pub fn identify(
    priority: Priority,
    type_id: ObjectTypeId,
    ids: &Identifiers<'_>,
    path: &str,
) -> Result<EventRecord, ValidationError> {
    let is_contact = type_id == StandardType::Contacts.type_id();
    if let Some(custom) = ids.custom.filter(|_| priority == Priority::CustomEvents) {
        return identify_custom(type_id, custom, path);
    }
    let object_id = ids
        .object_id
        .as_deref()
        .map(|raw| parse_object_id(raw, path))
        .transpose()?;
    if !is_contact && object_id.is_none() && (ids.email.is_some() || ids.utk.is_some()) {
        return Err(ValidationError::new(
            format!("{path}objectId"),
            "REQUIRED",
            format!(
                "email and utk identify contacts only; this event's object type is {type_id}, so send objectId{}",
                custom_hint(ids)
            ),
        ));
    }
    // Only the identifiers the rule uses are parsed: a custom event sent with objectId ignores
    // its email and utk, whatever they hold.
    let keeps_lower = is_contact && priority == Priority::TimelineV3;
    let email = || {
        ids.email
            .map(|raw| Email::parse(&format!("{path}email"), raw))
            .transpose()
    };
    let utk = || {
        ids.utk
            .map(|raw| parse_utk(&format!("{path}utk"), raw))
            .transpose()
    };
    if let Some(id) = object_id {
        let (email, utk) = if keeps_lower {
            (email()?, utk()?)
        } else {
            (None, None)
        };
        return Ok(EventRecord {
            primary: RecordRef::Id(id),
            email,
            utk,
            field: "objectId",
            described: format!(
                "objectId {} is not a record of type {type_id} in this account",
                id.0
            ),
        });
    }
    let by_utk = |utk: String, email: Option<Email>| {
        EventRecord {
        described: format!(
            "utk \"{utk}\" belongs to no contact (a utk alone never creates one; send email to find or create the contact)"
        ),
        primary: RecordRef::Utk(utk),
        email,
        utk: None,
        field: "utk",
    }
    };
    let by_email = |email: Email| EventRecord {
        described: format!("email {}", email.as_str()),
        primary: RecordRef::Email(email),
        email: None,
        utk: None,
        field: "email",
    };
    match (priority, ids.email.is_some(), ids.utk.is_some()) {
        (Priority::CustomEvents, true, _) | (Priority::TimelineV3, true, false) => {
            Ok(by_email(email()?.expect("an email was sent")))
        }
        (Priority::CustomEvents, false, true) => Ok(by_utk(utk()?.expect("a utk was sent"), None)),
        (Priority::TimelineV3, _, true) => Ok(by_utk(utk()?.expect("a utk was sent"), email()?)),
        (_, false, false) => Err(ValidationError::new(
            format!("{path}objectId"),
            "REQUIRED",
            format!(
                "identify the record: send one of email, utk, or objectId{}",
                custom_hint(ids)
            ),
        )),
    }
}

fn custom_hint(ids: &Identifiers<'_>) -> &'static str {
    if ids.custom.is_some() {
        ", or the custom matching id's event property"
    } else {
        ""
    }
}

/// `objectId`: a positive whole number.
fn parse_object_id(raw: &str, path: &str) -> Result<ObjectId, ValidationError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ObjectId)
        .ok_or_else(|| {
            ValidationError::new(
                format!("{path}objectId"),
                "INVALID_OBJECT_ID",
                format!("{path}objectId \"{raw}\" is not a record id (a positive whole number)"),
            )
        })
}

fn identify_custom(
    type_id: ObjectTypeId,
    custom: CustomMatch<'_>,
    path: &str,
) -> Result<EventRecord, ValidationError> {
    let CustomMatch {
        event_property,
        target_property,
        value,
    } = custom;
    let described = format!(
        "no record of type {type_id} has {target_property} \"{value}\" (event property {event_property} is the event's custom matching id)"
    );
    let primary = if target_property == "hs_object_id" {
        match value.trim().parse::<i64>() {
            Ok(id) => RecordRef::Id(ObjectId(id)),
            Err(_) => {
                return Err(ValidationError::new(
                    format!("{path}properties.{event_property}"),
                    "INVALID_OBJECT_ID",
                    format!("property \"{event_property}\" is the custom matching id for hs_object_id; \"{value}\" is not a record id"),
                ))
            }
        }
    } else {
        RecordRef::Unique(UniqueValue::new(target_property, value))
    };
    Ok(EventRecord {
        primary,
        email: None,
        utk: None,
        field: "properties",
        described,
    })
}

/// What happens to the record of an event that names it by `primary` (with `email` and `utk`
/// coming along), given `lookup`, which finds the live record an `Id`, `Utk` or `Unique`
/// reference names in the store (it is never asked about emails: [`Outcome::ContactByEmail`]
/// finds or creates). A utk that no contact has waits under [`Priority::TimelineV3`] and is
/// not found under [`Priority::CustomEvents`].
pub fn resolve<E>(
    priority: Priority,
    primary: &RecordRef,
    email: Option<&Email>,
    utk: Option<&str>,
    mut lookup: impl FnMut(&RecordRef) -> Result<Option<ObjectId>, E>,
) -> Result<Outcome, E> {
    let record = |id| Outcome::Record {
        id,
        change_email: email.cloned(),
        link_utk: utk.map(str::to_owned),
    };
    Ok(match primary {
        RecordRef::Email(email) => Outcome::ContactByEmail {
            email: email.clone(),
            link_utk: utk.map(str::to_owned),
        },
        RecordRef::Utk(token) => match lookup(primary)? {
            Some(id) => Outcome::Record {
                id,
                change_email: email.cloned(),
                link_utk: None,
            },
            None => match (priority, email) {
                (Priority::TimelineV3, Some(email)) => Outcome::ContactByEmail {
                    email: email.clone(),
                    link_utk: Some(token.clone()),
                },
                (Priority::TimelineV3, None) => Outcome::AwaitUtk(token.clone()),
                (Priority::CustomEvents, _) => Outcome::NotFound,
            },
        },
        RecordRef::Id(_) | RecordRef::Unique(_) => match lookup(primary)? {
            Some(id) => record(id),
            None => Outcome::NotFound,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    const CONTACTS: ObjectTypeId = ObjectTypeId::Standard(StandardType::Contacts);
    const COMPANIES: ObjectTypeId = ObjectTypeId::Standard(StandardType::Companies);

    fn ids<'a>(
        object_id: Option<&'a str>,
        email: Option<&'a str>,
        utk: Option<&'a str>,
    ) -> Identifiers<'a> {
        Identifiers {
            custom: None,
            object_id: object_id.map(Cow::Borrowed),
            email,
            utk,
        }
    }

    fn email(raw: &str) -> Email {
        Email::parse("email", raw).expect("a valid email")
    }

    #[test]
    fn custom_events_take_the_first_identifier_alone() {
        let all = ids(Some("7"), Some("a@example.com"), Some("u1"));
        let r = identify(Priority::CustomEvents, CONTACTS, &all, "").unwrap();
        assert_eq!(r.primary, RecordRef::Id(ObjectId(7)));
        assert_eq!((r.email, r.utk, r.field), (None, None, "objectId"));
        let r = identify(
            Priority::CustomEvents,
            CONTACTS,
            &ids(None, Some("a@example.com"), Some("u1")),
            "",
        )
        .unwrap();
        assert_eq!(r.primary, RecordRef::Email(email("a@example.com")));
        assert_eq!(r.utk, None);
        let r = identify(
            Priority::CustomEvents,
            CONTACTS,
            &ids(None, None, Some("u1")),
            "",
        )
        .unwrap();
        assert_eq!(r.primary, RecordRef::Utk("u1".into()));
    }

    #[test]
    fn identifiers_the_rule_does_not_use_are_not_checked() {
        let bad_beside = ids(Some("7"), Some("not-an-email"), Some("has space"));
        let r = identify(Priority::CustomEvents, CONTACTS, &bad_beside, "").unwrap();
        assert_eq!(r.primary, RecordRef::Id(ObjectId(7)));
        let r = identify(
            Priority::CustomEvents,
            CONTACTS,
            &ids(None, Some("a@example.com"), Some("has space")),
            "",
        )
        .unwrap();
        assert_eq!(r.primary, RecordRef::Email(email("a@example.com")));
        // Timeline v3 keeps them for contacts, so it checks them.
        let e = identify(Priority::TimelineV3, CONTACTS, &bad_beside, "").unwrap_err();
        assert_eq!(e.field, "email");
    }

    #[test]
    fn a_custom_matching_id_comes_first_for_custom_events() {
        let mut with = ids(Some("7"), None, None);
        with.custom = Some(CustomMatch {
            event_property: "order",
            target_property: "order_no",
            value: " A-1 ",
        });
        let r = identify(Priority::CustomEvents, COMPANIES, &with, "").unwrap();
        assert_eq!(
            r.primary,
            RecordRef::Unique(UniqueValue::new("order_no", "a-1"))
        );
        assert_eq!(r.field, "properties");
        with.custom = Some(CustomMatch {
            event_property: "order",
            target_property: "hs_object_id",
            value: "x",
        });
        let e = identify(Priority::CustomEvents, COMPANIES, &with, "inputs[2].").unwrap_err();
        assert_eq!(e.field, "inputs[2].properties.order");
    }

    #[test]
    fn timeline_v3_takes_object_id_then_utk_then_email_and_keeps_the_lower_ones_for_contacts() {
        let all = ids(Some("7"), Some("new@example.com"), Some("u1"));
        let r = identify(Priority::TimelineV3, CONTACTS, &all, "").unwrap();
        assert_eq!(r.primary, RecordRef::Id(ObjectId(7)));
        assert_eq!(r.email, Some(email("new@example.com")));
        assert_eq!(r.utk.as_deref(), Some("u1"));
        let r = identify(
            Priority::TimelineV3,
            CONTACTS,
            &ids(None, Some("a@example.com"), Some("u1")),
            "",
        )
        .unwrap();
        assert_eq!(r.primary, RecordRef::Utk("u1".into()));
        assert_eq!(r.email, Some(email("a@example.com")));
        let r = identify(
            Priority::TimelineV3,
            CONTACTS,
            &ids(None, Some("a@example.com"), None),
            "",
        )
        .unwrap();
        assert_eq!(r.primary, RecordRef::Email(email("a@example.com")));
    }

    #[test]
    fn other_types_need_object_id_and_ignore_contact_identifiers_beside_it() {
        for priority in [Priority::CustomEvents, Priority::TimelineV3] {
            let e = identify(
                priority,
                COMPANIES,
                &ids(None, Some("a@example.com"), None),
                "",
            )
            .unwrap_err();
            assert_eq!((e.field.as_str(), e.code), ("objectId", "REQUIRED"));
            assert!(e.message.contains("0-2"), "{}", e.message);
            let r = identify(
                priority,
                COMPANIES,
                &ids(Some("5"), Some("a@example.com"), Some("u")),
                "",
            )
            .unwrap();
            assert_eq!(
                (r.primary, r.email, r.utk),
                (RecordRef::Id(ObjectId(5)), None, None)
            );
        }
    }

    #[test]
    fn bad_identifiers_are_named_with_their_path() {
        for raw in ["0", "-3", "abc", "1.5", ""] {
            let e = identify(
                Priority::TimelineV3,
                CONTACTS,
                &ids(Some(raw), None, None),
                "inputs[1].",
            )
            .unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code),
                ("inputs[1].objectId", "INVALID_OBJECT_ID"),
                "{raw}"
            );
        }
        let e = identify(
            Priority::TimelineV3,
            CONTACTS,
            &ids(None, Some("not-an-email"), None),
            "",
        )
        .unwrap_err();
        assert_eq!(e.field, "email");
        let e = identify(
            Priority::TimelineV3,
            CONTACTS,
            &ids(None, None, Some("has space")),
            "",
        )
        .unwrap_err();
        assert_eq!(e.field, "utk");
        let e = identify(Priority::TimelineV3, CONTACTS, &ids(None, None, None), "").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("objectId", "REQUIRED"));
    }

    /// A store where contact 7 exists and has utk "known".
    fn lookup(r: &RecordRef) -> Result<Option<ObjectId>, Infallible> {
        Ok(match r {
            RecordRef::Id(ObjectId(7)) => Some(ObjectId(7)),
            RecordRef::Utk(u) if u == "known" => Some(ObjectId(7)),
            _ => None,
        })
    }

    fn outcome(priority: Priority, sent: Identifiers<'_>) -> Outcome {
        let r = identify(priority, CONTACTS, &sent, "").unwrap();
        resolve(
            priority,
            &r.primary,
            r.email.as_ref(),
            r.utk.as_deref(),
            lookup,
        )
        .unwrap()
    }

    #[test]
    fn object_id_never_creates_and_an_email_beside_it_changes_the_contacts() {
        let v3 = Priority::TimelineV3;
        assert_eq!(
            outcome(v3, ids(Some("8"), Some("a@example.com"), None)),
            Outcome::NotFound
        );
        assert_eq!(
            outcome(v3, ids(Some("7"), Some("new@example.com"), Some("fresh"))),
            Outcome::Record {
                id: ObjectId(7),
                change_email: Some(email("new@example.com")),
                link_utk: Some("fresh".into())
            }
        );
    }

    #[test]
    fn a_known_utk_finds_the_contact_and_an_email_beside_it_changes_the_contacts() {
        assert_eq!(
            outcome(
                Priority::TimelineV3,
                ids(None, Some("b@example.com"), Some("known"))
            ),
            Outcome::Record {
                id: ObjectId(7),
                change_email: Some(email("b@example.com")),
                link_utk: None
            }
        );
    }

    #[test]
    fn an_unknown_utk_waits_alone_and_links_to_the_emails_contact_beside_an_email() {
        let v3 = Priority::TimelineV3;
        assert_eq!(
            outcome(v3, ids(None, None, Some("later"))),
            Outcome::AwaitUtk("later".into())
        );
        assert_eq!(
            outcome(v3, ids(None, Some("c@example.com"), Some("later"))),
            Outcome::ContactByEmail {
                email: email("c@example.com"),
                link_utk: Some("later".into())
            }
        );
    }

    #[test]
    fn custom_events_refuse_an_unknown_utk_and_find_or_create_by_email() {
        let ce = Priority::CustomEvents;
        assert_eq!(
            outcome(ce, ids(None, None, Some("later"))),
            Outcome::NotFound
        );
        assert_eq!(
            outcome(ce, ids(None, Some("c@example.com"), None)),
            Outcome::ContactByEmail {
                email: email("c@example.com"),
                link_utk: None
            }
        );
        assert_eq!(
            outcome(ce, ids(None, None, Some("known"))),
            Outcome::Record {
                id: ObjectId(7),
                change_email: None,
                link_utk: None
            }
        );
    }

    #[test]
    fn lookup_failures_come_through() {
        let failing = |_: &RecordRef| -> Result<Option<ObjectId>, &'static str> { Err("down") };
        assert_eq!(
            resolve(
                Priority::TimelineV3,
                &RecordRef::Id(ObjectId(1)),
                None,
                None,
                failing
            ),
            Err("down")
        );
    }
}
