//! Object types. HubSpot names each type by an `objectTypeId` (`0-1` contacts, `0-2` companies,
//! `0-3` deals, `0-5` tickets, `2-<n>` custom objects, and in Chronik `4-<n>` app objects) and,
//! in URLs, also by name: `contacts` (or `contact`), for custom objects the fully qualified
//! name `p{portalId}_{name}`, for app objects `a{appId}_{name}`.

use std::fmt;
use std::str::FromStr;

use super::app_object;
use crate::AppId;

/// The four standard object types Chronik keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandardType {
    /// `0-1`
    Contacts,
    /// `0-2`
    Companies,
    /// `0-3`
    Deals,
    /// `0-5`
    Tickets,
}

impl StandardType {
    /// Every standard type.
    pub const ALL: [StandardType; 4] = [
        StandardType::Contacts,
        StandardType::Companies,
        StandardType::Deals,
        StandardType::Tickets,
    ];

    /// HubSpot's objectTypeId.
    pub fn type_id(self) -> ObjectTypeId {
        ObjectTypeId::Standard(self)
    }

    /// HubSpot's objectTypeId in its wire form (`0-1`).
    fn type_id_str(self) -> &'static str {
        match self {
            StandardType::Contacts => "0-1",
            StandardType::Companies => "0-2",
            StandardType::Deals => "0-3",
            StandardType::Tickets => "0-5",
        }
    }

    /// The plural name used in URLs and scopes (`crm.objects.contacts.read`).
    pub fn plural(self) -> &'static str {
        match self {
            StandardType::Contacts => "contacts",
            StandardType::Companies => "companies",
            StandardType::Deals => "deals",
            StandardType::Tickets => "tickets",
        }
    }

    /// The singular name (`contact`), also accepted in URLs.
    pub fn singular(self) -> &'static str {
        match self {
            StandardType::Contacts => "contact",
            StandardType::Companies => "company",
            StandardType::Deals => "deal",
            StandardType::Tickets => "ticket",
        }
    }

    /// Parses a path segment: plural or singular name (any case) or type id.
    pub fn parse(segment: &str) -> Option<StandardType> {
        let lower = segment.to_ascii_lowercase();
        StandardType::ALL
            .into_iter()
            .find(|t| lower == t.plural() || lower == t.singular() || lower == t.type_id_str())
    }

    /// The property that stamps the last modification (`lastmodifieddate` on contacts,
    /// `hs_lastmodifieddate` elsewhere, as in HubSpot).
    pub fn last_modified_property(self) -> &'static str {
        match self {
            StandardType::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }
}

impl fmt::Display for StandardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plural())
    }
}

/// The prefix of custom-object type ids.
pub const CUSTOM_TYPE_ID_PREFIX: &str = "2-";

/// The prefix of app-object type ids (Chronik's own family, beside HubSpot's `0-` and `2-`).
pub const APP_OBJECT_TYPE_ID_PREFIX: &str = "4-";

/// An objectTypeId: what kind of type it is and its number. Its [`Display`](fmt::Display) is
/// the wire and column form (`0-1`, `2-17`, `4-3`); [`ObjectTypeId::parse`] reads that form
/// back at the edges (path segments, wire inputs, stored rows), so nothing past them parses
/// a type id string to learn its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectTypeId {
    /// One of the four standard types (`0-1`, `0-2`, `0-3`, `0-5`).
    Standard(StandardType),
    /// A custom object (`2-<n>`).
    Custom(i64),
    /// An app object (`4-<n>`).
    App(i64),
}

/// A string that is not an objectTypeId in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidObjectTypeId(pub String);

impl fmt::Display for InvalidObjectTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" is not an objectTypeId", self.0)
    }
}

impl std::error::Error for InvalidObjectTypeId {}

impl ObjectTypeId {
    /// Parses the canonical form: `0-1`, `0-2`, `0-3`, `0-5`, or `2-<n>` / `4-<n>` with `<n>` a
    /// decimal number without sign or leading zeros that fits an `i64`. Exactly the strings
    /// [`Display`](fmt::Display) writes parse, so a parsed id written back is the same text and
    /// matches the stored column. (`2-0` parses: no schema has it, so it names nothing, as
    /// before; `2-007` does not, so it never finds `2-7`.)
    pub fn parse(raw: &str) -> Option<ObjectTypeId> {
        if let Some(t) = StandardType::ALL
            .into_iter()
            .find(|t| t.type_id_str() == raw)
        {
            return Some(ObjectTypeId::Standard(t));
        }
        let number = |rest: &str| -> Option<i64> {
            let canonical = !rest.is_empty()
                && rest.bytes().all(|b| b.is_ascii_digit())
                && (rest == "0" || !rest.starts_with('0'));
            canonical.then(|| rest.parse().ok()).flatten()
        };
        if let Some(rest) = raw.strip_prefix(CUSTOM_TYPE_ID_PREFIX) {
            return number(rest).map(ObjectTypeId::Custom);
        }
        if let Some(rest) = raw.strip_prefix(APP_OBJECT_TYPE_ID_PREFIX) {
            return number(rest).map(ObjectTypeId::App);
        }
        None
    }

    /// Parses an id read back from the database: the canonical form, or a custom or app type
    /// id with leading zeros in its number (`2-007` is `2-7`). Before ids were typed, a schema's
    /// `associatedObjects` and association definitions stored the text as sent, so a database
    /// written then may hold such a value; it reads as the type it names rather than failing
    /// every read of the schema. Only [`ObjectTypeId::parse`] reads what callers send.
    pub fn parse_stored(raw: &str) -> Option<ObjectTypeId> {
        ObjectTypeId::parse(raw).or_else(|| {
            let lenient = |rest: &str| -> Option<i64> {
                (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| rest.parse().ok())
                    .flatten()
            };
            if let Some(rest) = raw.strip_prefix(CUSTOM_TYPE_ID_PREFIX) {
                return lenient(rest).map(ObjectTypeId::Custom);
            }
            raw.strip_prefix(APP_OBJECT_TYPE_ID_PREFIX)
                .and_then(lenient)
                .map(ObjectTypeId::App)
        })
    }

    /// The standard type, when it is one.
    pub fn standard(self) -> Option<StandardType> {
        match self {
            ObjectTypeId::Standard(t) => Some(t),
            _ => None,
        }
    }

    /// Whether it names a custom object type (`2-<n>`).
    pub fn is_custom(self) -> bool {
        matches!(self, ObjectTypeId::Custom(_))
    }

    /// The `<n>` after the dash (`1` for `0-1`, `17` for `2-17`): a custom object schema's
    /// `id`, an app object's number.
    pub fn number(self) -> i64 {
        match self {
            ObjectTypeId::Standard(t) => match t {
                StandardType::Contacts => 1,
                StandardType::Companies => 2,
                StandardType::Deals => 3,
                StandardType::Tickets => 5,
            },
            ObjectTypeId::Custom(n) | ObjectTypeId::App(n) => n,
        }
    }
}

impl fmt::Display for ObjectTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectTypeId::Standard(t) => f.write_str(t.type_id_str()),
            ObjectTypeId::Custom(n) => write!(f, "{CUSTOM_TYPE_ID_PREFIX}{n}"),
            ObjectTypeId::App(n) => write!(f, "{APP_OBJECT_TYPE_ID_PREFIX}{n}"),
        }
    }
}

impl FromStr for ObjectTypeId {
    type Err = InvalidObjectTypeId;

    fn from_str(raw: &str) -> Result<ObjectTypeId, InvalidObjectTypeId> {
        ObjectTypeId::parse(raw).ok_or_else(|| InvalidObjectTypeId(raw.to_owned()))
    }
}

/// Stored and sent as its wire form, the string `"2-17"`.
impl serde::Serialize for ObjectTypeId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectTypeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ObjectTypeId, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ObjectTypeId::parse_stored(&raw)
            .ok_or_else(|| serde::de::Error::custom(InvalidObjectTypeId(raw.into_owned())))
    }
}

impl From<StandardType> for ObjectTypeId {
    fn from(t: StandardType) -> ObjectTypeId {
        ObjectTypeId::Standard(t)
    }
}

/// What a `{objectType}` path segment names, before the store is asked about custom types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectTypeRef {
    /// One of the four standard types.
    Standard(StandardType),
    /// A custom object by objectTypeId (`2-17`): the `<n>`.
    CustomTypeId(i64),
    /// A custom object by name: fully qualified (`p123_cars`) or short (`cars`); the name is
    /// stored without the prefix.
    CustomName(String),
    /// An app object by objectTypeId (`4-17`): the `<n>`.
    AppTypeId(i64),
    /// An app object by fully qualified name (`a1000001_CAR`): its app and upper-case name.
    /// A custom object's short name can have the same shape, so this is tried first and the
    /// custom name (`custom`, lower-case) second.
    AppName {
        /// The app.
        app: AppId,
        /// The upper-case name.
        name: String,
        /// The segment as a custom object's short name.
        custom: String,
    },
}

impl ObjectTypeRef {
    /// Parses a path segment for `account` (whose portal id makes up fully qualified names).
    pub fn parse(segment: &str, portal_id: i64) -> ObjectTypeRef {
        if let Some(standard) = StandardType::parse(segment) {
            return ObjectTypeRef::Standard(standard);
        }
        match ObjectTypeId::parse(segment) {
            Some(ObjectTypeId::Standard(t)) => return ObjectTypeRef::Standard(t),
            Some(ObjectTypeId::Custom(n)) => return ObjectTypeRef::CustomTypeId(n),
            Some(ObjectTypeId::App(n)) => return ObjectTypeRef::AppTypeId(n),
            None => {}
        }
        let prefix = format!("p{portal_id}_");
        let name = segment.strip_prefix(&prefix).unwrap_or(segment);
        if let Some((app, upper)) = app_object::parse_fully_qualified_name(segment) {
            return ObjectTypeRef::AppName {
                app,
                name: upper,
                custom: name.to_ascii_lowercase(),
            };
        }
        ObjectTypeRef::CustomName(name.to_ascii_lowercase())
    }
}

/// The fully qualified name of a custom object type: `p{portalId}_{name}`.
pub fn fully_qualified_name(portal_id: i64, name: &str) -> String {
    format!("p{portal_id}_{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_types_parse_by_plural_singular_and_type_id() {
        for (segment, t) in [
            ("contacts", StandardType::Contacts),
            ("CONTACT", StandardType::Contacts),
            ("0-1", StandardType::Contacts),
            ("companies", StandardType::Companies),
            ("company", StandardType::Companies),
            ("deals", StandardType::Deals),
            ("0-3", StandardType::Deals),
            ("tickets", StandardType::Tickets),
            ("0-5", StandardType::Tickets),
        ] {
            assert_eq!(
                ObjectTypeRef::parse(segment, 1),
                ObjectTypeRef::Standard(t),
                "{segment}"
            );
        }
    }

    #[test]
    fn custom_types_parse_by_id_and_by_qualified_or_short_name() {
        assert_eq!(
            ObjectTypeRef::parse("2-17", 99),
            ObjectTypeRef::CustomTypeId(17)
        );
        assert_eq!(
            ObjectTypeRef::parse("p99_cars", 99),
            ObjectTypeRef::CustomName("cars".into())
        );
        assert_eq!(
            ObjectTypeRef::parse("cars", 99),
            ObjectTypeRef::CustomName("cars".into())
        );
        // Another portal's prefix is not stripped: it names nothing here.
        assert_eq!(
            ObjectTypeRef::parse("p7_cars", 99),
            ObjectTypeRef::CustomName("p7_cars".into())
        );
        assert_eq!(
            ObjectTypeRef::parse("2-x", 99),
            ObjectTypeRef::CustomName("2-x".into())
        );
        // Not canonical: a name that no schema has, never the type 2-7.
        assert_eq!(
            ObjectTypeRef::parse("2-007", 99),
            ObjectTypeRef::CustomName("2-007".into())
        );
    }

    #[test]
    fn app_objects_parse_by_type_id_and_by_fully_qualified_name() {
        assert_eq!(
            ObjectTypeRef::parse("4-17", 99),
            ObjectTypeRef::AppTypeId(17)
        );
        assert_eq!(
            ObjectTypeRef::parse("a1000001_car", 99),
            ObjectTypeRef::AppName {
                app: AppId(1_000_001),
                name: "CAR".into(),
                custom: "a1000001_car".into(),
            }
        );
        assert_eq!(
            ObjectTypeRef::parse("4-x", 99),
            ObjectTypeRef::CustomName("4-x".into())
        );
    }

    #[test]
    fn type_ids_display_in_wire_form_and_parse_back() {
        for (raw, id) in [
            ("0-1", ObjectTypeId::Standard(StandardType::Contacts)),
            ("0-2", ObjectTypeId::Standard(StandardType::Companies)),
            ("0-3", ObjectTypeId::Standard(StandardType::Deals)),
            ("0-5", ObjectTypeId::Standard(StandardType::Tickets)),
            ("2-17", ObjectTypeId::Custom(17)),
            ("2-1", ObjectTypeId::Custom(1)),
            ("4-3", ObjectTypeId::App(3)),
            ("2-0", ObjectTypeId::Custom(0)),
            ("4-0", ObjectTypeId::App(0)),
            ("4-9223372036854775807", ObjectTypeId::App(i64::MAX)),
        ] {
            assert_eq!(ObjectTypeId::parse(raw), Some(id), "{raw}");
            assert_eq!(raw.parse::<ObjectTypeId>(), Ok(id), "{raw}");
            assert_eq!(id.to_string(), raw);
        }
        assert_eq!(ObjectTypeId::Custom(17).number(), 17);
        assert_eq!(StandardType::Tickets.type_id().number(), 5);
        assert!(ObjectTypeId::Custom(1).is_custom());
        assert!(!ObjectTypeId::App(1).is_custom());
        assert_eq!(
            serde_json::to_string(&ObjectTypeId::Custom(17)).unwrap(),
            "\"2-17\""
        );
        assert_eq!(
            serde_json::from_str::<ObjectTypeId>("\"4-3\"").unwrap(),
            ObjectTypeId::App(3)
        );
        assert!(serde_json::from_str::<ObjectTypeId>("\"2-\"").is_err());
    }

    #[test]
    fn stored_ids_with_leading_zeros_read_as_the_type_they_name() {
        assert_eq!(
            ObjectTypeId::parse_stored("2-007"),
            Some(ObjectTypeId::Custom(7))
        );
        assert_eq!(
            ObjectTypeId::parse_stored("4-01"),
            Some(ObjectTypeId::App(1))
        );
        assert_eq!(
            ObjectTypeId::parse_stored("0-1"),
            Some(ObjectTypeId::Standard(StandardType::Contacts))
        );
        for bad in ["2-", "2-x", "0-01", "7-1", " 2-7"] {
            assert_eq!(ObjectTypeId::parse_stored(bad), None, "{bad}");
        }
        assert_eq!(
            ObjectTypeId::parse("2-007"),
            None,
            "callers still send the canonical form"
        );
        let stored: Vec<ObjectTypeId> = serde_json::from_str(r#"["2-007","0-2"]"#).unwrap();
        assert_eq!(
            stored,
            [
                ObjectTypeId::Custom(7),
                ObjectTypeId::Standard(StandardType::Companies)
            ]
        );
    }

    #[test]
    fn malformed_type_ids_do_not_parse() {
        for raw in [
            "",
            "2-",
            "2-x",
            "2-1x",
            "2--1",
            "2-+1",
            "2-007",
            "2-00",
            "4-",
            "4-01",
            "4-x",
            "0-4",
            "0-0",
            "0-01",
            "0-",
            "1-1",
            "3-1",
            "2",
            "contacts",
            " 2-1",
            "2-1 ",
            "2-9223372036854775808",
            "4-99999999999999999999",
        ] {
            assert_eq!(ObjectTypeId::parse(raw), None, "{raw:?}");
            assert_eq!(
                raw.parse::<ObjectTypeId>(),
                Err(InvalidObjectTypeId(raw.to_owned())),
                "{raw:?}"
            );
        }
    }
}
