//! A regular expression condition (`[message] =~ /.../`) on ASCII text.
//!
//! Conditions ask only whether a pattern occurs in a string. Python's `re`
//! answers by backtracking from every position; the `regex` crate's automata
//! answer in one linear pass. The Python side (logpipe/core/condition_regex.py)
//! writes a pattern for this engine only when it means the same as the `re`
//! pattern on ASCII text, with byte semantics spelled out (`\s` as `re`'s ASCII
//! whitespace, and so on); any other text is `re`'s to judge, so this answers
//! None for it.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

#[pyclass(frozen, module = "logpipe_native")]
pub struct AsciiTest {
    regex: regex::bytes::Regex,
    /// A literal every match holds: a text without it is answered by one `memchr`
    /// scan (a line anchor or a class in front keeps the automaton from using one).
    needed: Option<regex::bytes::Regex>,
}

#[pymethods]
impl AsciiTest {
    /// `pattern` in the `regex` crate's syntax, compiled with Unicode off: `.`
    /// and classes match bytes, which on ASCII text are the characters; `needed`,
    /// a pattern (one literal) that every match of it contains.
    #[new]
    #[pyo3(signature = (pattern, needed=None))]
    fn new(pattern: &str, needed: Option<&str>) -> PyResult<Self> {
        let build = |p: &str| {
            regex::bytes::RegexBuilder::new(p)
                .unicode(false)
                .size_limit(16 << 20)
                .build()
                .map_err(|e| PyValueError::new_err(e.to_string()))
        };
        let needed = match needed {
            Some(p) => Some(build(p)?),
            None => None,
        };
        Ok(AsciiTest { regex: build(pattern)?, needed })
    }

    /// Whether the pattern occurs in `text`; None when `text` is not all ASCII
    /// (lone surrogates included), which the caller then asks `re` about. A
    /// method rather than `__call__`: the bound method is called with vectorcall,
    /// without an argument tuple per call.
    fn test(&self, text: &Bound<'_, PyString>) -> Option<bool> {
        self.answer(text)
    }
}

impl AsciiTest {
    /// `test`'s answer, for the native condition programs (condprog.rs) too.
    pub fn answer(&self, text: &Bound<'_, PyString>) -> Option<bool> {
        let bytes = text.to_str().ok()?.as_bytes();
        if !bytes.is_ascii() {
            return None;
        }
        if let Some(needed) = &self.needed {
            if !needed.is_match(bytes) {
                return Some(false);
            }
        }
        Some(self.regex.is_match(bytes))
    }
}
