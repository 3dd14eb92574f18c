//! `chronik --help`: the first line and the command list name every subcommand.

use crate::{chronik, stdout};

/// Every subcommand of `chronik`, in the order `--help` lists them. A new subcommand fails
/// [`help_lists_exactly_the_subcommands`] until it is added here (and to the README).
const SUBCOMMANDS: [&str; 4] = ["serve", "admin", "project", "send"];

/// The names in the `Commands:` section of a clap help text.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn help_lists_exactly_the_subcommands() {
    let out = chronik().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    let mut expected: Vec<String> = SUBCOMMANDS.iter().map(|s| s.to_string()).collect();
    expected.push("help".to_owned());
    assert_eq!(listed_commands(&help), expected, "{help}");
}

#[test]
fn help_first_line_names_every_subcommand() {
    let out = chronik().arg("--help").output().unwrap();
    let help = stdout(&out);
    let first = help.lines().next().unwrap();
    for name in SUBCOMMANDS {
        assert!(
            first.contains(&format!("`{name}`")),
            "the first line of --help does not name `{name}`: {first}"
        );
    }
}

#[test]
fn every_subcommand_has_its_own_help() {
    for name in SUBCOMMANDS {
        let out = chronik().args([name, "--help"]).output().unwrap();
        assert!(out.status.success(), "chronik {name} --help failed");
        assert!(
            stdout(&out).contains(&format!("Usage: chronik {name}")),
            "chronik {name} --help: {}",
            stdout(&out)
        );
    }
}

#[test]
fn no_subcommand_prints_the_list_and_fails() {
    let out = chronik().output().unwrap();
    assert!(!out.status.success());
    let text = crate::stderr(&out);
    for name in SUBCOMMANDS {
        assert!(text.contains(name), "{name} missing from: {text}");
    }
}
