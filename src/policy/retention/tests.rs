use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;

use super::{Decision, Policy, Span, UNLIMITED, apply, shift_date, short_reason, window_start};

const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/retention/restic-cases.json"
));

/// After every fixture snapshot, so the latest one (2016-01-18T12:02:03Z) anchors `within`.
const AFTER_THE_FIXTURE: &str = "2030-01-01T00:00:00Z";

#[derive(Deserialize)]
struct Fixture {
    case_groups: CaseGroups,
    snapshots: Vec<Snapshot>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct CaseGroups {
    tag_cases: Vec<u32>,
}

#[derive(Deserialize)]
struct Snapshot {
    index: usize,
    time: DateTime<FixedOffset>,
    time_1s: DateTime<FixedOffset>,
}

#[derive(Deserialize)]
struct Case {
    case: u32,
    policy: CasePolicy,
    keep: Vec<usize>,
    #[serde(default)]
    reasons: Vec<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct CasePolicy {
    last: i32,
    hourly: i32,
    daily: i32,
    weekly: i32,
    monthly: i32,
    yearly: i32,
    within: Option<String>,
    within_hourly: Option<String>,
    within_daily: Option<String>,
    within_weekly: Option<String>,
    within_monthly: Option<String>,
    within_yearly: Option<String>,
    tags: Vec<Vec<String>>,
}

impl CasePolicy {
    fn to_policy(&self) -> Policy {
        let span = |text: &Option<String>| {
            text.as_deref()
                .map(|t| t.parse::<Span>().expect("fixture span"))
        };
        Policy {
            last: self.last,
            hourly: self.hourly,
            daily: self.daily,
            weekly: self.weekly,
            monthly: self.monthly,
            yearly: self.yearly,
            within: span(&self.within),
            within_hourly: span(&self.within_hourly),
            within_daily: span(&self.within_daily),
            within_weekly: span(&self.within_weekly),
            within_monthly: span(&self.within_monthly),
            within_yearly: span(&self.within_yearly),
        }
    }
}

/// A kept input index and its reasons.
type Kept = (usize, Vec<String>);

fn fixture() -> Fixture {
    let fixture: Fixture = serde_json::from_str(FIXTURE).expect("restic-cases.json parses");
    for (position, snapshot) in fixture.snapshots.iter().enumerate() {
        assert_eq!(snapshot.index, position, "snapshots are in input order");
    }
    for case in &fixture.cases {
        assert_eq!(
            case.reasons.len(),
            case.keep.len(),
            "case {} has a reason list per kept entry",
            case.case
        );
    }
    fixture
}

fn time(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).expect("RFC 3339 time")
}

fn times(texts: &[&str]) -> Vec<DateTime<FixedOffset>> {
    texts.iter().map(|text| time(text)).collect()
}

fn span(text: &str) -> Span {
    text.parse().expect("valid span")
}

fn kept_indices(decisions: &[Decision]) -> Vec<usize> {
    decisions
        .iter()
        .enumerate()
        .filter(|(_, d)| d.keep)
        .map(|(i, _)| i)
        .collect()
}

/// Kept entries in restic's output order: newest first, equal instants in input order.
fn kept_newest_first(times: &[DateTime<FixedOffset>], decisions: &[Decision]) -> Vec<Kept> {
    let mut kept = kept_indices(decisions);
    kept.sort_by(|&a, &b| times[b].cmp(&times[a]).then(a.cmp(&b)));
    kept.into_iter()
        .map(|i| (i, decisions[i].reasons.clone()))
        .collect()
}

fn difference(expected: &[Kept], actual: &[Kept]) -> String {
    let render =
        |kept: &[Kept]| -> Vec<String> { kept.iter().map(|(i, r)| format!("{i} {r:?}")).collect() };
    let (expected, actual) = (render(expected), render(actual));
    let missing: Vec<&String> = expected
        .iter()
        .filter(|line| !actual.contains(line))
        .collect();
    let unexpected: Vec<&String> = actual
        .iter()
        .filter(|line| !expected.contains(line))
        .collect();
    if missing.is_empty() && unexpected.is_empty() {
        let first = expected
            .iter()
            .zip(&actual)
            .position(|(e, a)| e != a)
            .unwrap_or_default();
        let from_first =
            |lines: &[String]| lines[first..].iter().take(4).cloned().collect::<Vec<_>>();
        format!(
            "same entries in another order from position {first}:\n  expected {:?}\n  got      {:?}",
            from_first(&expected),
            from_first(&actual)
        )
    } else {
        format!("\n  missing    {missing:?}\n  unexpected {unexpected:?}")
    }
}

/// Runs every case without tags on `times`, compares the kept entries, their order and their
/// reasons, and panics naming every failing case. Returns how many cases ran.
fn check_untagged_cases(fixture: &Fixture, times: &[DateTime<FixedOffset>]) -> usize {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in fixture
        .cases
        .iter()
        .filter(|case| case.policy.tags.is_empty())
    {
        checked += 1;
        let decisions = apply(times, &case.policy.to_policy(), time(AFTER_THE_FIXTURE));
        let actual = kept_newest_first(times, &decisions);
        let expected: Vec<Kept> = case
            .keep
            .iter()
            .copied()
            .zip(case.reasons.iter().cloned())
            .collect();
        if actual != expected {
            failures.push(format!(
                "case {}: {}",
                case.case,
                difference(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    checked
}

#[test]
fn restic_cases_at_one_second_resolution() {
    let fixture = fixture();
    let times: Vec<_> = fixture.snapshots.iter().map(|s| s.time_1s).collect();
    assert_eq!(check_untagged_cases(&fixture, &times), 37);
}

/// restic's own times have four pairs 0.1 s apart and five entries (69 to 73) at one instant.
/// At full precision each pair orders by its fraction, and the five ties keep input order
/// because the sort is stable, so 69 counts as the newest: exactly restic's order. pgbackup
/// stores whole seconds, hence the test above uses `time_1s`, distinct whole seconds in that
/// same order; truncating `time` instead would reverse the pairs and change six cases.
#[test]
fn restic_cases_at_full_precision() {
    let fixture = fixture();
    let times: Vec<_> = fixture.snapshots.iter().map(|s| s.time).collect();
    assert_eq!(check_untagged_cases(&fixture, &times), 37);
}

/// Cases 18 to 20 have only tag rules. pgbackup has no tags: pinned backups are handled by the
/// caller and never passed in as removable, so these cases are skipped.
#[test]
fn only_the_tag_cases_are_skipped() {
    let fixture = fixture();
    let tagged: Vec<&Case> = fixture
        .cases
        .iter()
        .filter(|case| !case.policy.tags.is_empty())
        .collect();
    let numbers: Vec<u32> = tagged.iter().map(|case| case.case).collect();
    assert_eq!(numbers, fixture.case_groups.tag_cases);
    assert_eq!(numbers, [18, 19, 20]);
    assert!(tagged.iter().all(|case| case.policy.to_policy().is_empty()));
}

#[test]
fn the_empty_policy_keeps_nothing() {
    let fixture = fixture();
    let times: Vec<_> = fixture.snapshots.iter().map(|s| s.time_1s).collect();
    let decisions = apply(&times, &Policy::default(), time(AFTER_THE_FIXTURE));
    assert!(Policy::default().is_empty());
    assert_eq!(decisions, vec![Decision::default(); times.len()]);
}

#[test]
fn a_policy_is_empty_without_an_active_rule() {
    let zero_span = Policy {
        within: Some(Span::default()),
        within_daily: Some(span("0d")),
        ..Policy::default()
    };
    assert!(zero_span.is_empty());
    assert!(
        !Policy {
            last: UNLIMITED,
            ..Policy::default()
        }
        .is_empty()
    );
    assert!(
        !Policy {
            yearly: 1,
            ..Policy::default()
        }
        .is_empty()
    );
    assert!(
        !Policy {
            within_weekly: Some(span("1m")),
            ..Policy::default()
        }
        .is_empty()
    );
}

#[test]
fn buckets_follow_the_wall_clock_of_the_offset() {
    // 00:30 and 23:30 at +02:00 are on local days 11 and 10, but both on UTC day 10.
    let local = times(&[
        "2024-03-11T00:30:00+02:00",
        "2024-03-10T23:30:00+02:00",
        "2024-03-09T12:00:00+02:00",
    ]);
    let policy = Policy {
        daily: 2,
        ..Policy::default()
    };
    let now = time("2024-03-12T00:00:00+02:00");

    let decisions = apply(&local, &policy, now);
    assert_eq!(kept_indices(&decisions), [0, 1]);
    assert_eq!(decisions[1].reasons, ["daily snapshot"]);

    let utc: Vec<_> = local
        .iter()
        .map(|t| t.with_timezone(&Utc).fixed_offset())
        .collect();
    assert_eq!(kept_indices(&apply(&utc, &policy, now)), [0, 2]);
}

#[test]
fn among_equal_instants_the_earlier_input_is_the_newer() {
    let same = times(&["2024-05-01T10:00:00Z"; 3]);
    let policy = Policy {
        last: 1,
        ..Policy::default()
    };
    assert_eq!(
        kept_indices(&apply(&same, &policy, time(AFTER_THE_FIXTURE))),
        [0]
    );
}

#[test]
fn the_oldest_entry_is_kept_while_a_rule_has_count_left() {
    let entries = times(&[
        "2024-05-03T10:00:00Z",
        "2024-05-01T10:00:00Z",
        "2024-05-01T09:00:00Z",
    ]);
    let policy = Policy {
        daily: 5,
        ..Policy::default()
    };
    let decisions = apply(&entries, &policy, time(AFTER_THE_FIXTURE));
    assert_eq!(decisions[2].reasons, ["oldest daily snapshot"]);
    assert_eq!(short_reason(&decisions[2].reasons[0]), "oldest daily");
}

#[test]
fn window_start_counts_back_from_the_latest_entry() {
    let latest = time("2016-01-18T12:02:03Z");
    assert_eq!(
        window_start(latest, span("13d23h")),
        Some(time("2016-01-04T13:02:03Z"))
    );
    assert_eq!(
        window_start(latest, span("2m2h")),
        Some(time("2015-11-18T10:02:03Z"))
    );
    let month_end = time("2016-03-31T23:30:00+05:00");
    assert_eq!(
        window_start(month_end, span("1m")),
        Some(time("2016-03-02T23:30:00+05:00"))
    );
}

#[test]
fn shifting_a_date_past_the_month_end_spills_over_like_go() {
    let date = |text: &str| text.parse::<NaiveDate>().expect("date");
    assert_eq!(
        shift_date(date("2016-03-31"), 0, -1, 0),
        Some(date("2016-03-02"))
    );
    assert_eq!(
        shift_date(date("2015-03-31"), 0, -1, 0),
        Some(date("2015-03-03"))
    );
    assert_eq!(
        shift_date(date("2016-02-29"), -1, 0, 0),
        Some(date("2015-03-01"))
    );
    assert_eq!(
        shift_date(date("2016-01-18"), -1, -2, -3),
        Some(date("2014-11-15"))
    );
}

#[test]
fn an_entry_exactly_at_the_window_start_is_removed() {
    let entries = times(&[
        "2016-01-18T12:02:03Z",
        "2016-01-04T13:02:04Z",
        "2016-01-04T13:02:03Z",
    ]);
    let policy = Policy {
        within: Some(span("13d23h")),
        ..Policy::default()
    };
    let decisions = apply(&entries, &policy, time(AFTER_THE_FIXTURE));
    assert_eq!(kept_indices(&decisions), [0, 1]);
    assert_eq!(decisions[0].reasons, ["within 13d23h"]);
}

#[test]
fn the_window_counts_back_from_the_newest_entry_before_now() {
    let entries = times(&[
        "2016-01-20T00:00:00Z",
        "2016-01-19T00:00:00Z",
        "2016-01-18T12:00:00Z",
        "2016-01-17T18:00:00Z",
        "2016-01-17T06:00:00Z",
    ]);
    let policy = Policy {
        within: Some(span("1d")),
        ..Policy::default()
    };
    let decisions = apply(&entries, &policy, time("2016-01-19T00:00:00Z"));
    assert_eq!(kept_indices(&decisions), [0, 1, 2, 3]);
}

#[test]
fn without_an_entry_before_now_the_window_holds_every_entry() {
    let entries = times(&["2016-01-20T00:00:00Z", "2015-01-20T00:00:00Z"]);
    let policy = Policy {
        within: Some(span("1d")),
        ..Policy::default()
    };
    let decisions = apply(&entries, &policy, time("2016-01-01T00:00:00Z"));
    assert_eq!(kept_indices(&decisions), [0, 1]);
}

#[test]
fn spans_parse_units_in_any_order_and_display_canonically() {
    let full = Span {
        years: 1,
        months: 2,
        days: 3,
        hours: 4,
    };
    assert_eq!(span("1y2m3d4h"), full);
    assert_eq!(span("4h3d2m1y"), full);
    assert_eq!(span(" 1y2m3d4h "), full);
    assert_eq!(
        span("1d1d"),
        Span {
            days: 2,
            ..Span::default()
        }
    );
    for (input, shown) in [
        ("1y2m3d4h", "1y2m3d4h"),
        ("1y1d1m", "1y1m1d"),
        ("13d23h", "13d23h"),
        ("36h", "36h"),
    ] {
        assert_eq!(span(input).to_string(), shown);
    }
    assert!(span("0d").is_zero());
    assert_eq!(Span::default().to_string(), "0d");
}

#[test]
fn bad_spans_are_rejected_with_the_problem() {
    let cases = [
        ("", "it is empty"),
        ("  ", "it is empty"),
        ("5x", "unknown unit 'x' after 5"),
        ("d", "expected a number at \"d\""),
        ("5", "no unit after 5"),
        ("1d 2h", "expected a number at \" 2h\""),
        ("-1d", "negative amounts are not allowed"),
        ("99999999999d", "99999999999 is too large"),
        ("2000000000d2000000000d", "the total is too large"),
    ];
    for (input, problem) in cases {
        let message = input.parse::<Span>().expect_err(input).to_string();
        assert!(message.contains(problem), "{input:?} gives {message:?}");
        assert!(
            message.starts_with(&format!("invalid duration {input:?}: ")),
            "{message:?}"
        );
    }
}

#[test]
fn short_reasons_drop_the_word_snapshot() {
    assert_eq!(short_reason("daily snapshot"), "daily");
    assert_eq!(short_reason("oldest monthly snapshot"), "oldest monthly");
    assert_eq!(short_reason("within 7d"), "within 7d");
    assert_eq!(short_reason("daily within 7d"), "daily within 7d");
}
