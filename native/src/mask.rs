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
//! `MaskFinder.spans` only finds the matches. `MaskFinder.mask` also writes the
//! masked text, as `TextMasker.__call__` does: the card's Luhn check and the
//! look of a timestamp, the name and separator a secret or bearer mask keeps,
//! one splice; only the e-mail's keyed hash is asked of Python, through the
//! caller's function. It is asked only about ASCII
//! texts, where PCRE2's `\b`, `\w`, `\d` and caseless letters (without UTF) agree
//! with Python's; `\s` is written by the caller to include what Python counts as
//! ASCII space (U+001C to U+001F).

use pcre2::bytes::{Regex, RegexBuilder};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

/// One combined mask expression and, per kind, the number of the group that says
/// the kind matched.
#[pyclass(frozen, module = "logpipe_native")]
pub struct MaskFinder {
    regex: Regex,
    kinds: Vec<usize>,
    /// The kinds' names, in the order of `kinds` (for `mask`).
    names: Vec<String>,
}

/// The Luhn checksum of a run of ASCII digits, as patterns.luhn_valid computes it.
fn luhn_valid(digits: &[u8]) -> bool {
    let parity = digits.len() % 2;
    let mut total = 0u32;
    for (i, &c) in digits.iter().enumerate() {
        let mut d = u32::from(c.wrapping_sub(b'0'));
        if i % 2 == parity {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        total += d;
    }
    total % 10 == 0
}

/// patterns._looks_like_time: a Unix time in ms, us or ns, or a compact
/// yyyyMMddHHmmss date-time (1900 to 2099), not a card number.
fn looks_like_time(digits: &[u8]) -> bool {
    if digits.first() == Some(&b'1') && matches!(digits.len(), 13 | 16 | 19) {
        return true;
    }
    if digits.len() != 14 || !(digits.starts_with(b"19") || digits.starts_with(b"20")) {
        return false;
    }
    let two = |i: usize| u32::from(digits[i] - b'0') * 10 + u32::from(digits[i + 1] - b'0');
    let (month, day, hour, minute, second) = (two(4), two(6), two(8), two(10), two(12));
    (1..=12).contains(&month) && (1..=31).contains(&day) && hour < 24 && minute < 60 && second < 61
}

/// One match: the position of its kind in `kind_groups`, the span of the whole
/// match and the span of the kind's group.
struct Found {
    kind: usize,
    start: usize,
    end: usize,
    kind_start: usize,
    kind_end: usize,
}

impl MaskFinder {
    /// Every match in the ASCII `text`, left to right and not overlapping, as
    /// `re.finditer` finds them, handed to `each`. ValueError: not ASCII, or
    /// PCRE2 gave up (its match limit).
    fn each_match(&self, text: &str, mut each: impl FnMut(Found) -> PyResult<()>) -> PyResult<()> {
        if !text.is_ascii() {
            return Err(PyValueError::new_err("not an ASCII text"));
        }
        let bytes = text.as_bytes();
        let mut locs = self.regex.capture_locations();
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
            // No alternative matches the empty text; were one to, step past it as re does.
            at = if end > start { end } else { end + 1 };
            each(Found { kind, start, end, kind_start, kind_end })?;
        }
        Ok(())
    }
}

#[pymethods]
impl MaskFinder {
    /// `names`: the kinds' names in the order of `kind_groups` (`email`, `card`,
    /// `secret`, `bearer`, or another kind masked whole), for `mask`.
    #[new]
    #[pyo3(signature = (pattern, kind_groups, names=None))]
    fn new(pattern: &str, kind_groups: Vec<usize>, names: Option<Vec<String>>) -> PyResult<Self> {
        let regex = RegexBuilder::new()
            .jit_if_available(true)
            .build(pattern)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        if let Some(g) = kind_groups.iter().find(|g| **g == 0 || **g >= regex.captures_len()) {
            return Err(PyValueError::new_err(format!("no group {g} in the expression")));
        }
        let names = names.unwrap_or_default();
        if !names.is_empty() && names.len() != kind_groups.len() {
            return Err(PyValueError::new_err("one name per kind"));
        }
        Ok(MaskFinder { regex, kinds: kind_groups, names })
    }

    /// `text` with every match masked, as `TextMasker.__call__` masks it (the same
    /// object when nothing is): the e-mail's replacement is `email(address as
    /// written)`; a card that fails the Luhn check, or whose unseparated digits
    /// look like a timestamp, is left; a secret keeps its name and separator (and
    /// its quotes), a bearer token its `Bearer `. Each mask counts one for its
    /// kind into `counts`, kinds in the order of their first mask, after the
    /// whole text is done. ValueError: as `spans`, or no names were given.
    fn mask<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>, email: &Bound<'py, PyAny>,
                 counts: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyString>> {
        if self.names.is_empty() {
            return Err(PyValueError::new_err("a finder without kind names"));
        }
        let s = text.to_str()?;
        let bytes = s.as_bytes();
        let mut out = String::new();
        let mut last = 0;
        let mut tally: Vec<(usize, usize)> = Vec::new();
        self.each_match(s, |m| {
            let Found { kind, start, end, kind_start: ks, kind_end: ke } = m;
            let replacement = match self.names[kind].as_str() {
                "email" => email.call1((&s[ks..ke],))?.extract::<String>()?,
                "card" => {
                    let raw = &bytes[ks..ke];
                    let digits: Vec<u8> = raw.iter().copied().filter(|c| *c != b' ' && *c != b'-').collect();
                    if !luhn_valid(&digits) || (raw.len() == digits.len() && looks_like_time(&digits)) {
                        return Ok(());
                    }
                    "[REDACTED:card]".to_owned()
                }
                "secret" => {
                    let quote = if matches!(bytes[ks], b'"' | b'\'') { &s[ks..ks + 1] } else { "" };
                    format!("{}{quote}[REDACTED:secret]{quote}", &s[start..ks])
                }
                "bearer" => format!("{}[REDACTED:bearer]", &s[start..ks]),
                other => format!("[REDACTED:{other}]"),
            };
            match tally.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => tally.push((kind, 1)),
            }
            out.push_str(&s[last..start]);
            out.push_str(&replacement);
            last = end;
            Ok(())
        })?;
        if tally.is_empty() {
            return Ok(text.clone());
        }
        out.push_str(&s[last..]);
        for (kind, n) in tally {
            let name = self.names[kind].as_str();
            let before: usize = match counts.get_item(name)? {
                Some(v) => v.extract()?,
                None => 0,
            };
            counts.set_item(name, before + n)?;
        }
        Ok(PyString::new_bound(py, &out))
    }

    /// Every match of the expression in `text`, left to right and not overlapping,
    /// as `re.finditer` finds them: `(kind, start, end, kind_start, kind_end)`
    /// with the position of the kind in `kind_groups` and the span of the whole
    /// match and of the kind's group. ValueError: not ASCII, or PCRE2 gave up (its
    /// match limit); the caller then asks `re`.
    fn spans<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty_bound(py);
        self.each_match(text.to_str()?, |m| {
            out.append(PyTuple::new_bound(py, [m.kind, m.start, m.end, m.kind_start, m.kind_end]))
        })?;
        Ok(out)
    }
}
