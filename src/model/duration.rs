//! The one duration grammar, from one table of units, read two ways:
//!
//! - elapsed time (`status --max-age 26h`, `--warn-age 90min`): a number of seconds;
//! - a calendar span (`prune --keep-within 1y6m`, the schedule's `retention.within`):
//!   restic's years, months, days and hours, where `m` is months as in restic.
//!
//! `m` means months in a span and nothing in elapsed time, where it is refused with a hint
//! to write `min` or `mo`; `min` and `mo` are the explicit forms.

use std::fmt;
use std::str::FromStr;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A part of a calendar [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Years,
    Months,
    Days,
    Hours,
}

/// What a unit means as elapsed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elapsed {
    Seconds(i64),
    /// Refused with a hint to write `min` or `mo`.
    Ambiguous,
    NotAllowed,
}

/// A unit as written, what it means as elapsed time and in a calendar span.
struct Unit {
    name: &'static str,
    elapsed: Elapsed,
    /// `None`: not allowed in a span.
    part: Option<Part>,
}

/// Every unit of both grammars.
const UNITS: [Unit; 8] = [
    unit("s", Elapsed::Seconds(1), None),
    unit("min", Elapsed::Seconds(MINUTE), None),
    unit("h", Elapsed::Seconds(HOUR), Some(Part::Hours)),
    unit("d", Elapsed::Seconds(DAY), Some(Part::Days)),
    unit("w", Elapsed::Seconds(7 * DAY), None),
    // Elapsed time counts a month as 30 days.
    unit("mo", Elapsed::Seconds(30 * DAY), Some(Part::Months)),
    // restic's month.
    unit("m", Elapsed::Ambiguous, Some(Part::Months)),
    unit("y", Elapsed::NotAllowed, Some(Part::Years)),
];

const fn unit(name: &'static str, elapsed: Elapsed, part: Option<Part>) -> Unit {
    Unit {
        name,
        elapsed,
        part,
    }
}

fn lookup(name: &str) -> Option<&'static Unit> {
    UNITS.iter().find(|unit| unit.name == name)
}

/// One `<number><unit>` step: the digits, the unit's letters and what follows.
fn split(text: &str) -> (&str, &str, &str) {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, rest) = text.split_at(digits);
    let letters = rest.len()
        - rest
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .len();
    let (unit, tail) = rest.split_at(letters);
    (number, unit, tail)
}

/// Seconds in elapsed time such as `26h`, `90min`, `8d`, `1w` or `1d12h` (units s, min,
/// h, d, w, mo = 30 days); `m` is refused as ambiguous.
pub fn parse_elapsed(text: &str) -> Result<i64, String> {
    let invalid = |why: &str| {
        format!("invalid duration {text:?}: {why} (examples: 26h, 90min, 8d, 1w, 1d12h)")
    };
    let mut total: i64 = 0;
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (number, name, tail) = split(rest);
        if name.is_empty() {
            return Err(match tail.chars().next() {
                Some(c) => invalid(&format!("unknown unit {c:?}")),
                None => invalid("the number needs a unit"),
            });
        }
        let elapsed = lookup(name).map_or(Elapsed::NotAllowed, |unit| unit.elapsed);
        if elapsed == Elapsed::NotAllowed {
            return Err(invalid(&format!("unknown unit {name:?}")));
        }
        if number.is_empty() {
            return Err(invalid("a unit needs a number before it"));
        }
        let Elapsed::Seconds(seconds) = elapsed else {
            return Err(ambiguous(text, rest, number, tail));
        };
        let amount: i64 = number.parse().map_err(|_| invalid("number too large"))?;
        total = amount
            .checked_mul(seconds)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(|| invalid("too long"))?;
        rest = tail;
    }
    if total == 0 {
        return Err(invalid("it must be longer than zero"));
    }
    Ok(total)
}

/// The refusal of `<number>m` in elapsed time, naming both explicit forms in place.
fn ambiguous(text: &str, rest: &str, number: &str, tail: &str) -> String {
    let text = text.trim();
    let before = &text[..text.len() - rest.len()];
    let spelled = |unit: &str| format!("{before}{number}{unit}{tail}");
    format!(
        "{text:?} is ambiguous: write {} for minutes or {} for months",
        spelled("min"),
        spelled("mo")
    )
}

/// A calendar duration, written like `1y2m3d4h` (m or mo = months).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub years: i32,
    pub months: i32,
    pub days: i32,
    pub hours: i32,
}

impl Span {
    pub fn is_zero(&self) -> bool {
        *self == Span::default()
    }
}

impl fmt::Display for Span {
    /// restic's canonical form, with `m` for months.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0d");
        }
        let parts = [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ];
        for (amount, unit) in parts {
            if amount != 0 {
                write!(f, "{amount}{unit}")?;
            }
        }
        Ok(())
    }
}

/// Why a text is not a valid [`Span`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSpanError {
    input: String,
    problem: String,
}

impl fmt::Display for ParseSpanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration {:?}: {} (expected numbers with units y, m (months), d, h, e.g. 7d, 36h, 1y6m)",
            self.input, self.problem
        )
    }
}

impl std::error::Error for ParseSpanError {}

impl FromStr for Span {
    type Err = ParseSpanError;

    /// Units may come in any order and repeat; repeated units add up.
    fn from_str(input: &str) -> Result<Span, ParseSpanError> {
        let error = |problem: String| ParseSpanError {
            input: input.to_string(),
            problem,
        };
        let mut rest = input.trim();
        if rest.is_empty() {
            return Err(error("it is empty".to_string()));
        }
        let mut span = Span::default();
        while !rest.is_empty() {
            let (number, name, tail) = split(rest);
            if number.is_empty() {
                let problem = if rest.starts_with('-') {
                    "negative amounts are not allowed".to_string()
                } else {
                    format!("expected a number at {rest:?}")
                };
                return Err(error(problem));
            }
            let amount: i32 = number
                .parse()
                .map_err(|_| error(format!("{number} is too large")))?;
            let part = match (lookup(name).and_then(|unit| unit.part), name.chars().next()) {
                (Some(part), _) => part,
                (None, _) if name.chars().count() > 1 => {
                    return Err(error(format!("unknown unit {name:?} after {number}")));
                }
                (None, Some(letter)) => {
                    return Err(error(format!("unknown unit {letter:?} after {number}")));
                }
                (None, None) => match tail.chars().next() {
                    Some(other) => {
                        return Err(error(format!("unknown unit {other:?} after {number}")));
                    }
                    None => return Err(error(format!("no unit after {number}"))),
                },
            };
            let field = match part {
                Part::Years => &mut span.years,
                Part::Months => &mut span.months,
                Part::Days => &mut span.days,
                Part::Hours => &mut span.hours,
            };
            *field = field
                .checked_add(amount)
                .ok_or_else(|| error("the total is too large".to_string()))?;
            rest = tail;
        }
        Ok(span)
    }
}

#[cfg(test)]
#[path = "duration_tests.rs"]
mod tests;
