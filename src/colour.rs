//! Whether output may carry ANSI colours: only on a terminal, and never when `NO_COLOR`
//! is set to a non-empty value (<https://no-color.org>).

use std::io::IsTerminal;

/// Colours for log lines on stderr.
pub fn on_stderr() -> bool {
    allowed(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    )
}

/// Colours for reports on stdout.
pub fn on_stdout() -> bool {
    allowed(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR"),
    )
}

fn allowed(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(allowed(true, None));
        assert!(allowed(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!allowed(true, Some("1".into())));
        assert!(!allowed(false, None));
        assert!(!allowed(false, Some("".into())));
    }
}
