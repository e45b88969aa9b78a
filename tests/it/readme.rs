//! The README is the front door: it names every outcome, every fault and every subcommand, and
//! its two set-up commands are the ones CI and the lab use.

use certlab::outcome::ALL_OUTCOMES;
use certlab::pki::model::ALL_FAULTS;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The subcommands `certlab --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let help = assert_cmd::Command::cargo_bin("certlab")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    String::from_utf8(help.stdout)
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn the_readme_names_every_outcome_and_fault() {
    let text = readme();
    for o in ALL_OUTCOMES {
        assert!(
            text.contains(&format!("| `{}` |", o.name())),
            "outcome {o} missing from the README table"
        );
    }
    for f in ALL_FAULTS {
        assert!(
            text.contains(&format!("| `{}` |", f.name())),
            "fault {f} missing from the README table"
        );
    }
}

#[test]
fn the_readme_names_every_subcommand() {
    let text = readme();
    let commands = subcommands();
    assert!(commands.len() >= 10, "{commands:?}");
    for c in commands {
        assert!(
            text.contains(&format!("`certlab {c}")),
            "subcommand {c} missing from the README"
        );
    }
}

#[test]
fn the_two_set_up_commands_are_the_ones_that_run() {
    let text = readme();
    assert!(text.contains("cargo run --release -- lab"));
    assert!(
        text.contains("\nbash .ci/run "),
        "the README's test command is `bash .ci/run`"
    );
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(
        ci.contains("\ncargo test --locked -- --include-ignored\n"),
        "CI must run the tests that need outside tools too"
    );
    assert!(
        ci.contains("apt-get install"),
        "CI installs the outside tools"
    );
}

#[test]
fn every_subcommand_help_has_examples() {
    for c in subcommands() {
        let out = assert_cmd::Command::cargo_bin("certlab")
            .unwrap()
            .args([c.as_str(), "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Examples:") && text.contains("certlab "),
            "`certlab {c} --help` has no examples"
        );
    }
}
