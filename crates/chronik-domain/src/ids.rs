//! Id newtypes. HubSpot calls an account a *portal* (`portalId`, `hub_id` on the wire) and a
//! record's id an `objectId`; inside Chronik we say "account" and use these types, so a bare
//! `i64` never crosses a crate boundary.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    /// An account (HubSpot's portal, `portalId` / `hub_id` on the wire).
    AccountId
);
id_type!(
    /// An app owned by a developer; has a developer API key and OAuth client credentials.
    AppId
);
id_type!(
    /// A private app inside one account; its Bearer token is scoped to that account.
    PrivateAppId
);
id_type!(
    /// A CRM record (`objectId` on the wire), unique within its account.
    ObjectId
);
id_type!(
    /// A custom behavioral event definition (its `id` on the wire, as text), unique in the
    /// database; completions name their event type by it.
    EventDefinitionId
);
id_type!(
    /// An app timeline event type (a v3 event template's `id` on the wire, as text; v4 event
    /// types get one too), unique in the database; timeline events name their type by it.
    EventTypeId
);
