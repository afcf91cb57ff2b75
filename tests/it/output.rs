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

/// The lines a terminal showed, without the carriage returns.
fn screen_lines(screen: &str) -> Vec<&str> {
    screen
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .collect()
}

fn assert_fits(screen: &str, columns: usize) {
    for line in screen_lines(screen) {
        assert!(
            line.chars().count() <= columns,
            "wider than {columns}: {line:?}\n{screen}"
        );
    }
}

/// Whether every ID is shown whole on one line (not wrapped in its cell).
fn assert_ids_whole(screen: &str, ids: &[&str]) {
    for id in ids {
        assert!(
            screen_lines(screen)
                .iter()
                .any(|l| l.split([' ', '│', '┆']).any(|word| word == *id)),
            "{id} is not shown whole:\n{screen}"
        );
    }
}

const HOSTILE: &str = "\u{1b}[31mRED\u{1b}[0m\nsecond line\u{7}";

#[test]
fn on_an_80_column_terminal_list_and_the_delete_confirmation_fit() {
    let env = Env::new();
    let long = format!("{HOSTILE} {}", "long words of text ".repeat(40));
    let first = env.create(&["-m", &long]);
    let second = env.create(&["-m", "nightly"]);
    let long_name = "a_database_with_a_rather_long_name_for_a_table";
    env.cluster
        .psql("postgres", &format!("CREATE DATABASE {long_name}"));
    let third = env.create(&["--type", "schema", "-d", long_name]);
    let ids: Vec<&str> = [&first, &second, &third]
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(env.run(&["pin", ids[1]]).status.success());
    let quiet = [("NO_COLOR", "1")];

    let (code, screen) = env.run_on_terminal_of_width(80, "list", &quiet, "");
    assert_eq!(code, Some(0), "{screen}");
    assert_fits(&screen, 80);
    assert_ids_whole(&screen, &ids);
    assert!(screen.contains("ok (pinned)"), "{screen}");
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "{screen:?}"
    );
    assert!(screen.contains("\\u{1b}"), "shown escaped: {screen}");

    let (code, screen) =
        env.run_on_terminal_of_width(80, &format!("delete {} {}", ids[0], ids[2]), &quiet, "n");
    assert_eq!(code, Some(2), "{screen}");
    assert_fits(&screen, 80);
    assert_ids_whole(&screen, &[ids[0], ids[2]]);
    let (code, screen) = env.run_on_terminal_of_width(
        80,
        &format!("delete {} {} >/dev/null", ids[0], ids[2]),
        &quiet,
        "n",
    );
    assert_eq!(code, Some(2), "{screen}");
    assert_fits(&screen, 80);
    assert_ids_whole(&screen, &[ids[0], ids[2]]);

    for args in ["verify", "prune --dry-run --keep-last 1"] {
        let (code, screen) = env.run_on_terminal_of_width(80, args, &quiet, "");
        assert_eq!(code, Some(0), "{args}: {screen}");
        assert_fits(&screen, 80);
        assert_ids_whole(&screen, &ids);
    }

    let (code, screen) = env.run_on_terminal_of_width(80, &format!("view {}", ids[0]), &quiet, "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "{screen:?}"
    );
    assert!(
        screen.contains("\\u{1b}[31mRED\\u{1b}[0m\\nsecond line\\u{7}"),
        "{screen}"
    );

    let listed: serde_json::Value =
        serde_json::from_slice(&env.run(&["list", "--json"]).stdout).unwrap();
    let stored = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == ids[0])
        .unwrap();
    assert_eq!(
        stored["description"],
        long.as_str(),
        "JSON keeps the exact text"
    );
}

#[test]
fn the_status_report_shows_hostile_names_escaped() {
    let env = Env::new();
    env.create(&[]);
    let mut catalog: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(env.catalog_path()).unwrap()).unwrap();
    let entries = match catalog.as_array_mut() {
        Some(entries) => entries,
        None => catalog["backups"].as_array_mut().unwrap(),
    };
    entries[0]["database"] = HOSTILE.into();
    fs::write(env.catalog_path(), catalog.to_string()).unwrap();
    assert_eq!(
        env.entries()[0]["database"],
        HOSTILE,
        "the catalog was edited"
    );

    let output = env.run(&["status"]);
    let report = stdout(&output);
    assert!(
        !report.contains('\u{1b}') && !report.contains('\u{7}'),
        "{report:?}"
    );
    assert!(
        !report.lines().any(|l| l.starts_with("second line")),
        "{report}"
    );
    assert!(
        report.contains("\\u{1b}[31mRED\\u{1b}[0m\\nsecond line\\u{7}"),
        "{report}"
    );
}

#[test]
fn a_description_longer_than_1000_characters_is_refused() {
    let env = Env::new();
    let output = env.run(&["create", "-m", &"é".repeat(1001)]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("1000"), "{}", stderr(&output));
    assert!(env.entries().is_empty() && env.files().is_empty());
    let entry = env.create(&["-m", &"é".repeat(1000)]);
    assert_eq!(entry["description"].as_str().unwrap().chars().count(), 1000);
}
