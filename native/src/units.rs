//! The texts of a classify batch joined into one buffer for one signature scan.
//!
//! `SignatureScanner.found_in` (logpipe/filters/classify/security.py) scans the
//! batch's distinct texts together: each text becomes a *unit* (the text, and on
//! a line of its own the same text with every `+` read as a space, as URL
//! decoding reads it), the units are joined with newlines, and the joined bytes go
//! through Hyperscan once (logpipe/filters/patternset.py maps every match end back
//! to its unit). In Python, making the units, joining them, encoding the result
//! and summing the lengths cost about as much as the scan itself, a few string
//! operations per text. Here one pass does it all.
//!
//! The texts this pass does not take are left to Python, which scans each alone:
//! an empty text, one outside ASCII (Hyperscan folds the case of ASCII letters
//! only), one with a lone surrogate, and one holding a `%`, whose decoded forms
//! are `unquote_plus`'s to define.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::pyobj::utf8;

/// `(joined, after, taken, aside)` for `texts`, each cut to its first `limit`
/// characters: `joined` holds the units of the `taken` texts (their indices, in
/// order) separated by newlines; `after[k]` is where the unit after unit `k`
/// starts (one past its separator); `aside` the indices of the texts left to the
/// caller. A text that is not a str is a TypeError.
#[pyfunction]
pub fn join_units<'py>(py: Python<'py>, texts: &Bound<'py, PyList>, limit: usize)
                       -> PyResult<(Bound<'py, PyBytes>, Vec<usize>, Vec<usize>, Vec<usize>)> {
    let mut joined: Vec<u8> = Vec::new();
    let mut after = Vec::with_capacity(texts.len());
    let mut taken = Vec::with_capacity(texts.len());
    let mut aside = Vec::new();
    for (i, item) in texts.iter().enumerate() {
        let obj = item.as_ptr();
        // SAFETY: `obj` is a live object of the list, the GIL is held.
        if unsafe { ffi::PyUnicode_CheckExact(obj) } == 0 {
            return Err(PyTypeError::new_err("join_units takes a list of str"));
        }
        // SAFETY: as above, and `obj` is an exact str.
        let Some(whole) = (unsafe { utf8(obj) }).map(str::as_bytes) else {
            aside.push(i);
            continue;
        };
        // When the first `limit` bytes are ASCII they are the first `limit`
        // characters: the cut is Python's `text[:limit]`.
        let text = &whole[..whole.len().min(limit)];
        if text.is_empty() || !text.is_ascii() || text.contains(&b'%') {
            aside.push(i);
            continue;
        }
        if !taken.is_empty() {
            joined.push(b'\n');
        }
        joined.extend_from_slice(text);
        if text.contains(&b'+') {
            joined.push(b'\n');
            joined.extend(text.iter().map(|&b| if b == b'+' { b' ' } else { b }));
        }
        after.push(joined.len() + 1);
        taken.push(i);
    }
    Ok((PyBytes::new_bound(py, &joined), after, taken, aside))
}
