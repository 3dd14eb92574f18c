//! Tenancy (SPEC.md, "Tenancy and authentication"): accounts, apps, installs, private apps and
//! the operator, with the rules for their names, scopes and token lifetimes.
//!
//! Who may call what:
//! - an **install**'s OAuth access token (Bearer) acts in one account with the install's scopes;
//! - a **private app**'s token (Bearer) acts in its account with its scopes;
//! - an **app**'s developer API key (`hapikey`) manages that app's templates and event types;
//! - the **operator** (admin token) provisions everything through `/admin/v1`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::{DomainError, Problems, ValidationError};
use crate::ids::{AppId, PrivateAppId};
use crate::text::check_no_control_chars;

/// HubSpot's access tokens live 30 minutes (`expires_in: 1800` in every token response).
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// How long an authorization code can be exchanged. RFC 6749 §4.1.2 recommends at most ten
/// minutes; HubSpot does not publish its figure.
pub const AUTHORIZATION_CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// Our own bound on account, app and private-app names, so a name fits in every listing.
pub const MAX_NAME_CHARS: usize = 200;

/// Our own bound on the scopes one grant can carry; HubSpot's whole catalogue has fewer.
pub const MAX_SCOPES: usize = 200;

/// Our own bound on one scope's length; HubSpot's longest scope names are under 80 characters.
pub const MAX_SCOPE_CHARS: usize = 100;

/// The visitor token (`hubspotutk` cookie) is 32 hex characters in HubSpot; we accept any
/// printable token up to this length so test suites can use readable ones.
pub const MAX_UTK_CHARS: usize = 100;

/// RFC 5321's limit on the length of an address.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Chronik has no user accounts; an install made without naming its user reports this one as
/// `user` in token info.
pub const DEFAULT_INSTALLER_EMAIL: &str = "operator@chronik.local";

/// The `user_id` reported for [`DEFAULT_INSTALLER_EMAIL`].
pub const DEFAULT_INSTALLER_USER_ID: i64 = 1;

/// What kind of principal a Bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerKind {
    /// An OAuth access token of an app installed into the account.
    Install { app: AppId },
    /// A private app's token.
    PrivateApp { private_app: PrivateAppId },
}

/// A set of granted scopes, as strings exactly as HubSpot names them
/// (`crm.objects.contacts.read`, `timeline`, `oauth`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses the `field` of a request: every scope non-empty, at most [`MAX_SCOPE_CHARS`]
    /// characters of `a-z`, `0-9`, `.`, `_`, `-`; at most [`MAX_SCOPES`] of them.
    /// Duplicates collapse. Every problem is reported.
    pub fn parse(field: &str, raw: &[String]) -> Result<Self, DomainError> {
        let mut problems = Problems::new();
        if raw.len() > MAX_SCOPES {
            problems.push(ValidationError::new(
                field,
                "TOO_MANY",
                format!(
                    "{field} has {} scopes; at most {MAX_SCOPES} are allowed",
                    raw.len()
                ),
            ));
        }
        for (i, scope) in raw.iter().enumerate() {
            let path = format!("{field}[{i}]");
            let chars = scope.chars().count();
            if chars == 0 {
                problems.push(ValidationError::new(
                    &path,
                    "REQUIRED",
                    format!("{path} is empty"),
                ));
            } else if chars > MAX_SCOPE_CHARS {
                problems.push(ValidationError::new(
                    &path,
                    "TOO_LONG",
                    format!("{path} has {chars} characters; a scope has at most {MAX_SCOPE_CHARS}"),
                ));
            } else if !scope.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            }) {
                problems.push(ValidationError::new(
                    &path,
                    "INVALID_FORMAT",
                    format!(
                        "{path} \"{scope}\" may contain only lower-case letters, digits, '.', '_' and '-'"
                    ),
                ));
            }
        }
        problems.finish(Scopes(raw.iter().cloned().collect()))
    }

    /// Scopes read back from storage (already validated when they were granted).
    pub fn from_stored(scopes: impl IntoIterator<Item = String>) -> Self {
        Scopes(scopes.into_iter().collect())
    }

    /// Parses a space-separated `scope` parameter as OAuth sends it.
    pub fn parse_space_separated(field: &str, raw: &str) -> Result<Self, DomainError> {
        let list: Vec<String> = raw.split_whitespace().map(str::to_owned).collect();
        Scopes::parse(field, &list)
    }

    /// Whether `scope` was granted.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether at least one of `any_of` was granted.
    pub fn contains_any(&self, any_of: &[&str]) -> bool {
        any_of.iter().any(|s| self.contains(s))
    }

    /// Whether every scope of `other` is also here.
    pub fn is_superset_of(&self, other: &Scopes) -> bool {
        other.0.is_subset(&self.0)
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The scopes as an owned sorted list.
    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }

    /// Whether no scope is granted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Checks a display name (`field` names it in the error): required, at most
/// [`MAX_NAME_CHARS`] characters, trimmed, without control characters
/// ([`crate::text::is_control_char`]).
pub fn parse_name(field: &str, raw: Option<&str>) -> Result<String, DomainError> {
    let name = raw.map(str::trim).unwrap_or_default();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(ValidationError::required(field).into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!("{field} has {chars} characters; at most {MAX_NAME_CHARS} are allowed"),
        )
        .into());
    }
    check_no_control_chars(field, name)?;
    Ok(name.to_owned())
}

/// An email address, compared case-insensitively as HubSpot compares contact emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    original: String,
    folded: String,
}

impl Email {
    /// Parses `field`: one `@` with text on both sides, no whitespace and no control
    /// characters ([`crate::text::is_control_char`]: NUL, bidirectional overrides, …), at most
    /// [`MAX_EMAIL_CHARS`] characters.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let chars = value.chars().count();
        if chars == 0 {
            return Err(ValidationError::required(field));
        }
        if chars > MAX_EMAIL_CHARS {
            return Err(ValidationError::new(
                field,
                "TOO_LONG",
                format!("{field} has {chars} characters; an email address has at most {MAX_EMAIL_CHARS}"),
            ));
        }
        check_no_control_chars(field, value)?;
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !value.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if !valid {
            return Err(ValidationError::new(
                field,
                "INVALID_EMAIL",
                format!("{field} \"{value}\" is not a valid email address"),
            ));
        }
        Ok(Email {
            original: value.to_owned(),
            folded: value.to_lowercase(),
        })
    }

    /// The address as the caller wrote it.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The lower-cased address that identity is decided by.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

/// Parses a visitor token (`utk`): non-empty, printable ASCII without spaces, at most
/// [`MAX_UTK_CHARS`] characters.
pub fn parse_utk(field: &str, raw: &str) -> Result<String, ValidationError> {
    let chars = raw.chars().count();
    if chars == 0 {
        return Err(ValidationError::required(field));
    }
    if chars > MAX_UTK_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!("{field} has {chars} characters; a visitor token has at most {MAX_UTK_CHARS}"),
        ));
    }
    if !raw.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ValidationError::new(
            field,
            "INVALID_FORMAT",
            format!("{field} may contain only printable ASCII characters without spaces"),
        ));
    }
    Ok(raw.to_owned())
}

/// Parses an OAuth redirect URI: an absolute `http` or `https` URL.
pub fn parse_redirect_uri(field: &str, raw: &str) -> Result<String, ValidationError> {
    let ok = (raw.starts_with("http://") || raw.starts_with("https://"))
        && raw.len() > "https://".len()
        && !raw.chars().any(char::is_whitespace);
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            "INVALID_URL",
            format!("{field} must be an absolute http or https URL"),
        ))
    }
}

/// Checks that a grant's scopes do not exceed what was installed: an app cannot widen its own
/// access by asking for more scopes when it exchanges a code.
pub fn ensure_subset(
    field: &str,
    granted: &Scopes,
    requested: &Scopes,
) -> Result<(), ValidationError> {
    let extra: Vec<&str> = requested.iter().filter(|s| !granted.contains(s)).collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "SCOPES_NOT_GRANTED",
            format!(
                "{field} asks for scopes that were not granted: {}",
                extra.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_accept_hubspot_names_and_collapse_duplicates() {
        let s = Scopes::parse(
            "scopes",
            &strings(&["crm.objects.contacts.read", "timeline", "timeline"]),
        )
        .unwrap();
        assert_eq!(
            s.to_vec(),
            strings(&["crm.objects.contacts.read", "timeline"])
        );
        assert!(s.contains_any(&["oauth", "timeline"]));
        assert!(!s.contains("oauth"));
    }

    #[test]
    fn every_bad_scope_is_reported_with_its_index() {
        let err = Scopes::parse("scopes", &strings(&["ok", "", "Bad Scope"])).unwrap_err();
        let DomainError::Invalid(problems) = err else {
            panic!("expected Invalid")
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["scopes[1]", "scopes[2]"]);
    }

    #[test]
    fn scope_at_the_length_limit_passes_and_one_past_fails() {
        let at = "a".repeat(MAX_SCOPE_CHARS);
        let past = "a".repeat(MAX_SCOPE_CHARS + 1);
        assert!(Scopes::parse("scopes", &[at]).is_ok());
        let err = Scopes::parse("scopes", &[past]).unwrap_err().to_string();
        assert!(err.contains("101") && err.contains("100"), "{err}");
    }

    #[test]
    fn scope_count_at_the_limit_passes_and_one_past_fails() {
        let at: Vec<String> = (0..MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert!(Scopes::parse("scopes", &at).is_ok());
        let past: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        let err = Scopes::parse("scopes", &past).unwrap_err().to_string();
        assert!(err.contains("201") && err.contains("200"), "{err}");
    }

    #[test]
    fn name_at_the_limit_passes_and_one_past_fails() {
        assert_eq!(
            parse_name("name", Some(&"x".repeat(MAX_NAME_CHARS)))
                .unwrap()
                .len(),
            200
        );
        let err = parse_name("name", Some(&"x".repeat(MAX_NAME_CHARS + 1)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("201") && err.contains("200"), "{err}");
        assert!(parse_name("name", Some("   ")).is_err());
        assert!(parse_name("name", None).is_err());
    }

    #[test]
    fn email_is_folded_for_identity_but_kept_as_written() {
        let e = Email::parse("email", " Ada@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada@Example.COM");
        assert_eq!(e.folded(), "ada@example.com");
        for bad in ["", "no-at", "@x", "x@", "a b@c", "a@b@c"] {
            assert!(
                Email::parse("email", bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let local = "a".repeat(MAX_EMAIL_CHARS - 4);
        assert!(Email::parse("email", &format!("{local}@b.c")).is_ok());
        assert!(Email::parse("email", &format!("{local}x@b.c")).is_err());
    }

    #[test]
    fn emails_with_nul_or_bidi_controls_are_refused_naming_the_field() {
        for bad in [
            "a\u{0}b@x.com",
            "\u{202e}@x.com",
            "a@x.com\u{7}",
            "a\u{2066}b@x.com",
        ] {
            let e = Email::parse("inputs[0].email", bad).unwrap_err();
            assert_eq!(e.field, "inputs[0].email", "{bad:?}");
            assert_eq!(e.code, "CONTROL_CHARACTER", "{bad:?}");
            assert!(e.message.contains("U+"), "{}", e.message);
        }
        assert!(Email::parse("email", "jürgen@müller.de").is_ok());
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        for bad in ["Acme\u{0}", "Ac\u{1b}[31mme", "\u{202e}emcA", "two\nlines"] {
            let DomainError::Invalid(problems) = parse_name("name", Some(bad)).unwrap_err() else {
                panic!("{bad:?}: not a validation error")
            };
            assert_eq!(problems[0].field, "name");
            assert_eq!(problems[0].code, "CONTROL_CHARACTER", "{bad:?}");
        }
        assert_eq!(
            parse_name("name", Some(" Acme\n")).unwrap(),
            "Acme",
            "trimmed first"
        );
    }

    #[test]
    fn utk_limits() {
        assert!(parse_utk("utk", &"u".repeat(MAX_UTK_CHARS)).is_ok());
        assert!(parse_utk("utk", &"u".repeat(MAX_UTK_CHARS + 1)).is_err());
        assert!(parse_utk("utk", "has space").is_err());
        assert!(parse_utk("utk", "").is_err());
    }

    #[test]
    fn redirect_uri_must_be_http_or_https() {
        assert!(parse_redirect_uri("redirect_uri", "https://app.example/cb").is_ok());
        assert!(parse_redirect_uri("redirect_uri", "http://x/cb").is_ok());
        assert!(parse_redirect_uri("redirect_uri", "javascript:alert(1)").is_err());
        assert!(parse_redirect_uri("redirect_uri", "https://").is_err());
    }

    #[test]
    fn requested_scopes_must_be_a_subset_of_granted() {
        let granted = Scopes::parse("s", &strings(&["a", "b"])).unwrap();
        assert!(ensure_subset(
            "scope",
            &granted,
            &Scopes::parse("s", &strings(&["a"])).unwrap()
        )
        .is_ok());
        let err = ensure_subset(
            "scope",
            &granted,
            &Scopes::parse("s", &strings(&["a", "c"])).unwrap(),
        )
        .unwrap_err();
        assert!(err.message.contains('c'));
    }
}
