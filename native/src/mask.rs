//! Where the scrub filter's masks go in one text.
//!
//! The scrubber masks a string with one combined expression of backtracking
//! alternatives (logpipe/filters/scrub/patterns.py) and `re.sub`. Python's `re`
//! tries every alternative at every position of the text, and the e-mail
//! alternative (a run of address characters before an `@`) walks each word again
//! from every letter of it: tens of thousands of steps for a line of a few
//! hundred characters. PCRE2 is a backtracker with the same semantics (leftmost
//! match, alternatives in order, greedy repetition given back one step at a time,
//! the same look-arounds), and its JIT makes each step a few machine instructions.
//!
//! `MaskFinder` only finds the matches; what replaces each (the e-mail's keyed
//! hash, the card's Luhn check) stays in Python. It is asked only about ASCII
//! texts, where PCRE2's `\b`, `\w`, `\d` and caseless letters (without UTF) agree
//! with Python's; `\s` is written by the caller to include what Python counts as
//! ASCII space (U+001C to U+001F).

use pcre2::bytes::{Regex, RegexBuilder};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

/// One combined mask expression and, per kind, the number of the group that says
/// the kind matched.
#[pyclass(frozen, module = "logpipe_native")]
pub struct MaskFinder {
    regex: Regex,
    kinds: Vec<usize>,
}

#[pymethods]
impl MaskFinder {
    #[new]
    fn new(pattern: &str, kind_groups: Vec<usize>) -> PyResult<Self> {
        let regex = RegexBuilder::new()
            .jit_if_available(true)
            .build(pattern)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        if let Some(g) = kind_groups.iter().find(|g| **g == 0 || **g >= regex.captures_len()) {
            return Err(PyValueError::new_err(format!("no group {g} in the expression")));
        }
        Ok(MaskFinder { regex, kinds: kind_groups })
    }

    /// Every match of the expression in `text`, left to right and not overlapping,
    /// as `re.finditer` finds them: `(kind, start, end, kind_start, kind_end)`
    /// with the position of the kind in `kind_groups` and the span of the whole
    /// match and of the kind's group. ValueError: not ASCII, or PCRE2 gave up (its
    /// match limit); the caller then asks `re`.
    fn spans<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyList>> {
        let text = text.to_str()?;
        if !text.is_ascii() {
            return Err(PyValueError::new_err("not an ASCII text"));
        }
        let bytes = text.as_bytes();
        let mut locs = self.regex.capture_locations();
        let out = PyList::empty_bound(py);
        let mut at = 0;
        while at <= bytes.len() {
            match self.regex.captures_read_at(&mut locs, bytes, at) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(PyValueError::new_err(e.to_string())),
            }
            let (start, end) = locs.get(0).expect("group 0 of a match");
            let found = self.kinds.iter().enumerate().find_map(|(i, g)| locs.get(*g).map(|span| (i, span)));
            let Some((kind, (kind_start, kind_end))) = found else {
                return Err(PyValueError::new_err("a match of no kind"));
            };
            out.append(PyTuple::new_bound(py, [kind, start, end, kind_start, kind_end]))?;
            // No alternative matches the empty text; were one to, step past it as re does.
            at = if end > start { end } else { end + 1 };
        }
        Ok(out)
    }
}
