//! Output that fits where it goes: colours only on a terminal and never with NO_COLOR,
//! monitoring exit codes for `status` usage errors, the same SHA-256 wording in verify and
//! restore.

use std::fs;

use crate::support::{Env, stderr, stdout};

/// Whether `text` holds an ANSI colour sequence (ESC [ digits/semicolons m).
fn has_colour(text: &str) -> bool {
    text.match_indices("\x1b[").any(|(at, _)| {
        let rest = &text[at + 2..];
        let params = rest
            .find(|c: char| !c.is_ascii_digit() && c != ';')
            .unwrap_or(rest.len());
        rest[params..].starts_with('m')
    })
}

#[test]
fn log_lines_on_a_file_carry_no_colour() {
    let env = Env::new();
    let output = env.run(&["create", "-m", "plain"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("INFO"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn on_a_terminal_colours_are_used_unless_no_color_is_set() {
    let env = Env::new();
    env.create(&[]);
    let (code, screen) = env.run_on_terminal("-v status", &[], "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(has_colour(&screen), "{screen:?}");
    for args in ["-v status", "create"] {
        let (code, screen) = env.run_on_terminal(args, &[("NO_COLOR", "1")], "");
        assert_eq!(code, Some(0), "{screen}");
        assert!(screen.contains("INFO") || screen.contains("OK"), "{screen}");
        assert!(!has_colour(&screen), "{args}: {screen:?}");
    }
    let (_, screen) = env.run_on_terminal("-v status", &[("NO_COLOR", "")], "");
    assert!(
        has_colour(&screen),
        "an empty NO_COLOR is unset: {screen:?}"
    );
}

#[test]
fn usage_errors_of_status_are_unknown() {
    let env = Env::new();
    for args in [
        &["status", "--max-age", "26"][..],
        &["status", "--warn-age", "2d", "--max-age", "1d"],
        &["status", "--json", "--prometheus"],
        &["--json", "status", "--prometheus"],
        &["status", "--bogus"],
        &["status", "--max-age"],
        &["--home", "/nonexistent", "status", "extra"],
    ] {
        let output = env.run(args);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
        assert!(!stderr(&output).is_empty(), "{args:?}");
    }
    let output = env.run(&["status", "--json", "--prometheus"]);
    assert!(
        stderr(&output).contains("--json") && stderr(&output).contains("--prometheus"),
        "{}",
        stderr(&output)
    );
    let output = env.run(&["list", "--bogus"]);
    assert_eq!(output.status.code(), Some(2), "other commands keep exit 2");
    assert_eq!(env.run(&["status", "--help"]).status.code(), Some(0));
}

#[test]
fn verify_names_a_sha256_mismatch_as_restore_does() {
    let env = Env::new();
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    let path = env.backups_dir().join(entry["filename"].as_str().unwrap());
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let actual = sha256_of(&path);
    let expected = entry["sha256"].as_str().unwrap();
    let wording = format!("SHA-256 mismatch: expected {expected} (the catalog's), actual {actual}");

    let restore = env.run(&["restore", id, "--yes"]);
    assert_eq!(restore.status.code(), Some(1));
    assert!(stderr(&restore).contains(&wording), "{}", stderr(&restore));
    let verify = env.run(&["verify", id]);
    assert_eq!(verify.status.code(), Some(1));
    let shown = stdout(&verify) + &stderr(&verify);
    assert!(shown.contains("SHA-256 mismatch"), "{shown}");
    let verify = env.run(&["verify", "--json", id]);
    let results: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    let problems = results[0]["problems"].to_string();
    assert!(problems.contains(&wording), "{problems}");
}

fn sha256_of(path: &std::path::Path) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    stdout(&output)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
