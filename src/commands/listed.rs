//! What `list --json` and `view --json` print of one backup: its entry and its state.

use std::borrow::Cow;

use serde::Serialize;

use crate::catalog::Entry;
use crate::catalog::inventory::Item;

/// A catalog entry or an untracked file, with what is true of it on disk.
#[derive(Debug, Serialize)]
pub struct Listed<'a> {
    #[serde(flatten)]
    pub entry: Cow<'a, Entry>,
    /// ok, missing, untracked, unsafe, deleting, damaged (the entry does not read)
    pub state: &'static str,
}

impl<'a> From<Item<'a>> for Listed<'a> {
    fn from(item: Item<'a>) -> Listed<'a> {
        Listed {
            state: item.state.name(),
            entry: item.entry,
        }
    }
}
