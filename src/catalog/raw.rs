//! Catalog entries as written: each read on its own, so one damaged entry stays one
//! damaged entry, kept byte for byte; numeric IDs written back exactly as they were.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::Entry;

/// An entry that does not read as a backup: kept exactly as written, never counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Damaged {
    /// The entry's JSON text, as it was in the file.
    pub raw: String,
    /// Its position among the catalog's entries, from 1.
    pub position: usize,
    /// What its `id` says, when that much can be read.
    pub id: Option<String>,
    /// What its `filename` says, when that much can be read.
    pub filename: Option<String>,
    pub problem: String,
}

impl Damaged {
    /// How to name it in a message.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("entry {} (ID {id})", self.position),
            None => format!("entry {}", self.position),
        }
    }

    /// A stand-in for listing it: what can be read of the ID, file, dates, database and
    /// type, and the problem.
    pub fn stand_in(&self) -> Entry {
        let fields: BTreeMap<String, Value> = serde_json::from_str(&self.raw).unwrap_or_default();
        let text = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or("");
        let value = serde_json::json!({
            "id": self.id.clone().unwrap_or_else(|| "?".to_string()),
            "filename": self.filename.clone().unwrap_or_default(),
            "type": text("type"),
            "date": text("date"),
            "created_at": fields.get("created_at").and_then(Value::as_str),
            "database": text("database"),
            "problem": self.problem,
        });
        serde_json::from_value(value).expect("the stand-in is well formed")
    }
}

/// One entry read from its text: the entry and whether its ID was a JSON number.
pub fn read(raw: &RawValue, position: usize) -> Result<(Entry, bool), Damaged> {
    let id_text = id_text(raw);
    match serde_json::from_str::<Entry>(raw.get()) {
        Ok(mut entry) => {
            let numeric = id_text.as_deref().is_some_and(is_number);
            if let (true, Some(text)) = (numeric, id_text) {
                entry.id = text;
            }
            Ok((entry, numeric))
        }
        Err(err) => {
            let fields: BTreeMap<String, Value> =
                serde_json::from_str(raw.get()).unwrap_or_default();
            let id = match (fields.get("id"), id_text) {
                (Some(Value::String(s)), _) => Some(s.clone()),
                (Some(Value::Number(_)), Some(text)) => Some(text),
                _ => None,
            };
            Err(Damaged {
                raw: raw.get().to_string(),
                position,
                id,
                filename: fields
                    .get("filename")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                problem: err.to_string(),
            })
        }
    }
}

/// The ID as written (a number stays a number), read without copying the other fields.
fn id_text(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    match serde_json::from_str::<Id<'_>>(raw.get()) {
        Ok(Id { id }) => id.map(|v| v.get().to_string()),
        // Duplicate keys and the like: the last "id" counts.
        Err(_) => serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get())
            .ok()?
            .get("id")
            .map(|v| v.get().to_string()),
    }
}

/// The entry's text as the catalog stores it, indented for its place in the array; a
/// numeric ID is written as the number it was.
pub fn write(entry: &Entry, numeric_id: bool) -> Box<RawValue> {
    let mut text = serde_json::to_string_pretty(entry).expect("entries serialize");
    if numeric_id && is_number(&entry.id) {
        let quoted = serde_json::to_string(&entry.id).expect("strings serialize");
        text = text.replacen(
            &format!("\"id\": {quoted}"),
            &format!("\"id\": {}", entry.id),
            1,
        );
    }
    indented(&text)
}

/// Text kept as written.
pub fn verbatim(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_string()).expect("the text was read as JSON")
}

/// Pretty JSON never holds a raw newline inside a string, so indenting every line
/// after the first places it inside the catalog's array.
fn indented(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.replace('\n', "\n    ")).expect("indenting keeps JSON valid")
}

fn is_number(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_number())
}
