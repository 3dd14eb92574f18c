//! A completion's property bits: a 64-bit summary of its property values, stored beside its
//! time in the event-type index, so that a query filtering by property values reads the rows
//! of only those completions that may match.
//!
//! Each (name, value) pair sets two of the 64 bits, picked by SHA-256 of the pair (stable across
//! versions and platforms, as stored bits must be). A completion whose bits lack a bit of a
//! filter's pairs cannot match the filter. One that has them all may match: with five
//! properties about one in forty completions has the two bits of a given pair by chance, so the
//! exact comparison still runs on those rows. A completion without bits (NULL; stored before
//! the bits existed) is always read.
//!
//! Only the SQLite store keeps them. PostgreSQL cannot test them in a plain index scan, and
//! chose the index-only scan that can only on a vacuumed table (a seq scan and sort of the whole
//! event type otherwise, 20 times slower), so its property filter reads every row as before.

use sha2::{Digest, Sha256};

/// The two bits of one property value.
pub fn of_pair(name: &str, value: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([0u8])
        .chain_update(value.as_bytes())
        .finalize();
    (1i64 << (digest[0] & 63)) | (1i64 << (digest[1] & 63))
}

/// The bits of every pair: a completion's bits, or a filter's mask.
pub fn of_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> i64 {
    pairs
        .into_iter()
        .fold(0, |bits, (name, value)| bits | of_pair(name, value))
}

/// The bits of a stored properties object (`NewCompletion::properties_json`); `None` when it is
/// not a JSON object of strings, so that the row is always read.
pub fn of_json(properties_json: &str) -> Option<i64> {
    let properties: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(properties_json).ok()?;
    let mut bits = 0;
    for (name, value) in &properties {
        bits |= of_pair(name, value.as_str()?);
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a query does with a row's bits (the SQLite store's SQL).
    fn may_match(bits: Option<i64>, mask: i64) -> bool {
        bits.is_none_or(|bits| bits & mask == mask)
    }

    #[test]
    fn a_completion_may_match_every_filter_on_its_own_values() {
        let bits = of_json(r#"{"hs_city":"Berlin","plan":"pro","seats":"5"}"#);
        assert!(bits.is_some());
        for filter in [
            vec![("hs_city", "Berlin")],
            vec![("plan", "pro"), ("seats", "5")],
            vec![("hs_city", "Berlin"), ("plan", "pro"), ("seats", "5")],
        ] {
            assert!(may_match(bits, of_pairs(filter.clone())), "{filter:?}");
        }
    }

    #[test]
    fn most_other_values_are_ruled_out_without_reading_the_row() {
        let bits = of_json(r#"{"hs_city":"Berlin","plan":"pro","seats":"5"}"#);
        let ruled_out = (0..1000)
            .filter(|n| !may_match(bits, of_pair("hs_city", &format!("City {n}"))))
            .count();
        // At most six of 64 bits are set: a pair has both its bits among them about 1 time in 100.
        assert!(ruled_out > 950, "only {ruled_out} of 1000 ruled out");
        // The name counts as well as the value, and where one ends.
        assert_ne!(of_pair("plan", "pro"), of_pair("seats", "pro"));
        assert_ne!(of_pair("a", "bc"), of_pair("ab", "c"));
    }

    #[test]
    fn the_bits_of_a_pair_never_change() {
        // Stored bits must mean the same after an upgrade: a change of function fails here.
        // (SHA-256 of "hs_city\0Berlin" starts with the bytes 0xdd, 0x0b: bits 29 and 11.)
        assert_eq!(of_pair("hs_city", "Berlin"), (1 << 29) | (1 << 11));
    }

    #[test]
    fn rows_without_bits_are_always_read() {
        assert_eq!(of_json("[1, 2]"), None);
        assert_eq!(of_json(r#"{"seats": 5}"#), None);
        assert!(may_match(None, of_pair("hs_city", "Berlin")));
    }
}
