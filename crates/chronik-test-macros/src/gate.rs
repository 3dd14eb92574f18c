//! When the PostgreSQL tests run: the one rule for `CI` and `CHRONIK_TEST_DATABASE_URL`, shared by
//! this crate's build script (which decides whether `#[postgres]` ignores tests) and its unit
//! tests. The Python suites apply the same rule (`tests/sdk/chronik_harness.py`).

/// Whether `CI` counts as set: `true`, `1` or `yes`, in any case, with surrounding whitespace
/// ignored. Anything else (unset, empty, `false`, `0`, `no`) is not CI.
pub fn ci_is_set(ci: Option<&str>) -> bool {
    ci.map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "yes"))
}

/// Whether `CHRONIK_TEST_DATABASE_URL` names a database: set and not blank.
pub fn database_url_is_set(url: Option<&str>) -> bool {
    url.is_some_and(|u| !u.trim().is_empty())
}

/// Whether the PostgreSQL tests are built `#[ignore]`d: without a test database, unless under CI,
/// where they are built to run and then fail on the missing URL.
pub fn postgres_tests_ignored(url: Option<&str>, ci: Option<&str>) -> bool {
    !database_url_is_set(url) && !ci_is_set(ci)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_counts_as_set_for_true_1_and_yes_in_any_case_trimmed() {
        for value in [
            "true", "1", "yes", "TRUE", "True", "Yes", "YES", " true ", "1\n", "\tyes",
        ] {
            assert!(ci_is_set(Some(value)), "{value:?} should count as CI");
        }
    }

    #[test]
    fn ci_does_not_count_as_set_otherwise() {
        assert!(!ci_is_set(None));
        for value in ["", " ", "false", "0", "no", "off", "y", "ci", "truee", "2"] {
            assert!(!ci_is_set(Some(value)), "{value:?} should not count as CI");
        }
    }

    #[test]
    fn a_blank_database_url_is_no_database() {
        assert!(!database_url_is_set(None));
        assert!(!database_url_is_set(Some("")));
        assert!(!database_url_is_set(Some("  ")));
        assert!(database_url_is_set(Some("postgres://u:p@127.0.0.1/db")));
    }

    #[test]
    fn postgres_tests_are_ignored_only_without_a_url_outside_ci() {
        let url = Some("postgres://u:p@127.0.0.1/db");
        assert!(postgres_tests_ignored(None, None));
        assert!(postgres_tests_ignored(Some(""), Some("false")));
        assert!(!postgres_tests_ignored(url, None));
        assert!(!postgres_tests_ignored(url, Some("true")));
        // Under CI a missing URL must fail, not skip: the tests are built to run.
        assert!(!postgres_tests_ignored(None, Some("yes")));
        assert!(!postgres_tests_ignored(None, Some("1")));
    }
}
