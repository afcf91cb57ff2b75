//! What `verify` records about a backup: a state in `verify_result` (`ok` or `failed`) and
//! what it found in `verify_detail`. Catalogs written before kept both in one sentence
//! (`ok (restore test passed: 3 tables present)`, `failed: <problems>`); those still read.

use crate::catalog::Entry;

/// Whether the last verification passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyState {
    Ok,
    Failed,
}

impl VerifyState {
    /// The word recorded as `verify_result`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyState::Ok => "ok",
            VerifyState::Failed => "failed",
        }
    }
}

/// The outcome of one verification, as recorded with the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: VerifyState,
    /// What was checked or found: the restore test's result, the problems.
    pub detail: Option<String>,
}

impl Verdict {
    /// The recorded verdict of `entry`, when it was ever verified.
    pub fn of(entry: &Entry) -> Option<Verdict> {
        let result = entry.verify_result.as_deref()?;
        Some(Verdict::read(result, entry.verify_detail.as_deref()))
    }

    /// Reads `verify_result` and `verify_detail`, or the one sentence of older catalogs.
    /// Anything that is not recognisably a pass counts as a failure.
    pub fn read(result: &str, detail: Option<&str>) -> Verdict {
        let result = result.trim();
        let (state, legacy_detail) = if result == "ok" {
            (VerifyState::Ok, None)
        } else if let Some(rest) = result.strip_prefix("ok (") {
            (VerifyState::Ok, rest.strip_suffix(')'))
        } else if result == "failed" {
            (VerifyState::Failed, None)
        } else if let Some(rest) = result.strip_prefix("failed: ") {
            (VerifyState::Failed, Some(rest))
        } else {
            (VerifyState::Failed, Some(result))
        };
        Verdict {
            state,
            detail: detail.or(legacy_detail).map(str::to_string),
        }
    }

    pub fn passed(&self) -> bool {
        self.state == VerifyState::Ok
    }

    /// Records this verdict with `entry`, replacing any earlier one.
    pub fn record(&self, entry: &mut Entry) {
        entry.verify_result = Some(self.state.as_str().to_string());
        entry.verify_detail = self.detail.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, VerifyState};

    fn read(result: &str, detail: Option<&str>) -> (VerifyState, Option<String>) {
        let verdict = Verdict::read(result, detail);
        (verdict.state, verdict.detail)
    }

    #[test]
    fn structured_and_older_results_are_read() {
        let ok = VerifyState::Ok;
        let failed = VerifyState::Failed;
        assert_eq!(read("ok", None), (ok, None));
        assert_eq!(
            read("ok", Some("restore test passed: 2 tables present")),
            (ok, Some("restore test passed: 2 tables present".into()))
        );
        assert_eq!(
            read("ok (restore test passed: 2 tables present)", None),
            (ok, Some("restore test passed: 2 tables present".into()))
        );
        assert_eq!(
            read("failed: sha256 mismatch", None),
            (failed, Some("sha256 mismatch".into()))
        );
        assert_eq!(
            read("failed", Some("sha256 mismatch")),
            (failed, Some("sha256 mismatch".into()))
        );
        assert_eq!(read("okay?", None), (failed, Some("okay?".into())));
    }
}
