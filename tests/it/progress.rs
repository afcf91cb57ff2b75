//! Progress with a share and the time left on a terminal, for create (estimated from the
//! previous backup, else roughly from the database size) and restore (the stored file's
//! size); no bar without a terminal; one summary line at info level that -q silences.

use crate::support::{Env, real_pg_dump, stderr};

/// pg_dump that writes the real dump in pieces of 256 KiB (what pgbackup reads at a time)
/// a sixth of a second apart, so that a bar has time to be drawn.
fn slow_pg_dump(env: &Env) {
    let real = real_pg_dump();
    env.shim_pg_dump(&format!(
        "f=$(mktemp) || exit 1\n{real} \"$@\" > \"$f\" || exit $?\nsize=$(wc -c < \"$f\")\n\
         i=0\nwhile [ $((i * 262144)) -lt \"$size\" ]; do\n\
         dd if=\"$f\" bs=262144 skip=$i count=1 2>/dev/null\ni=$((i + 1))\nsleep 0.15\ndone\n\
         rm -f \"$f\""
    ));
}

/// Adds about 1.5 MiB of dump to the test database.
fn enlarge(env: &Env, rows: u32) {
    env.cluster.psql(
        "app",
        &format!(
            "INSERT INTO items (name) SELECT md5(g::text) || md5((g * 7)::text) \
             FROM generate_series(1, {rows}) g;"
        ),
    );
}

/// Whether `screen` shows a share above zero with a time left, as a bar with a known
/// length does once work is under way.
fn shows_eta(screen: &str) -> bool {
    screen.match_indices('%').any(|(at, _)| {
        let before = &screen[..at];
        let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let share: u32 = before[at - digits..].parse().unwrap_or(0);
        share > 0
            && screen[at..]
                .chars()
                .take(30)
                .collect::<String>()
                .contains(" left")
    })
}

#[test]
fn create_on_a_terminal_shows_the_share_and_time_left() {
    let env = Env::new();
    enlarge(&env, 20_000);
    slow_pg_dump(&env);
    let (code, screen) = env.run_on_terminal("create", &[], "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(shows_eta(&screen), "{screen:?}");
    assert!(
        screen.contains(" of about "),
        "without a previous backup the database size is a rough guess: {screen:?}"
    );
    let (code, screen) = env.run_on_terminal("create", &[], "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(shows_eta(&screen), "{screen:?}");
    assert!(
        !screen.contains(" of about ") && screen.contains(" of "),
        "the previous backup's raw size is the estimate: {screen:?}"
    );
    assert!(
        screen.contains("created backup ")
            && screen.contains(": dumped ")
            && screen.contains("/s)"),
        "{screen:?}"
    );
}

#[test]
fn restore_on_a_terminal_shows_the_share_and_time_left() {
    let env = Env::new();
    enlarge(&env, 50_000);
    let entry = env.create(&[]);
    let id = entry["id"].as_str().unwrap();
    let (code, screen) = env.run_on_terminal(&format!("restore {id} --yes"), &[], "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(shows_eta(&screen), "{screen:?}");
    assert!(
        screen.contains(&format!("restored backup {id}: read ")) && screen.contains("/s)"),
        "{screen:?}"
    );
}

#[test]
fn without_a_terminal_there_is_no_bar_only_the_summary_that_quiet_silences() {
    let env = Env::new();
    slow_pg_dump(&env);
    let id = env.create(&[])["id"].as_str().unwrap().to_string();
    for args in [&["create"][..], &["restore", &id, "--yes"]] {
        let output = env.run(args);
        let err = stderr(&output);
        assert!(output.status.success(), "{err}");
        assert!(
            !err.contains('\r') && !err.contains('%') && !err.contains(" left"),
            "{err:?}"
        );
        assert!(
            err.contains("INFO") && err.contains("/s)"),
            "{args:?}: {err}"
        );
        let mut quiet = vec!["-q"];
        quiet.extend_from_slice(args);
        let output = env.run(&quiet);
        let err = stderr(&output);
        assert!(output.status.success(), "{err}");
        assert!(!err.contains("/s)"), "-q {args:?}: {err}");
    }
}

#[test]
fn a_dump_past_its_estimate_shows_no_time_left() {
    let env = Env::new();
    env.create(&[]);
    enlarge(&env, 20_000);
    slow_pg_dump(&env);
    let (code, screen) = env.run_on_terminal("create", &[], "");
    assert_eq!(code, Some(0), "{screen}");
    let past = screen.find("past the estimate").expect(&screen);
    assert!(!screen[past..].contains(" left"), "{screen:?}");
}
