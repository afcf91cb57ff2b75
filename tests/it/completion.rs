//! Dynamic shell completion: `COMPLETE=SHELL pgbackup` registers pgbackup with the shell,
//! which then asks pgbackup itself for candidates, so backup IDs complete from the catalog.

use std::process::Command;

use crate::support::{Env, assert_success, stderr, stdout};

fn complete(env: &Env, words: &[&str]) -> Vec<String> {
    let output = env
        .command()
        .env("COMPLETE", "fish")
        .arg("--")
        .args(words)
        .output()
        .unwrap();
    assert_success(&output);
    stdout(&output)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn backup_ids_complete_from_the_catalog_for_every_command_that_takes_them() {
    let env = Env::new();
    let first = env.create(&[])["id"].as_str().unwrap().to_string();
    let second = env.create(&["--type", "schema"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    for command in [
        "view", "restore", "delete", "pin", "unpin", "verify", "copy",
    ] {
        let offered = complete(&env, &["pgbackup", command, ""]);
        for id in ["latest", &first, &second] {
            assert!(
                offered.iter().any(|o| o == id),
                "{command}: {id} not in {offered:?}"
            );
        }
    }
    let prefix = &second[..second.len() - 1];
    let narrowed = complete(&env, &["pgbackup", "view", prefix]);
    assert!(narrowed.contains(&second), "{narrowed:?}");
    assert!(!narrowed.iter().any(|o| o == "latest"), "{narrowed:?}");
}

#[test]
fn bash_completes_backup_ids_through_the_installed_registration() {
    let env = Env::new();
    let id = env.create(&[])["id"].as_str().unwrap().to_string();
    let bin_dir = assert_cmd::cargo::cargo_bin("pgbackup")
        .parent()
        .unwrap()
        .to_path_buf();
    let prefix = &id[..6];
    let script = format!(
        "source <(pgbackup completions bash)
         COMP_WORDS=(pgbackup restore {prefix}); COMP_CWORD=2; COMP_TYPE=9
         COMP_LINE='pgbackup restore {prefix}'; COMP_POINT=${{#COMP_LINE}}
         _clap_complete_pgbackup pgbackup {prefix} restore
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let output = Command::new("bash")
        .envs(env.vars())
        .env("PATH", path)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_success(&output);
    let offered: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(offered, [id.as_str()], "{}", stderr(&output));
    for shell in ["zsh", "fish"] {
        let registration = env.run(&["completions", shell]);
        assert_success(&registration);
        let text = stdout(&registration);
        assert!(
            text.contains("COMPLETE") && text.contains("pgbackup"),
            "{shell}: {text}"
        );
    }
}
