//! Native work for logpipe (docs/native.md).
//!
//! - `Matcher` (matcher.rs): one grok expression for the event path, whose capture
//!   texts come back from one call.
//! - `FixedGsub` (gsub.rs): a fixed mutate `gsub` over a batch of events.
//! - `ScrubCheck` (scrub.rs): the scrub filter's event check, on the event's dicts.
//! - `MaskFinder` (mask.rs): where the scrub filter's masks go in one text.
//! - `EventDecoder` (decode.rs): JSON records into events, a batch at a time.
//! - `ConstantAdder` (addfield.rs): a constant `add_field` entry over a batch.
//! - `LineGrok`: a pipeline that reads lines, parses them with one grok filter and
//!   writes JSON lines spends nearly all of its time creating and serializing
//!   Python objects for every line. `LineGrok` does that work for a whole block of
//!   lines at once: it splits the block, gates each line with Rust's `regex` crate
//!   (linear time), extracts the groups of a line that passed with PCRE2 and writes
//!   each event as the JSON document logpipe's event path would have written, byte
//!   for byte. The GIL is released while it runs, so the worker's event loop keeps
//!   reading sockets.
//!
//! The Python side (logpipe.core.packed and the grok filter) decides when a
//! pipeline may take this path; the tests check the results against the event path.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pcre2::bytes::{CaptureLocations, Regex};

mod addfield;
mod asciitest;
mod batchwrites;
mod classify;
mod condprog;
mod decode;
mod enrich;
mod fields;
mod grokplan;
mod gsub;
mod json;
mod mask;
mod matcher;
mod perfclass;
mod pyobj;
mod scrub;
mod textreuse;
mod units;

/// One grok expression: a linear-time gate, the program that extracts the groups
/// of a line the gate passed and, per stored capture, the group number and the
/// document key (already written as `,"name":`).
///
/// The gate is Rust's `regex` (finite automata: a line that does not match costs
/// one linear scan, whatever it holds). Extraction is PCRE2 with its JIT: a
/// backtracker like Python's `re`, so it finds the same groups, and several times
/// faster than the automata at reporting them. Only expressions whose repetitions
/// come from audited patterns get here, so on a line known to match it is cheap,
/// as in the event path.
struct Expr {
    gate: regex::Regex,
    regex: Regex,
    /// The same program with a large JIT stack, for the lines `regex` runs out of
    /// stack on (see `DEEP_JIT_STACK_BYTES`).
    deep: Regex,
    fields: fields::Layout,
}

impl Expr {
    /// The groups of a line the gate passed, into `loc` or, when the default JIT
    /// stack is too small for the line, into `spare` (made then); None when PCRE2
    /// cannot answer or finds no match.
    fn extract<'a>(&self, line: &[u8], loc: &'a mut CaptureLocations, spare: &'a mut Option<CaptureLocations>) -> Option<&'a CaptureLocations> {
        match self.regex.captures_read(loc, line) {
            Ok(Some(_)) => Some(loc),
            Ok(None) => None,
            Err(_) => {
                let deep = spare.get_or_insert_with(|| self.deep.capture_locations());
                match self.deep.captures_read(deep, line) {
                    Ok(Some(_)) => Some(deep),
                    _ => None,
                }
            }
        }
    }
}

/// The most stack PCRE2's JIT may take for one line in the second try. Its default,
/// 32 KiB, runs out on lines of a few KiB with two `.*` groups (each character of a
/// repeated group the backtracker may revisit takes stack); this is enough for
/// lines far longer than the tcp input's default limit (1 MiB). Such a stack is
/// reserved anew for each block that needs it (several microseconds), so the
/// first try keeps the default. A line that needs still more takes the event path
/// (see `write_block`).
const DEEP_JIT_STACK_BYTES: usize = 64 << 20;

/// Lines of a block that are events: split on `\n`, a trailing `\r` removed,
/// empty lines skipped (what logpipe's line reader does).
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block.split(|b| *b == b'\n').filter_map(|raw| {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            None
        } else {
            Some(line)
        }
    })
}

/// The number of events in a block of lines, or -1 when it is not valid UTF-8
/// (such a block takes the event path, where each bad line is tagged).
#[pyfunction]
fn count_lines(py: Python<'_>, block: &[u8]) -> i64 {
    py.allow_threads(|| {
        if std::str::from_utf8(block).is_err() {
            return -1;
        }
        lines(block).count() as i64
    })
}

/// Grok expressions tried in order on every line of a block.
#[pyclass(frozen, module = "logpipe_native")]
struct LineGrok {
    exprs: Vec<Expr>,
    /// `,"tags":[...]` for a line no expression matched (empty: no tags).
    failure: Vec<u8>,
}

impl LineGrok {
    /// Writes the block's documents into `out`; None when an extraction program
    /// could not give its answer on a line its gate passed (a resource limit of
    /// PCRE2, or a disagreement between the two programs): the event path must then
    /// decide that line, which the caller arranges by taking it for the whole block.
    fn write_block(&self, text: &str, stamp: &[u8], out: &mut Vec<u8>, locs: &mut [CaptureLocations]) -> Option<(usize, usize)> {
        let (mut matched, mut failed) = (0usize, 0usize);
        let mut spares: Vec<Option<CaptureLocations>> = self.exprs.iter().map(|_| None).collect();
        let mut first: Vec<usize> = Vec::new();
        for line in lines(text.as_bytes()) {
            // Lines are cut at ASCII bytes of a valid UTF-8 text: each is valid too.
            let line = unsafe { std::str::from_utf8_unchecked(line) };
            out.extend_from_slice(b"{\"@timestamp\":");
            out.extend_from_slice(stamp);
            out.extend_from_slice(b",\"message\":");
            json::write_str(out, line);
            let mut hit = false;
            for ((expr, loc), spare) in self.exprs.iter().zip(locs.iter_mut()).zip(spares.iter_mut()) {
                if !expr.gate.is_match(line) {
                    continue;
                }
                // The gate passed the line, so the extraction must match it too.
                // PCRE2 can fail where Python's `re` would not (its match limit, or
                // a JIT stack even the deep one outgrows); guessing "no match" would
                // tag a line that the event path parses, so the block goes back to
                // the event path instead.
                let loc = expr.extract(line.as_bytes(), loc, spare)?;
                // A value this layout cannot write (an integer it does not
                // take) leaves the block to the event path as well.
                if !expr.fields.write(out, line, loc, &mut first) {
                    return None;
                }
                hit = true;
                break;
            }
            if hit {
                matched += 1;
            } else {
                failed += 1;
                out.extend_from_slice(&self.failure);
            }
            out.extend_from_slice(b"}\n");
        }
        Some((matched, failed))
    }
}

#[pymethods]
impl LineGrok {
    /// `exprs`: (gate in the `regex` crate's syntax, the same expression in PCRE2's,
    /// [(group number, field path, stored as an integer)] in the capture plan's
    /// order); `failure_tags`: the tags of a line that matches none of them.
    #[new]
    fn new(exprs: Vec<(String, String, Vec<(usize, Vec<String>, bool)>)>, failure_tags: Vec<String>) -> PyResult<Self> {
        let mut compiled = Vec::with_capacity(exprs.len());
        for (gate, pattern, fields) in exprs {
            let gate = matcher::gate(&gate)?;
            let regex = matcher::extraction(&pattern, None)?;
            let deep = matcher::extraction(&pattern, Some(DEEP_JIT_STACK_BYTES))?;
            let layout = fields::Layout::new(fields).map_err(PyValueError::new_err)?;
            if layout.max_group() >= regex.captures_len() {
                return Err(PyValueError::new_err(format!("no group {} in {pattern:?}", layout.max_group())));
            }
            compiled.push(Expr { gate, regex, deep, fields: layout });
        }
        let mut failure = Vec::new();
        if !failure_tags.is_empty() {
            failure.extend_from_slice(b",\"tags\":[");
            for (n, tag) in failure_tags.iter().enumerate() {
                if n > 0 {
                    failure.push(b',');
                }
                json::write_str(&mut failure, tag);
            }
            failure.push(b']');
        }
        Ok(LineGrok { exprs: compiled, failure })
    }

    /// The events of `block` as JSON lines, each stamped with `stamp` (a JSON value,
    /// written as is), with how many lines matched and how many did not; None when
    /// the block is not valid UTF-8 or a line needs the event path (see
    /// `write_block`).
    fn docs<'py>(&self, py: Python<'py>, block: &[u8], stamp: &[u8]) -> Option<(Bound<'py, PyBytes>, usize, usize)> {
        let text = std::str::from_utf8(block).ok()?;
        let (out, matched, failed) = py.allow_threads(|| {
            let mut out = Vec::with_capacity(block.len() * 2 + 64);
            let mut locs: Vec<CaptureLocations> = self.exprs.iter().map(|e| e.regex.capture_locations()).collect();
            let (matched, failed) = self.write_block(text, stamp, &mut out, &mut locs)?;
            Some((out, matched, failed))
        })?;
        Some((PyBytes::new_bound(py, &out), matched, failed))
    }

    /// Whether the expression at `index` matches `text`, and its groups' spans
    /// (character offsets, None for a group that took no part): for checking this
    /// engine against the event path. The gate and the extraction are asked
    /// separately; they must agree. The extraction is tried as `docs` tries it
    /// (default JIT stack, then the deep one); ValueError when PCRE2 cannot answer.
    fn spans(&self, index: usize, text: &str) -> PyResult<(bool, Option<Vec<Option<(usize, usize)>>>)> {
        let expr = self.exprs.get(index).ok_or_else(|| PyValueError::new_err("no such expression"))?;
        let gate = expr.gate.is_match(text);
        let found = match expr.regex.captures(text.as_bytes()) {
            Ok(found) => found,
            Err(_) => expr.deep.captures(text.as_bytes()).map_err(|e| PyValueError::new_err(e.to_string()))?,
        };
        let Some(caps) = found else { return Ok((gate, None)) };
        let chars = |byte: usize| text[..byte].chars().count();
        Ok((gate, Some((0..caps.len()).map(|g| caps.get(g).map(|m| (chars(m.start()), chars(m.end())))).collect())))
    }
}

/// JSON text of a string, escaped exactly as orjson escapes it.
#[pyfunction]
fn json_string<'py>(py: Python<'py>, text: &str) -> Bound<'py, PyBytes> {
    let mut out = Vec::with_capacity(text.len() + 2);
    json::write_str(&mut out, text);
    PyBytes::new_bound(py, &out)
}

#[pymodule]
fn logpipe_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(count_lines, m)?)?;
    m.add_function(wrap_pyfunction!(json_string, m)?)?;
    m.add_class::<LineGrok>()?;
    m.add_class::<matcher::Matcher>()?;
    m.add_class::<grokplan::PlanMatcher>()?;
    m.add_class::<grokplan::PlanBatch>()?;
    m.add_class::<gsub::FixedGsub>()?;
    m.add_function(wrap_pyfunction!(classify::classify_columns, m)?)?;
    m.add_function(wrap_pyfunction!(classify::classify_quiet, m)?)?;
    m.add_function(wrap_pyfunction!(classify::classify_read, m)?)?;
    m.add_function(wrap_pyfunction!(classify::classify_rows_present, m)?)?;
    m.add_class::<scrub::ScrubCheck>()?;
    m.add_class::<mask::MaskFinder>()?;
    m.add_class::<asciitest::AsciiTest>()?;
    m.add_class::<condprog::ConditionProgram>()?;
    m.add_class::<decode::EventDecoder>()?;
    m.add_class::<addfield::ConstantAdder>()?;
    m.add_function(wrap_pyfunction!(enrich::geoip_share, m)?)?;
    m.add_function(wrap_pyfunction!(enrich::useragent_share, m)?)?;
    m.add_class::<perfclass::PerfBatch>()?;
    m.add_function(wrap_pyfunction!(units::join_units, m)?)?;
    m.add_function(wrap_pyfunction!(batchwrites::copy_text, m)?)?;
    m.add_function(wrap_pyfunction!(batchwrites::sample_stamp, m)?)?;
    Ok(())
}
