//! Rules for free text that every family shares: names, addresses and paths carry no control
//! characters, and texts stay within a bounded length. Each family names its own limits (a
//! constant beside its rule, saying where the number comes from) and calls these helpers, so
//! every refusal names the field, the limit or the character the same way.

use crate::error::ValidationError;

/// Our own bound on every description: of CRM properties and their options, of custom object
/// schemas, and of event definitions and their properties. HubSpot's documents and specs give
/// none. A description is help text shown beside a field, a few sentences; 2,000 characters
/// leave room for several paragraphs and keep lists that carry every description (all of a
/// type's properties, all 500 event definitions of an account) to a few megabytes at most.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// Whether `c` has no place in a name, an email address or a file path: the C0 and C1 control
/// characters (NUL, tab, newline, escape, DEL, …), the line and paragraph separators, and the
/// bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069),
/// which make a text display in another order than it is stored (`\u{202e}` turns
/// `gpj.exe@x.com` around on screen). Other format characters, such as the zero-width joiner
/// inside an emoji, stay allowed.
pub fn is_control_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Refuses `value` when it contains a control character ([`is_control_char`]); the error names
/// `field`, the character's code point and its position (counted in characters from 1), never
/// the raw text, which could carry the character into a log or a terminal.
pub fn check_no_control_chars(field: &str, value: &str) -> Result<(), ValidationError> {
    match value.chars().enumerate().find(|(_, c)| is_control_char(*c)) {
        None => Ok(()),
        Some((i, c)) => Err(ValidationError::new(
            field,
            "CONTROL_CHARACTER",
            format!(
                "{field} contains the control character U+{:04X} at character {}; control and bidirectional formatting characters are not allowed",
                c as u32,
                i + 1
            ),
        )),
    }
}

/// Refuses `value` when it has more than `max` characters (Unicode scalar values, as HubSpot
/// and the seeds count); the error names `field`, the length and the limit.
pub fn check_max_chars(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    let chars = value.chars().count();
    if chars > max {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!("{field} has {chars} characters; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// An optional free text (a description, a group name): absent is empty, and what is sent has
/// at most `max` characters.
pub fn parse_optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<String, ValidationError> {
    let value = raw.unwrap_or_default();
    check_max_chars(field, value, max)?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_c1_and_bidi_controls_are_refused_naming_field_and_code_point() {
        for (value, code_point, position) in [
            ("a\u{0}b@x.com", "U+0000", 2),
            ("\u{202e}@x.com", "U+202E", 1),
            ("name\u{7f}", "U+007F", 5),
            ("x\u{85}", "U+0085", 2),
            ("tab\there", "U+0009", 4),
            ("line\nbreak", "U+000A", 5),
            ("iso\u{2066}late", "U+2066", 4),
            ("sep\u{2028}", "U+2028", 4),
            ("mark\u{200f}", "U+200F", 5),
        ] {
            let e = check_no_control_chars("email", value).unwrap_err();
            assert_eq!(e.field, "email");
            assert_eq!(e.code, "CONTROL_CHARACTER");
            assert!(e.message.contains(code_point), "{value:?}: {}", e.message);
            assert!(
                e.message.contains(&format!("character {position}")),
                "{value:?}: {}",
                e.message
            );
            assert!(!e.message.contains(value), "the raw text is not echoed");
        }
    }

    #[test]
    fn printable_text_in_any_script_passes() {
        for ok in [
            "ada@example.com",
            "Müller & Söhne GmbH",
            "שלום עולם",
            "family 👨\u{200d}👩\u{200d}👧",
            "app/app-objects/car-hsmeta.json",
            "",
        ] {
            assert!(check_no_control_chars("name", ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn lengths_count_characters_at_the_limit_and_one_past() {
        assert!(check_max_chars("description", &"é".repeat(10), 10).is_ok());
        let e = check_max_chars("description", &"é".repeat(11), 10).unwrap_err();
        assert_eq!(e.field, "description");
        assert_eq!(e.code, "TOO_LONG");
        assert!(e.message.contains("11") && e.message.contains("10"), "{e}");
    }

    #[test]
    fn optional_text_is_empty_when_absent_and_bounded_when_sent() {
        assert_eq!(parse_optional_text("groupName", None, 3).unwrap(), "");
        assert_eq!(
            parse_optional_text("groupName", Some("abc"), 3).unwrap(),
            "abc"
        );
        assert_eq!(
            parse_optional_text("groupName", Some("abcd"), 3)
                .unwrap_err()
                .field,
            "groupName"
        );
    }
}
