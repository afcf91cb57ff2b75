//! Runs: the backups one `create --all-databases` (or one scheduled run) makes share a run
//! ID, and each records the run's plan, so that a run can be judged complete or not.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// What a run set out to back up: these databases (each with the run's type) and, when
/// `globals` is set, the server's globals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    #[serde(default)]
    pub databases: Vec<String>,
    #[serde(default)]
    pub globals: bool,
}

impl RunPlan {
    /// How many backups the run makes.
    pub fn parts(&self) -> usize {
        self.databases.len() + usize::from(self.globals)
    }
}

/// A new run ID: the local time stamp of its start and six random hex digits,
/// `20250408_160000-3fa9c1`, so that two runs in the same second differ.
pub fn new_run_id(stamp: NaiveDateTime) -> String {
    format!("{}-{}", stamp.format("%Y%m%d_%H%M%S"), random_hex())
}

/// Six hex digits from the kernel's random source (the clock's nanoseconds and the pid
/// when it cannot be read).
fn random_hex() -> String {
    let mut bytes = [0u8; 3];
    // SAFETY: the buffer is valid for writes of its length.
    let read = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if read != bytes.len() as isize {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mixed = nanos ^ std::process::id().rotate_left(12);
        bytes.copy_from_slice(&mixed.to_le_bytes()[..3]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` has the shape of a run ID.
pub fn is_run_id(text: &str) -> bool {
    let Some((stamp, suffix)) = text.split_once('-') else {
        return false;
    };
    NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S").is_ok()
        && stamp.len() == 15
        && suffix.len() == 6
        && suffix.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{RunPlan, is_run_id, new_run_id};

    #[test]
    fn run_ids_carry_the_start_and_a_random_suffix() {
        let stamp = NaiveDate::from_ymd_opt(2025, 4, 8)
            .unwrap()
            .and_hms_opt(16, 0, 5)
            .unwrap();
        let id = new_run_id(stamp);
        assert!(id.starts_with("20250408_160005-"), "{id}");
        assert_eq!(id.len(), 22, "{id}");
        assert!(is_run_id(&id), "{id}");
        let others: std::collections::BTreeSet<String> =
            (0..20).map(|_| new_run_id(stamp)).collect();
        assert!(others.len() > 1, "the suffix varies: {others:?}");
    }

    #[test]
    fn other_text_is_not_a_run_id() {
        for text in [
            "",
            "20250408_160005",
            "20250408_160005-",
            "20250408_160005-xyz123",
            "20250408_160005-abc",
            "20251308_160005-abcdef",
            "latest",
        ] {
            assert!(!is_run_id(text), "{text}");
        }
    }

    #[test]
    fn a_plan_counts_its_parts() {
        let plan = RunPlan {
            databases: vec!["a".into(), "b".into()],
            globals: true,
        };
        assert_eq!(plan.parts(), 3);
        assert_eq!(RunPlan::default().parts(), 0);
        let read: RunPlan = serde_json::from_str(r#"{"databases": ["x"]}"#).unwrap();
        assert_eq!(read.parts(), 1);
    }
}
