use super::{Span, parse_elapsed};

fn span(years: i32, months: i32, days: i32, hours: i32) -> Span {
    Span {
        years,
        months,
        days,
        hours,
    }
}

#[test]
fn durations_parse() {
    for (text, seconds) in [
        ("26h", 26 * 3600),
        ("90min", 90 * 60),
        ("8d", 8 * 86_400),
        ("1w", 7 * 86_400),
        ("45s", 45),
        ("1d12h", 36 * 3600),
        (" 2h30min ", 9000),
        ("1mo", 30 * 86_400),
        ("1w1d1h1min1s", 8 * 86_400 + 3661),
    ] {
        assert_eq!(parse_elapsed(text), Ok(seconds), "{text}");
    }
}

#[test]
fn bad_durations_say_why() {
    for (text, why) in [
        ("26", "needs a unit"),
        ("h", "needs a number"),
        ("3y", "unknown unit"),
        ("3mi", "unknown unit"),
        ("0h", "longer than zero"),
        ("", "longer than zero"),
        ("-1h", "unknown unit"),
        ("99999999999999999999h", "too large"),
        ("9999999999999999w", "too long"),
    ] {
        let err = parse_elapsed(text).unwrap_err();
        assert!(err.contains(why) && err.contains("26h"), "{text}: {err}");
    }
}

#[test]
fn a_bare_m_is_ambiguous_as_elapsed_time() {
    for (text, message) in [
        (
            "30m",
            r#""30m" is ambiguous: write 30min for minutes or 30mo for months"#,
        ),
        (
            " 2h30m ",
            r#""2h30m" is ambiguous: write 2h30min for minutes or 2h30mo for months"#,
        ),
        (
            "1m2d",
            r#""1m2d" is ambiguous: write 1min2d for minutes or 1mo2d for months"#,
        ),
    ] {
        assert_eq!(parse_elapsed(text), Err(message.to_string()), "{text}");
    }
}

#[test]
fn spans_read_restic_units_and_mo() {
    for (text, expected) in [
        ("30m", span(0, 30, 0, 0)),
        ("30mo", span(0, 30, 0, 0)),
        ("1y", span(1, 0, 0, 0)),
        ("7d", span(0, 0, 7, 0)),
        ("36h", span(0, 0, 0, 36)),
        ("1d12h", span(0, 0, 1, 12)),
        ("1y6mo2m", span(1, 8, 0, 0)),
    ] {
        assert_eq!(text.parse::<Span>(), Ok(expected), "{text}");
    }
}

#[test]
fn elapsed_units_are_not_spans() {
    for (text, problem) in [
        ("30min", r#"unknown unit "min" after 30"#),
        ("5s", "unknown unit 's' after 5"),
        ("1w", "unknown unit 'w' after 1"),
        ("5!", "unknown unit '!' after 5"),
    ] {
        let message = text.parse::<Span>().unwrap_err().to_string();
        assert!(message.contains(problem), "{text}: {message}");
    }
}
