//! Retention policy: which backups a policy keeps, with restic's `forget` semantics.

use std::cmp::Reverse;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Timelike};

pub use crate::model::duration::Span;

/// The count that keeps every bucket.
pub const UNLIMITED: i32 = -1;

/// Which backups to keep.
///
/// A count rule is 0 = off, -1 = unlimited, N > 0 = keep N buckets.
/// A span rule is off when `None` or zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub last: i32,
    pub hourly: i32,
    pub daily: i32,
    pub weekly: i32,
    pub monthly: i32,
    pub yearly: i32,
    /// Keep every entry newer than the latest one minus this span.
    pub within: Option<Span>,
    /// Keep the newest entry of each hour inside the span, without a count; likewise below.
    pub within_hourly: Option<Span>,
    pub within_daily: Option<Span>,
    pub within_weekly: Option<Span>,
    pub within_monthly: Option<Span>,
    pub within_yearly: Option<Span>,
}

impl Policy {
    /// No rule is active, so the policy keeps nothing.
    pub fn is_empty(&self) -> bool {
        let counts = [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ];
        let spans = [
            self.within,
            self.within_hourly,
            self.within_daily,
            self.within_weekly,
            self.within_monthly,
            self.within_yearly,
        ];
        !counts.into_iter().any(count_is_active)
            && spans.into_iter().all(|s| active_span(s).is_none())
    }
}

fn count_is_active(count: i32) -> bool {
    count > 0 || count == UNLIMITED
}

fn active_span(span: Option<Span>) -> Option<Span> {
    span.filter(|s| !s.is_zero())
}

/// What the policy decided for one input entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub keep: bool,
    /// restic's match strings, such as "daily snapshot" or "within 7d"; empty when removed.
    pub reasons: Vec<String>,
}

/// Decides, for each entry of `times`, whether `policy` keeps it.
///
/// Buckets use the wall clock of each value's offset. Input order is arbitrary, but among
/// equal instants the earlier input counts as the newer. `now` only picks the latest entry
/// (the newest strictly before `now`) that `within` rules count back from.
pub fn apply(
    times: &[DateTime<FixedOffset>],
    policy: &Policy,
    now: DateTime<FixedOffset>,
) -> Vec<Decision> {
    let order = newest_first(times);
    let latest = order.iter().map(|&i| times[i]).find(|t| *t < now);
    let within = active_span(policy.within).map(|span| Window::new(span, latest));
    let mut rules = bucket_rules(policy, latest);
    let mut decisions = vec![Decision::default(); times.len()];
    for (position, &index) in order.iter().enumerate() {
        let time = &times[index];
        let is_oldest = position + 1 == order.len();
        let decision = &mut decisions[index];
        if let Some(window) = &within
            && window.contains(time)
        {
            decision.reasons.push(format!("within {}", window.span));
        }
        let matches = rules
            .iter_mut()
            .filter_map(|rule| rule.offer(time, position, is_oldest));
        decision.reasons.extend(matches);
        decision.keep = !decision.reasons.is_empty();
    }
    decisions
}

/// Input indices, newest first; equal instants keep their input order.
pub fn newest_first(times: &[DateTime<FixedOffset>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| Reverse(times[i]));
    order
}

/// Shortens a reason for display: "oldest monthly snapshot" -> "oldest monthly".
pub fn short_reason(reason: &str) -> String {
    reason
        .strip_suffix(" snapshot")
        .unwrap_or(reason)
        .to_string()
}

fn bucket_rules(policy: &Policy, latest: Option<DateTime<FixedOffset>>) -> Vec<BucketRule> {
    let counts = [
        (Bucket::Last, policy.last),
        (Bucket::Hourly, policy.hourly),
        (Bucket::Daily, policy.daily),
        (Bucket::Weekly, policy.weekly),
        (Bucket::Monthly, policy.monthly),
        (Bucket::Yearly, policy.yearly),
    ];
    let windows = [
        (Bucket::Hourly, policy.within_hourly),
        (Bucket::Daily, policy.within_daily),
        (Bucket::Weekly, policy.within_weekly),
        (Bucket::Monthly, policy.within_monthly),
        (Bucket::Yearly, policy.within_yearly),
    ];
    let count_rules = counts
        .into_iter()
        .filter(|&(_, count)| count_is_active(count))
        .map(|(bucket, count)| BucketRule::new(bucket, Limit::Count(count)));
    let window_rules = windows.into_iter().filter_map(|(bucket, span)| {
        let window = Window::new(active_span(span)?, latest);
        Some(BucketRule::new(bucket, Limit::Window(window)))
    });
    count_rules.chain(window_rules).collect()
}

#[derive(Debug, Clone, Copy)]
enum Bucket {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketKey {
    /// `last`: every entry is a bucket of its own.
    Position(usize),
    Period(i32, u32, u32, u32),
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Bucket::Last => "last",
            Bucket::Hourly => "hourly",
            Bucket::Daily => "daily",
            Bucket::Weekly => "weekly",
            Bucket::Monthly => "monthly",
            Bucket::Yearly => "yearly",
        }
    }

    fn key(self, time: &DateTime<FixedOffset>, position: usize) -> BucketKey {
        let (year, month, day) = (time.year(), time.month(), time.day());
        match self {
            Bucket::Last => BucketKey::Position(position),
            Bucket::Hourly => BucketKey::Period(year, month, day, time.hour()),
            Bucket::Daily => BucketKey::Period(year, month, day, 0),
            Bucket::Weekly => {
                let week = time.iso_week();
                BucketKey::Period(week.year(), week.week(), 0, 0)
            }
            Bucket::Monthly => BucketKey::Period(year, month, 0, 0),
            Bucket::Yearly => BucketKey::Period(year, 0, 0, 0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Limit {
    /// Buckets left to keep, or [`UNLIMITED`].
    Count(i32),
    Window(Window),
}

/// One bucket rule, fed the entries newest first.
#[derive(Debug)]
struct BucketRule {
    bucket: Bucket,
    limit: Limit,
    previous: Option<BucketKey>,
}

impl BucketRule {
    fn new(bucket: Bucket, limit: Limit) -> BucketRule {
        BucketRule {
            bucket,
            limit,
            previous: None,
        }
    }

    /// Keeps the entry when it opens a new bucket, or when it is the oldest entry and the
    /// rule still applies; returns the reason.
    fn offer(
        &mut self,
        time: &DateTime<FixedOffset>,
        position: usize,
        is_oldest: bool,
    ) -> Option<String> {
        if !self.applies_to(time) {
            return None;
        }
        let key = self.bucket.key(time, position);
        let opens_bucket = self.previous != Some(key);
        if !opens_bucket && !is_oldest {
            return None;
        }
        self.previous = Some(key);
        if let Limit::Count(left) = &mut self.limit
            && *left > 0
        {
            *left -= 1;
        }
        let prefix = if opens_bucket { "" } else { "oldest " };
        Some(format!("{prefix}{}", self.description()))
    }

    fn applies_to(&self, time: &DateTime<FixedOffset>) -> bool {
        match &self.limit {
            Limit::Count(left) => count_is_active(*left),
            Limit::Window(window) => window.contains(time),
        }
    }

    fn description(&self) -> String {
        match &self.limit {
            Limit::Count(_) => format!("{} snapshot", self.bucket.name()),
            Limit::Window(window) => format!("{} within {}", self.bucket.name(), window.span),
        }
    }
}

/// The entries newer than the latest one minus `span`.
#[derive(Debug, Clone, Copy)]
struct Window {
    span: Span,
    /// Exclusive; `None` when the window reaches back past every entry: there is no entry
    /// before `now` (restic then counts back from year 1), or the start is out of range.
    start: Option<DateTime<FixedOffset>>,
}

impl Window {
    fn new(span: Span, latest: Option<DateTime<FixedOffset>>) -> Window {
        Window {
            span,
            start: latest.and_then(|latest| window_start(latest, span)),
        }
    }

    fn contains(&self, time: &DateTime<FixedOffset>) -> bool {
        self.start.is_none_or(|start| *time > start)
    }
}

/// `latest` minus `span`, on `latest`'s wall clock and offset: years, months and days move the
/// date together (see [`shift_date`]) and keep the time of day, then hours count as 3600 s each.
fn window_start(latest: DateTime<FixedOffset>, span: Span) -> Option<DateTime<FixedOffset>> {
    let wall = latest.naive_local();
    let back = |amount: i32| -i64::from(amount);
    let date = shift_date(
        wall.date(),
        back(span.years),
        back(span.months),
        back(span.days),
    )?;
    let start = date
        .and_time(wall.time())
        .checked_sub_signed(TimeDelta::hours(span.hours.into()))?;
    start.and_local_timezone(*latest.offset()).single()
}

/// Moves `date` by whole years, months and days, normalising like Go's `AddDate`: the month
/// is settled first, then the day counts on from the first of that month, so a day past the
/// month's end spills into the next (2016-03-31 minus one month is 2016-03-02).
fn shift_date(date: NaiveDate, years: i64, months: i64, days: i64) -> Option<NaiveDate> {
    let month_index = i64::from(date.year()) * 12 + i64::from(date.month0()) + years * 12 + months;
    let year = i32::try_from(month_index.div_euclid(12)).ok()?;
    let month = u32::try_from(month_index.rem_euclid(12)).ok()? + 1;
    let first_of_month = NaiveDate::from_ymd_opt(year, month, 1)?;
    first_of_month.checked_add_signed(TimeDelta::try_days(i64::from(date.day0()) + days)?)
}

#[cfg(test)]
#[path = "retention/tests.rs"]
mod tests;
