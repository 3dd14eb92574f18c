//! Property history of CRM records (`propertiesWithHistory`), the same in both backends.
//!
//! A record's `history` column is NULL until its first update, which means "each stored
//! property has one entry, at the record's creation": the bulk create path then writes nothing
//! but the record. The first update materializes the map, and every update prepends an entry
//! for each value it changes.

use std::collections::BTreeMap;

use chrono::DateTime;

use crate::crm::HistoryEntry;

/// The stored form: property → `[value, timestamp_ms]` pairs, newest first. A cleared property
/// gets the value `""`.
pub(crate) type HistoryMap = BTreeMap<String, Vec<(String, i64)>>;

/// The history of a record never updated: one entry per stored property, at its creation.
pub(crate) fn derive(properties: &BTreeMap<String, String>, created_ms: i64) -> HistoryMap {
    properties
        .iter()
        .map(|(name, value)| (name.clone(), vec![(value.clone(), created_ms)]))
        .collect()
}

/// Applies `set` and `clear` to `properties` and returns the history with an entry prepended
/// for each value that changed (a value set to what it already was, or a property cleared that
/// was not set, adds nothing).
pub(crate) fn apply(
    properties: &mut BTreeMap<String, String>,
    history: Option<HistoryMap>,
    created_ms: i64,
    set: &BTreeMap<String, String>,
    clear: &[String],
    now_ms: i64,
) -> HistoryMap {
    let mut history = history.unwrap_or_else(|| derive(properties, created_ms));
    for (name, value) in set {
        if properties.get(name) == Some(value) {
            continue;
        }
        properties.insert(name.clone(), value.clone());
        history
            .entry(name.clone())
            .or_default()
            .insert(0, (value.clone(), now_ms));
    }
    for name in clear {
        if properties.remove(name).is_some() {
            history
                .entry(name.clone())
                .or_default()
                .insert(0, (String::new(), now_ms));
        }
    }
    history
}

/// The caller's form of a stored (or derived) history.
pub(crate) fn entries(history: HistoryMap) -> BTreeMap<String, Vec<HistoryEntry>> {
    history
        .into_iter()
        .map(|(name, list)| {
            let list = list
                .into_iter()
                .map(|(value, ms)| HistoryEntry {
                    value,
                    timestamp: DateTime::from_timestamp_millis(ms).unwrap_or_default(),
                })
                .collect();
            (name, list)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn first_update_materializes_creation_entries_and_prepends_changes() {
        let mut props = map(&[("email", "a@x.com"), ("firstname", "Ada")]);
        let h = apply(
            &mut props,
            None,
            10,
            &map(&[("firstname", "Grace"), ("lastname", "Hopper")]),
            &["email".to_owned()],
            20,
        );
        assert_eq!(
            props,
            map(&[("firstname", "Grace"), ("lastname", "Hopper")])
        );
        assert_eq!(
            h["firstname"],
            vec![("Grace".to_owned(), 20), ("Ada".to_owned(), 10)]
        );
        assert_eq!(h["lastname"], vec![("Hopper".to_owned(), 20)]);
        assert_eq!(
            h["email"],
            vec![(String::new(), 20), ("a@x.com".to_owned(), 10)]
        );
    }

    #[test]
    fn unchanged_values_and_clearing_unset_properties_add_nothing() {
        let mut props = map(&[("firstname", "Ada")]);
        let h = apply(
            &mut props,
            None,
            10,
            &map(&[("firstname", "Ada")]),
            &["lastname".to_owned()],
            20,
        );
        assert_eq!(h, derive(&map(&[("firstname", "Ada")]), 10));
    }
}
