//! One grok expression for the event path: a gate and an extraction in one call.
//!
//! The event path asked RE2 whether a line matches and then Python's `re` for the
//! groups: two calls into two bindings, each with its fixed cost, and `re` walks
//! the line again. Here the `regex` crate's automata answer whether it matches
//! and PCRE2's JIT extracts the groups, and the caller gets the capture texts as
//! one tuple. Both programs come from the parse tree of the expression the event
//! path compiles with `re` (logpipe/filters/grok/native.py).

use pcre2::bytes::{Regex, RegexBuilder};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

pub fn gate(pattern: &str) -> PyResult<regex::Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The PCRE2 program; `jit_stack`: the most stack its JIT may take (None: PCRE2's
/// default, 32 KiB).
pub fn extraction(pattern: &str, jit_stack: Option<usize>) -> PyResult<Regex> {
    RegexBuilder::new()
        .utf(true)
        .jit_if_available(true)
        .max_jit_stack_size(jit_stack)
        .build(pattern)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The same program for ASCII texts, without UTF mode: PCRE2 checks that the
/// whole subject is valid UTF-8 before every match in UTF mode (a quarter of a
/// short match), and an ASCII text needs no check. None when the pattern is not
/// ASCII (a literal outside ASCII means other bytes without UTF) or does not
/// compile without UTF (`\x{100}` and above). On an ASCII text both programs
/// match alike: neither uses Unicode properties for `\w`, `\d`, `\s` or `\b`,
/// and what differs (characters above U+007F, their case folding) cannot occur.
pub fn ascii_extraction(pattern: &str, jit_stack: Option<usize>) -> Option<Regex> {
    if !pattern.is_ascii() {
        return None;
    }
    RegexBuilder::new()
        .utf(false)
        .jit_if_available(true)
        .max_jit_stack_size(jit_stack)
        .build(pattern)
        .ok()
}

/// The program to run on `text`: the ASCII one when there is one and the text is ASCII.
#[inline]
pub fn program<'a>(regex: &'a Regex, ascii: &'a Option<Regex>, text: &str) -> &'a Regex {
    match ascii {
        Some(ascii) if text.is_ascii() => ascii,
        _ => regex,
    }
}

/// A grok expression's programs and the group numbers of its captures, in the
/// order the capture plan stores them.
#[pyclass(frozen, module = "logpipe_native")]
pub struct Matcher {
    gate: regex::Regex,
    regex: Regex,
    ascii: Option<Regex>,
    groups: Vec<usize>,
}

#[pymethods]
impl Matcher {
    #[new]
    fn new(gate_pattern: &str, extract_pattern: &str, groups: Vec<usize>) -> PyResult<Self> {
        let regex = extraction(extract_pattern, None)?;
        if let Some(g) = groups.iter().find(|g| **g >= regex.captures_len()) {
            return Err(PyValueError::new_err(format!("no group {g} in the expression")));
        }
        let ascii = ascii_extraction(extract_pattern, None);
        Ok(Matcher { gate: gate(gate_pattern)?, regex, ascii, groups })
    }

    /// The capture texts (None for a group that took no part), or None when
    /// `text` does not match. Raises ValueError when PCRE2 gives up (its match
    /// limit) or the text cannot be UTF-8 (lone surrogates): the caller then asks
    /// `re`, so the answer is the event path's either way.
    fn search<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let text = text.to_str()?;
        if !self.gate.is_match(text) {
            return Ok(None);
        }
        let mut locs = self.regex.capture_locations();
        match program(&self.regex, &self.ascii, text).captures_read(&mut locs, text.as_bytes()) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(e) => return Err(PyValueError::new_err(e.to_string())),
        }
        let items = self.groups.iter().map(|g| match locs.get(*g) {
            Some((start, end)) => PyString::new_bound(py, &text[start..end]).into_any(),
            None => py.None().into_bound(py),
        });
        Ok(Some(PyTuple::new_bound(py, items)))
    }
}
