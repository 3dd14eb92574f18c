//! The compact stored form of a completion's occurrence id (`uuid`).
//!
//! Clients send any string, but almost always a UUID. A UUID in its canonical form (lower-case,
//! hyphenated, 36 characters) is stored as its 16 bytes, which keeps the uniqueness index less
//! than half the size of one over text. Any other string is stored as its UTF-8 bytes; one of
//! exactly 16 bytes gets a trailing `0xFF` so it can never be taken for a UUID (UTF-8 never
//! contains `0xFF`). The mapping is one-to-one both ways, so equal ids and only equal ids have
//! equal stored forms.

use uuid::Uuid;

/// The stored form of `id`.
pub fn encode(id: &str) -> Vec<u8> {
    if id.len() == 36 {
        if let Ok(uuid) = Uuid::try_parse(id) {
            if uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()) == id {
                return uuid.as_bytes().to_vec();
            }
        }
    }
    let mut bytes = id.as_bytes().to_vec();
    if bytes.len() == 16 {
        bytes.push(0xFF);
    }
    bytes
}

/// The id whose stored form is `bytes`.
pub fn decode(bytes: &[u8]) -> String {
    // Sixteen bytes are always a UUID (whatever its last byte); the 0xFF mark only ever ends
    // the seventeen bytes of a sixteen-byte string.
    match bytes.len() {
        16 => Uuid::from_slice(bytes)
            .map(|u| u.hyphenated().to_string())
            .unwrap_or_default(),
        17 if bytes[16] == 0xFF => String::from_utf8_lossy(&bytes[..16]).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_take_sixteen_bytes_and_come_back_unchanged() {
        let id = Uuid::new_v4().to_string();
        assert_eq!(encode(&id).len(), 16);
        assert_eq!(decode(&encode(&id)), id);
    }

    #[test]
    fn other_strings_come_back_unchanged() {
        let upper = Uuid::new_v4().to_string().to_uppercase();
        for id in [
            "id1",
            "",
            "é",
            upper.as_str(),
            "0123456789abcdef",
            "0123456789abcde",
        ] {
            assert_eq!(decode(&encode(id)), id, "{id}");
        }
        assert_ne!(encode(&upper).len(), 16);
    }

    #[test]
    fn a_uuid_ending_in_0xff_comes_back_unchanged() {
        let mut bytes = *Uuid::new_v4().as_bytes();
        bytes[15] = 0xFF;
        let id = Uuid::from_bytes(bytes).to_string();
        assert_eq!(decode(&encode(&id)), id);
        let text = "0123456789abcdef";
        assert_eq!(decode(&encode(text)), text);
    }

    #[test]
    fn a_sixteen_byte_string_never_meets_a_uuid() {
        // The 16 ASCII bytes of this string are also the bytes of a UUID.
        let text = "aaaaaaaaaaaaaaaa";
        let uuid = Uuid::from_slice(text.as_bytes()).unwrap().to_string();
        assert_ne!(encode(text), encode(&uuid));
        assert_eq!(decode(&encode(text)), text);
        assert_eq!(decode(&encode(&uuid)), uuid);
    }
}
