//! `certlab completions`: the bash script loads in a real bash and completes subcommands and
//! kinds; the zsh and fish scripts name every subcommand (and pass `zsh -n` / `fish -n` where
//! those shells are installed).

use crate::common;

use std::process::Command;

use common::{certlab, run};

fn script(shell: &str) -> String {
    let out = certlab().args(["completions", shell]).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

const SUBCOMMANDS: [&str; 5] = ["generate", "render", "explain", "completions", "probe"];

/// Loads the bash script and asks it to complete `certlab WORDS...`; returns COMPREPLY.
fn bash_complete(script_path: &std::path::Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        r#"source "$1"
complete -p certlab >/dev/null || exit 9
COMP_WORDS=({line})
COMP_CWORD={cword}
COMP_LINE="{line}"
COMP_POINT=${{#COMP_LINE}}
_certlab certlab "${{COMP_WORDS[$COMP_CWORD]}}" "${{COMP_WORDS[$COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        cword = words.len() - 1
    );
    let out = run(Command::new("bash")
        .arg("-c")
        .arg(program)
        .arg("bash")
        .arg(script_path));
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_options() {
    let tmp = common::tempdir();
    let path = tmp.path().join("certlab.bash");
    std::fs::write(&path, script("bash")).unwrap();
    let all = bash_complete(&path, &["certlab", "''"]);
    for sub in SUBCOMMANDS {
        assert!(all.iter().any(|w| w == sub), "{sub} missing from {all:?}");
    }
    assert_eq!(bash_complete(&path, &["certlab", "rend"]), ["render"]);
    let opts = bash_complete(&path, &["certlab", "render", "--"]);
    for opt in ["--pki", "--server", "--client", "--endpoint", "--help"] {
        assert!(opts.iter().any(|w| w == opt), "{opt} missing from {opts:?}");
    }
    let kinds = bash_complete(&path, &["certlab", "render", "''"]);
    for kind in ["otel-collector", "otel-env", "k8s-secret"] {
        assert!(
            kinds.iter().any(|w| w == kind),
            "{kind} missing from {kinds:?}"
        );
    }
}

/// zsh and fish are rarely installed on CI images: the scripts are checked for every
/// subcommand, and by the shell itself where it exists (a loud note otherwise).
#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    for (shell, marker) in [("zsh", "#compdef certlab"), ("fish", "complete -c certlab")] {
        let text = script(shell);
        assert!(text.contains(marker), "{shell}: no `{marker}`");
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell}: {sub} missing");
        }
        let tmp = common::tempdir();
        let path = tmp.path().join(format!("certlab.{shell}"));
        std::fs::write(&path, &text).unwrap();
        match Command::new(shell).arg("-n").arg(&path).output() {
            Ok(out) => assert!(
                out.status.success(),
                "{shell} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => eprintln!(
                "\n!!! NOTE: {shell} is not installed; its script was only checked as text !!!\n"
            ),
        }
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    certlab()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid value 'tcsh'"));
}
