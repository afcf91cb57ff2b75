use clap::Parser;
use serde_json::{Value, json};

use super::Keep;
use crate::model::duration::Span;
use crate::policy::retention::Policy;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    keep: Keep,
}

fn from_flags(args: &[&str]) -> Keep {
    let argv = std::iter::once("prune").chain(args.iter().copied());
    Flags::try_parse_from(argv).expect("valid flags").keep
}

fn from_file(retention: Value) -> Keep {
    Keep::from_object(retention.as_object().unwrap()).expect("valid retention")
}

#[test]
fn flags_and_the_schedule_file_give_the_same_policy() {
    let months = |months| Span {
        months,
        ..Span::default()
    };
    let cases: [(&[&str], Value, Policy); 4] = [
        (
            &[
                "--keep-daily",
                "7",
                "--keep-weekly",
                "4",
                "--keep-monthly",
                "3",
            ],
            json!({"daily": 7, "weekly": 4, "monthly": 3}),
            Policy {
                daily: 7,
                weekly: 4,
                monthly: 3,
                ..Policy::default()
            },
        ),
        (
            &[
                "--keep-last",
                "-1",
                "--keep-hourly",
                "2",
                "--keep-yearly",
                "1",
            ],
            json!({"last": -1, "hourly": 2, "yearly": 1}),
            Policy {
                last: -1,
                hourly: 2,
                yearly: 1,
                ..Policy::default()
            },
        ),
        (
            &["--keep-within", "30m"],
            json!({"within": "30m"}),
            Policy {
                within: Some(months(30)),
                ..Policy::default()
            },
        ),
        (
            &[
                "--keep-within",
                "1y6mo",
                "--keep-daily",
                "0",
                "--keep-last",
                "1",
            ],
            json!({"within": "1y6mo", "daily": 0, "last": 1}),
            Policy {
                last: 1,
                within: Some(Span {
                    years: 1,
                    months: 6,
                    ..Span::default()
                }),
                ..Policy::default()
            },
        ),
    ];
    for (flags, file, policy) in cases {
        let (flags_keep, file_keep) = (from_flags(flags), from_file(file.clone()));
        assert_eq!(flags_keep, file_keep, "{flags:?}");
        assert_eq!(flags_keep.to_policy(), Ok(policy), "{flags:?}");
        assert_eq!(
            serde_json::to_value(&flags_keep).unwrap(),
            file,
            "{flags:?}"
        );
    }
}

#[test]
fn an_empty_policy_is_refused_and_unset_only_without_any_rule() {
    for (flags, unset) in [
        (&[][..], true),
        (&["--keep-daily", "0"][..], false),
        (&["--keep-within", "0d"][..], false),
        (&["--keep-last", "0", "--keep-yearly", "0"][..], false),
    ] {
        let keep = from_flags(flags);
        assert_eq!(keep.is_unset(), unset, "{flags:?}");
        let refusal = keep.to_policy().unwrap_err();
        assert!(
            refusal.contains("the retention policy is empty"),
            "{refusal}"
        );
    }
    assert!(from_file(json!({"notify": true})).is_unset());
}

#[test]
fn a_count_below_minus_one_is_named_as_the_flag_spells_it() {
    let keep = from_flags(&["--keep-last", "1", "--keep-weekly", "-5"]);
    assert_eq!(
        keep.to_policy(),
        Err("keep-weekly -5: use a count, 0 (off) or -1 (unlimited)".to_string())
    );
}

#[test]
fn a_bad_keep_within_flag_is_refused_by_the_parser() {
    for value in ["5x", "30min", ""] {
        let argv = ["prune", "--keep-within", value];
        let error = Flags::try_parse_from(argv).err().expect(value).to_string();
        assert!(error.contains("--keep-within"), "{value}: {error}");
    }
}

#[test]
fn the_file_names_the_first_key_that_does_not_read() {
    for (file, key, reason) in [
        (json!({"daily": -2}), "daily", "-2 is not a count"),
        (
            json!({"weekly": 2, "yearly": "2"}),
            "yearly",
            r#""2" is not a count"#,
        ),
        (json!({"within": 30}), "within", "30 is not a string"),
        (json!({"within": "30"}), "within", "no unit after 30"),
        (json!({"last": 3_000_000_000_i64}), "last", "is not a count"),
    ] {
        let (named, why) = Keep::from_object(file.as_object().unwrap()).unwrap_err();
        assert_eq!(named, key, "{file}");
        assert!(why.contains(reason), "{file}: {why}");
    }
}

#[test]
fn the_file_keeps_its_key_order_its_spelling_and_unknown_keys() {
    let file = json!({"keep_tagged": ["release"], "within": "1d1d", "last": 2,
                      "monthly": 3, "daily": 7});
    let keep = from_file(file);
    assert_eq!(keep.daily, Some(7));
    let mut text = Vec::new();
    let mut out = serde_json::Serializer::new(&mut text);
    super::write_in_file_order(&keep, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        r#"{"daily":7,"monthly":3,"last":2,"within":"1d1d","keep_tagged":["release"]}"#
    );
}
