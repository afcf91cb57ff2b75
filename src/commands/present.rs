//! Shared presentation: sizes for people, tables, JSON on stdout.

use std::io::{self, Write};

use anyhow::Result;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use serde::Serialize;

use crate::backup::estimate::Estimate;
use crate::exit;
use crate::model::units;

/// 1536 -> "1.5 KiB".
pub fn human_size(bytes: u64) -> String {
    crate::model::units::format_size(bytes)
}

/// Bytes and rate on stderr when it is a terminal; hidden otherwise. With an estimate of
/// the total, also the share done and the time left, until the work passes the estimate:
/// from there on, bytes and rate only.
pub fn progress_bar(visible: bool, message: &str, estimate: Option<Estimate>) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.to_string());
    let style = match estimate {
        None => ProgressStyle::with_template(
            "{spinner} {msg}: {bytes} read ({bytes_per_sec}, {elapsed})",
        ),
        Some(estimate) => {
            bar.set_length(estimate.bytes);
            let about = if estimate.rough { "about " } else { "" };
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}}: {{bytes}} of {about}{{total_bytes}} ({{share}}{{bytes_per_sec}})"
            ))
            .map(|style| style.with_key("share", share_and_time_left))
        }
    };
    bar.set_style(style.expect("the template is valid"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// "42%, 3s left, " while within the estimate; "past the estimate, " beyond it.
fn share_and_time_left(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let (done, total) = (state.pos(), state.len().unwrap_or(0));
    let _ = match done < total {
        true if done == 0 => write!(out, "0%, "),
        true => write!(
            out,
            "{}%, {} left, ",
            done * 100 / total,
            units::format_duration(state.eta().as_secs().max(1) as i64)
        ),
        false => write!(out, "past the estimate, "),
    };
}

pub fn table(header: &[&str]) -> Table {
    table_on(header, false)
}

/// A table for stdout, or for stderr (a confirmation) when `on_stderr`: it fits that
/// stream's terminal.
pub fn table_on(header: &[&str], on_stderr: bool) -> Table {
    let mut table = Table::new();
    if on_stderr {
        table.use_stderr();
    }
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    // Fit a real terminal; a pseudo-terminal that reports no width gets the natural width.
    if table.width().is_some_and(|w| w >= 40) {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    table
}

/// Fits `table` into the terminal it is printed on: the `whole` columns never wrap; while
/// the table is wider than the terminal, the `optional` columns (what another column
/// already says) are hidden in order; what still does not fit wraps in the other columns.
pub fn fit(table: &mut Table, whole: &[usize], optional: &[usize]) {
    let Some(terminal) = table.width().filter(|w| *w >= 40).map(usize::from) else {
        return;
    };
    for &column in whole {
        if let Some(column) = table.column_mut(column) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    let widths = table.column_max_content_widths();
    let mut shown: Vec<usize> = (0..widths.len()).collect();
    // Each column takes its content, a space either side and one border.
    let width = |shown: &[usize]| {
        1 + shown
            .iter()
            .map(|&c| usize::from(widths[c]) + 3)
            .sum::<usize>()
    };
    for &column in optional {
        if width(&shown) <= terminal {
            break;
        }
        if let Some(hidden) = table.column_mut(column) {
            hidden.set_constraint(ColumnConstraint::Hidden);
            shown.retain(|&c| c != column);
        }
    }
}

/// Text as a terminal may show it: control characters (a newline, ESC...) and the
/// invisible characters that reorder text are shown escaped (`\n`, `\u{1b}`), so stored
/// text can neither break a table's layout nor send commands to the terminal.
pub fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            _ if c.is_control() || invisible => shown.push_str(&c.escape_unicode().to_string()),
            _ => shown.push(c),
        }
    }
    shown
}

/// A table row whose cells are all shown [`printable`].
pub fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|cell| printable(cell)).collect()
}

/// At most `limit` characters of `text` (already printable), with `…` when cut.
pub fn shortened(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(exit::stdout_error)
}

pub fn print_line(text: &str) -> Result<()> {
    writeln!(io::stdout().lock(), "{text}").map_err(exit::stdout_error)
}

#[cfg(test)]
mod tests {
    use super::{human_size, printable, shortened};

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("nightly, before 2.0"), "nightly, before 2.0");
        assert_eq!(printable("ünïcode ✓"), "ünïcode ✓");
        assert_eq!(printable("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("x\u{7f}\u{9b}y"), "x\\u{7f}\\u{9b}y");
        assert_eq!(printable("abc\u{202e}def"), "abc\\u{202e}def");
    }

    #[test]
    fn long_text_is_shortened_on_a_character_boundary() {
        assert_eq!(shortened("short", 10), "short");
        assert_eq!(shortened("éééééé", 3), "ééé…");
        assert_eq!(shortened("exactly", 7), "exactly");
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
