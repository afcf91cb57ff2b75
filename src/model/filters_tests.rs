use super::DumpFilters;

fn parse(args: &[&str]) -> Result<DumpFilters, String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    DumpFilters::parse(&args)
}

#[test]
fn every_spelling_pg_dump_accepts_reads_the_same() {
    let spellings: [&[&str]; 4] = [
        &["--schema=app"],
        &["--schema", "app"],
        &["-n", "app"],
        &["-napp"],
    ];
    for args in spellings {
        let filters = parse(args).unwrap();
        assert_eq!(filters.schemas, ["app"], "{args:?}");
        assert_eq!(filters.to_args(), ["--schema=app"], "{args:?}");
    }
}

#[test]
fn all_options_read_and_normalize_in_a_fixed_order() {
    let filters = parse(&[
        "-x",
        "--exclude-table-data=public.audit_log",
        "-T",
        "public.b",
        "-T",
        "public.a",
        "-t",
        "app.*",
        "-N",
        "tmp",
        "-n",
        "app",
        "-O",
        "-T",
        "public.a",
    ])
    .unwrap();
    assert_eq!(
        filters.to_args(),
        [
            "--schema=app",
            "--exclude-schema=tmp",
            "--table=app.*",
            "--exclude-table=public.a",
            "--exclude-table=public.b",
            "--exclude-table-data=public.audit_log",
            "--no-owner",
            "--no-privileges",
        ]
    );
    let reparsed: Vec<String> = filters.to_args();
    assert_eq!(DumpFilters::parse(&reparsed).unwrap(), filters);
}

#[test]
fn the_order_of_options_does_not_change_the_normalized_form() {
    let a = parse(&["-T", "x", "--no-owner", "-n", "app"]).unwrap();
    let b = parse(&["-O", "--schema=app", "--exclude-table=x", "-T", "x"]).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_string(), "--schema=app --exclude-table=x --no-owner");
}

#[test]
fn nothing_given_filters_nothing() {
    assert!(parse(&[]).unwrap().is_empty());
    assert!(parse(&[]).unwrap().to_args().is_empty());
    assert!(!parse(&["-O"]).unwrap().is_empty());
}

#[test]
fn other_options_and_stray_values_are_refused_naming_the_allowed_ones() {
    for args in [
        &["--clean"][..],
        &["-c"],
        &["--file=/tmp/x"],
        &["-f", "/tmp/x"],
        &["app"],
        &["--schema-only"],
        &["-"],
        &[""],
    ] {
        let err = parse(args).unwrap_err();
        assert!(
            err.contains("not one of the pg_dump options"),
            "{args:?}: {err}"
        );
        assert!(err.contains("--exclude-table-data"), "{args:?}: {err}");
    }
}

#[test]
fn a_missing_or_empty_pattern_and_a_value_on_a_flag_are_refused() {
    assert!(parse(&["-n"]).unwrap_err().contains("needs a pattern"));
    assert!(
        parse(&["--exclude-table"])
            .unwrap_err()
            .contains("needs a pattern")
    );
    assert!(parse(&["--schema="]).unwrap_err().contains("non-empty"));
    assert!(
        parse(&["--no-owner=yes"])
            .unwrap_err()
            .contains("takes no value")
    );
    assert!(parse(&["-Ox"]).unwrap_err().contains("takes no value"));
    assert!(parse(&["-n", "a\0b"]).unwrap_err().contains("NUL"));
}

#[test]
fn a_pattern_that_looks_like_an_option_is_taken_as_the_pattern() {
    // As pg_dump does: the argument after -n is its pattern, whatever it looks like.
    assert_eq!(parse(&["-n", "-x"]).unwrap().schemas, ["-x"]);
}

#[test]
fn parts_from_the_command_line_are_checked_and_normalized() {
    let parts = DumpFilters {
        exclude_tables: vec!["b".into(), "a".into(), "b".into()],
        ..DumpFilters::default()
    };
    let filters = DumpFilters::from_parts(parts).unwrap();
    assert_eq!(filters.exclude_tables, ["a", "b"]);
    let empty = DumpFilters {
        schemas: vec![String::new()],
        ..DumpFilters::default()
    };
    assert!(DumpFilters::from_parts(empty).is_err());
}

#[test]
fn unquoted_letters_fold_to_lower_case_as_pg_dump_folds_them() {
    let a = parse(&["-n", "App", "-T", "Public.Log*"]).unwrap();
    let b = parse(&["-n", "app", "-T", "public.log*"]).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_args(), ["--schema=app", "--exclude-table=public.log*"]);
    let quoted = parse(&["-t", "\"My\"\"Tab\".X", "-n", "\"App\""]).unwrap();
    assert_eq!(quoted.tables, ["\"My\"\"Tab\".x"]);
    assert_eq!(quoted.schemas, ["\"App\""]);
}
