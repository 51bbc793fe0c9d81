//! Capture texts that come back, made once.
//!
//! A grok capture is a new Python string per event, although most captured
//! fields hold one of a few values (methods, protocol versions, client
//! addresses, paths, referrers). Making the string and, when the event goes,
//! freeing it again touches memory the batch has long left behind; and every
//! later lookup by that text (the GeoIP and user-agent memos, the classify
//! scans' sets) hashes the new object again. `TextReuse` remembers the last
//! string made for each short ASCII text, per capture, in a direct-mapped
//! table, and hands out that same object when the text comes back. A str never
//! changes, so sharing it changes no document.
//!
//! A capture whose texts seldom repeat (request ids, timestamps) would only pay
//! for the lookup: each capture's hits are counted, and one that finds fewer
//! than a quarter of its texts in a round of `ROUND` goes without the table for
//! `RESTING` captures, then is tried again.

use std::hash::Hasher;

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::scrub::Fx;

/// Texts longer than this (in bytes) are always made anew.
const LONGEST: usize = 64;
/// Table slots: a power of two.
const SLOTS: usize = 1024;
/// Captures per round of counting, and the hits a round needs to keep the table.
const ROUND: u32 = 256;
const ENOUGH: u32 = ROUND / 4;
/// Captures a capture slot goes without the table after a poor round.
const RESTING: u32 = 4096;

/// One remembered string: its text's hash and the object.
struct Entry {
    hash: u64,
    text: Py<PyString>,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tries: u32,
    hits: u32,
    resting: u32,
}

/// The strings last made per (capture, text), and how well each capture repeats.
pub struct TextReuse {
    entries: Vec<Option<Entry>>,
    counts: Vec<Counts>,
}

impl TextReuse {
    /// A table for `captures` capture slots (numbered from 0).
    pub fn new(captures: usize) -> TextReuse {
        TextReuse { entries: (0..SLOTS).map(|_| None).collect(), counts: vec![Counts::default(); captures] }
    }

    /// The string for `piece`, captured by capture `capture`: the one made last
    /// time for the same text when the table still holds it, else a new one (kept).
    pub fn text<'py>(&mut self, py: Python<'py>, capture: usize, piece: &str) -> Bound<'py, PyString> {
        if piece.len() > LONGEST || !piece.is_ascii() || capture >= self.counts.len() {
            return PyString::new_bound(py, piece);
        }
        let counts = &mut self.counts[capture];
        if counts.resting > 0 {
            counts.resting -= 1;
            return PyString::new_bound(py, piece);
        }
        let hash = hash_of(capture, piece.as_bytes());
        let at = (hash >> 32) as usize & (SLOTS - 1);
        counts.tries += 1;
        if let Some(entry) = &self.entries[at] {
            if entry.hash == hash {
                let held = entry.text.bind(py);
                if held.to_str().map_or(false, |t| t == piece) {
                    counts.hits += 1;
                    let found = held.clone();
                    self.round_end(capture);
                    return found;
                }
            }
        }
        let made = PyString::new_bound(py, piece);
        self.entries[at] = Some(Entry { hash, text: made.clone().unbind() });
        self.round_end(capture);
        made
    }

    fn round_end(&mut self, capture: usize) {
        let counts = &mut self.counts[capture];
        if counts.tries >= ROUND {
            if counts.hits < ENOUGH {
                counts.resting = RESTING;
            }
            counts.tries = 0;
            counts.hits = 0;
        }
    }
}

/// The text's hash (scrub's word-at-a-time hash), mixed with the capture's
/// number so that two captures with the same text take different slots.
fn hash_of(capture: usize, bytes: &[u8]) -> u64 {
    let mut h = Fx::default();
    h.write_usize(capture);
    h.write_usize(bytes.len());
    h.write(bytes);
    h.finish()
}
