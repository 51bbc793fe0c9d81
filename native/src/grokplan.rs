//! One grok expression whose captures go straight into the event's dicts.
//!
//! `Matcher` (matcher.rs) hands the capture texts back as a tuple, and the
//! capture plan (logpipe/filters/grok/capture.py) then stores them with one
//! block of Python per capture: on an access line of fourteen captures that
//! block costs more than the match. For the plan's common case, an event that
//! holds none of the captures' top-level fields, every capture comes down to
//! "make the objects on the way, in capture order, and set the field": this
//! class does exactly that from Rust, converting `:int` and `:float` captures
//! of plain digits itself and calling the plan's converter for anything else.
//! Any other event gets the tuple back and the Python plan stores it, so the
//! documents are the plan's either way.

use std::sync::Mutex;

use pcre2::bytes::{CaptureLocations, Regex};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyString, PyTuple};

use crate::matcher::{ascii_extraction, extraction, gate, program};
use crate::textreuse::TextReuse;

/// How a capture's text becomes the stored value.
const TEXT: u8 = 0;
const INT: u8 = 1;
const FLOAT: u8 = 2;
const CALL: u8 = 3;

/// The data dict is node 0 and the metadata dict node 1; the objects on the way
/// to the fields are the nodes after them.
const ROOTS: usize = 2;

struct Slot {
    /// Group number in the extraction program.
    group: usize,
    /// 0: under data, 1: under metadata.
    root: usize,
    /// The keys of the objects on the way to the field, below the root (for `walk`).
    parents: Vec<Py<PyString>>,
    /// Nodes on the way to the field, outermost first (each made when missing).
    path: Vec<usize>,
    /// The node that holds the field.
    holder: usize,
    leaf: Py<PyString>,
    conv: u8,
    converter: Option<PyObject>,
}

#[pyclass(frozen, module = "logpipe_native")]
pub struct PlanMatcher {
    gate: regex::Regex,
    regex: Regex,
    /// The program for ASCII texts (see `matcher::ascii_extraction`).
    ascii: Option<Regex>,
    /// Per node after the roots: (the node holding it, its key).
    nodes: Vec<(usize, Py<PyString>)>,
    slots: Vec<Slot>,
    /// Top-level keys of the captures, under data and under metadata.
    data_roots: Vec<Py<PyString>>,
    meta_roots: Vec<Py<PyString>>,
    /// The filter's constant `add_field` entries (root, keys, value) and `add_tag`
    /// tags, applied after the captures (see `act`).
    fields: Vec<(usize, Vec<Py<PyString>>, PyObject)>,
    tags: Vec<Py<PyString>>,
    /// Capture locations to reuse: making them allocates PCRE2's match data and
    /// match context, a fair part of a short match.
    spare: Mutex<Vec<CaptureLocations>>,
    /// Whether an event that already holds some of the captures' top-level data
    /// fields is stored here too, by the plan's general rules (`walk`): only for
    /// plans that overwrite nothing.
    walk: bool,
    /// The text captures' strings, made once per text that comes back (see
    /// textreuse.rs); None when turned off.
    reuse: Option<Mutex<TextReuse>>,
}

/// Ruby's `to_i` and Python's `int()` agree on an optional sign and ASCII digits.
fn plain_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()
}

/// Digits with an optional fraction: Rust's parse and Python's `float()` both
/// round such text to the nearest double, so they give the same number.
fn plain_float(text: &str) -> Option<f64> {
    if text.is_empty() || text.len() > 24 {
        return None;
    }
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !frac.map_or(true, digits) {
        return None;
    }
    text.parse::<f64>().ok()
}

#[pymethods]
impl PlanMatcher {
    /// `slots`: per capture in plan order, (group number, root: 0 data / 1
    /// metadata, keys below the root, conversion: 0 text / 1 int / 2 float /
    /// 3 call, the plan's converter or None).
    ///
    /// `fields` and `tags`: the filter's `add_field` entries, each a constant at a
    /// fixed path (root, keys, value), none a prefix of another or under `tags`,
    /// and its `add_tag` tags, applied after the captures of a fresh event.
    ///
    /// `walk`: the plan overwrites no field, so an event holding some of the
    /// captures' top-level data fields (none under metadata) may be stored here
    /// too, by the plan's general rules (see `walk`).
    ///
    /// `reuse_texts`: hand out one string object per text that comes back in a
    /// text capture (textreuse.rs) instead of a new one each time.
    #[new]
    #[pyo3(signature = (gate_pattern, extract_pattern, slots, fields = Vec::new(), tags = Vec::new(), walk = false,
                        reuse_texts = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(py: Python<'_>, gate_pattern: &str, extract_pattern: &str,
           slots: Vec<(usize, u8, Vec<String>, u8, Option<PyObject>)>,
           fields: Vec<(u8, Vec<String>, PyObject)>, tags: Vec<String>, walk: bool,
           reuse_texts: bool) -> PyResult<Self> {
        let fields = fields.into_iter().map(|(root, keys, value)| {
            if root > 1 || keys.is_empty() {
                return Err(PyValueError::new_err("malformed add_field entry"));
            }
            Ok((root as usize, keys.iter().map(|k| PyString::intern_bound(py, k).unbind()).collect(), value))
        }).collect::<PyResult<Vec<_>>>()?;
        let tags = tags.iter().map(|t| PyString::intern_bound(py, t).unbind()).collect();
        let regex = extraction(extract_pattern, None)?;
        let mut prefixes: Vec<(u8, Vec<String>)> = Vec::new();
        let mut nodes: Vec<(usize, Py<PyString>)> = Vec::new();
        let mut data_roots: Vec<Py<PyString>> = Vec::new();
        let mut meta_roots: Vec<Py<PyString>> = Vec::new();
        let mut seen_roots: Vec<(u8, String)> = Vec::new();
        let mut out = Vec::with_capacity(slots.len());
        for (group, root, keys, conv, converter) in slots {
            if group >= regex.captures_len() {
                return Err(PyValueError::new_err(format!("no group {group} in the expression")));
            }
            if root > 1 || keys.is_empty() || conv > CALL || (conv != TEXT && converter.is_none()) {
                return Err(PyValueError::new_err("malformed capture slot"));
            }
            if !seen_roots.iter().any(|(r, k)| *r == root && *k == keys[0]) {
                seen_roots.push((root, keys[0].clone()));
                let key = PyString::intern_bound(py, &keys[0]).unbind();
                if root == 0 { data_roots.push(key) } else { meta_roots.push(key) }
            }
            let mut holder = root as usize;
            let mut path = Vec::new();
            for n in 1..keys.len() {
                let prefix = (root, keys[..n].to_vec());
                let id = match prefixes.iter().position(|p| *p == prefix) {
                    Some(i) => i + ROOTS,
                    None => {
                        prefixes.push(prefix);
                        nodes.push((holder, PyString::intern_bound(py, &keys[n - 1]).unbind()));
                        prefixes.len() - 1 + ROOTS
                    }
                };
                path.push(id);
                holder = id;
            }
            let leaf = PyString::intern_bound(py, &keys[keys.len() - 1]).unbind();
            let parents = keys[..keys.len() - 1].iter().map(|k| PyString::intern_bound(py, k).unbind()).collect();
            out.push(Slot { group, root: root as usize, parents, path, holder, leaf, conv, converter });
        }
        let ascii = ascii_extraction(extract_pattern, None);
        let reuse = reuse_texts.then(|| Mutex::new(TextReuse::new(out.len())));
        Ok(PlanMatcher { gate: gate(gate_pattern)?, regex, ascii, nodes, slots: out, data_roots, meta_roots,
                         fields, tags, spare: Mutex::new(Vec::new()), walk, reuse })
    }

    /// Match `text`. None: no match. True: the captures are stored in `data` and
    /// `meta` (neither held any of their top-level fields), and so are the
    /// filter's fields and tags. False: the captures are stored, the fields and
    /// tags are left to the caller (something other than an object or a list is
    /// where they go). Otherwise the capture
    /// texts (None for a group that took no part), for the plan to store. Raises
    /// ValueError when PCRE2 gives up or the text cannot be UTF-8, as
    /// `Matcher.search` does, before anything is stored.
    fn search_into<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>, data: &Bound<'py, PyAny>,
                        meta: &Bound<'py, PyAny>) -> PyResult<PyObject> {
        Ok(match self.outcome(py, text, data, meta)? {
            Outcome::NoMatch => py.None(),
            Outcome::Stored(done) => done.into_py(py),
            Outcome::Groups(groups) => groups,
        })
    }
}

/// What `search_into` found and did.
enum Outcome {
    NoMatch,
    /// The captures are stored; true: the filter's fields and tags too.
    Stored(bool),
    /// The capture texts, for the plan to store.
    Groups(PyObject),
}

impl PlanMatcher {
    fn outcome<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>, data: &Bound<'py, PyAny>,
                    meta: &Bound<'py, PyAny>) -> PyResult<Outcome> {
        let text = text.to_str()?;
        if !self.gate.is_match(text) {
            return Ok(Outcome::NoMatch);
        }
        let mut locs = match self.spare.lock() {
            Ok(mut spare) => spare.pop(),
            Err(_) => None,
        }.unwrap_or_else(|| self.regex.capture_locations());
        let stored = self.store(py, text, &mut locs, data, meta);
        if let Ok(mut spare) = self.spare.lock() {
            if spare.len() < 4 {
                spare.push(locs);
            }
        }
        stored
    }
}

impl PlanMatcher {
    fn store<'py>(&self, py: Python<'py>, text: &str, locs: &mut CaptureLocations, data: &Bound<'py, PyAny>,
                  meta: &Bound<'py, PyAny>) -> PyResult<Outcome> {
        match program(&self.regex, &self.ascii, text).captures_read(locs, text.as_bytes()) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(Outcome::NoMatch),
            Err(e) => return Err(PyValueError::new_err(e.to_string())),
        }
        let fresh = match (data.downcast_exact::<PyDict>(), meta.downcast_exact::<PyDict>()) {
            (Ok(d), Ok(m)) => {
                let mut clear = true;
                for key in &self.data_roots {
                    if d.contains(key.bind(py))? { clear = false; break; }
                }
                if clear {
                    for key in &self.meta_roots {
                        if m.contains(key.bind(py))? { clear = false; break; }
                    }
                }
                if clear { Some((d, m)) } else { None }
            }
            _ => None,
        };
        let Some((d, m)) = fresh else {
            if let Some(done) = self.walk(py, text, &*locs, data, meta)? {
                return Ok(Outcome::Stored(done));
            }
            let items = self.slots.iter().map(|s| match locs.get(s.group) {
                Some((start, end)) => PyString::new_bound(py, &text[start..end]).into_any(),
                None => py.None().into_bound(py),
            });
            return Ok(Outcome::Groups(PyTuple::new_bound(py, items).into_any().unbind()));
        };
        let mut made: Vec<Option<Bound<'py, PyDict>>> = vec![None; self.nodes.len() + ROOTS];
        made[0] = Some(d.clone());
        made[1] = Some(m.clone());
        let mut reuse = self.reuse.as_ref().and_then(|r| r.try_lock().ok());
        for (n, slot) in self.slots.iter().enumerate() {
            let Some((start, end)) = locs.get(slot.group) else { continue };
            if start == end {
                continue;
            }
            let value = self.value(py, n, slot, &text[start..end], reuse.as_deref_mut())?;
            for &id in &slot.path {
                if made[id].is_none() {
                    let (holder, key) = &self.nodes[id - ROOTS];
                    let child = PyDict::new_bound(py);
                    made[*holder].as_ref().expect("holder made first").set_item(key.bind(py), &child)?;
                    made[id] = Some(child);
                }
            }
            made[slot.holder].as_ref().expect("holder made").set_item(slot.leaf.bind(py), value)?;
        }
        Ok(Outcome::Stored(self.act(py, d, m)?))
    }

    /// A capture's stored value: its text (the string made before for the same
    /// text, when `reuse` has it), or the text converted.
    fn value<'py>(&self, py: Python<'py>, n: usize, slot: &Slot, piece: &str,
                  reuse: Option<&mut TextReuse>) -> PyResult<Bound<'py, PyAny>> {
        let number = match slot.conv {
            TEXT => return Ok(match reuse {
                Some(reuse) => reuse.text(py, n, piece).into_any(),
                None => PyString::new_bound(py, piece).into_any(),
            }),
            INT => plain_int(piece).map(|n| n.into_py(py).into_bound(py)),
            FLOAT => plain_float(piece).map(|x| PyFloat::new_bound(py, x).into_any()),
            _ => None,
        };
        Ok(match number {
            Some(number) => number,
            None => match &slot.converter {
                Some(convert) => convert.bind(py).call1((PyString::new_bound(py, piece),))?,
                None => return Err(PyValueError::new_err("no converter for a capture")),
            },
        })
    }

    /// The captures of a matched event that holds some of their top-level data
    /// fields, stored by the plan's general rules (logpipe/filters/grok/capture.py
    /// `_generate`, without overwrite): per capture that took part and is not
    /// empty, in capture order, each object on the way is followed when it is a
    /// dict, and anything else there (absent, null, text, a number, a list) is
    /// replaced by a new object; at the field, an absent or null value is set, a
    /// list gets the value appended, a text becomes `[text, value]`, anything else
    /// stays. Some(true): stored and no actions to apply; Some(false): stored,
    /// actions left to the caller; None: nothing stored, the caller's plan does it
    /// (not a `walk` matcher, dicts not plain, a metadata root present, or a dict
    /// subclass on the way, whose methods the plan's code would call).
    fn walk<'py>(&self, py: Python<'py>, text: &str, locs: &CaptureLocations, data: &Bound<'py, PyAny>,
                 meta: &Bound<'py, PyAny>) -> PyResult<Option<bool>> {
        if !self.walk {
            return Ok(None);
        }
        let (Ok(d), Ok(m)) = (data.downcast_exact::<PyDict>(), meta.downcast_exact::<PyDict>()) else {
            return Ok(None);
        };
        for key in &self.meta_roots {
            if m.contains(key.bind(py))? {
                return Ok(None);
            }
        }
        // Before any change: no dict subclass on the way (writes below only ever
        // add plain dicts, and no capture's field is on another's way).
        for slot in &self.slots {
            if slot.root != 0 {
                continue;
            }
            let mut node = d.clone();
            for key in &slot.parents {
                let Some(child) = node.get_item(key.bind(py))? else { break };
                match child.downcast_exact::<PyDict>() {
                    Ok(child) => node = child.clone(),
                    Err(_) if child.is_instance_of::<PyDict>() => return Ok(None),
                    Err(_) => break,
                }
            }
        }
        let mut reuse = self.reuse.as_ref().and_then(|r| r.try_lock().ok());
        for (n, slot) in self.slots.iter().enumerate() {
            let Some((start, end)) = locs.get(slot.group) else { continue };
            if start == end {
                continue;
            }
            let value = self.value(py, n, slot, &text[start..end], reuse.as_deref_mut())?;
            let mut node = if slot.root == 0 { d.clone() } else { m.clone() };
            for key in &slot.parents {
                let key = key.bind(py);
                node = match node.get_item(key)?.map(|c| c.downcast_into_exact::<PyDict>()) {
                    Some(Ok(child)) => child,
                    _ => {
                        let child = PyDict::new_bound(py);
                        node.set_item(key, &child)?;
                        child
                    }
                };
            }
            let leaf = slot.leaf.bind(py);
            match node.get_item(leaf)? {
                None => node.set_item(leaf, value)?,
                Some(old) if old.is_none() => node.set_item(leaf, value)?,
                Some(old) => {
                    if let Ok(list) = old.downcast_exact::<PyList>() {
                        list.append(value)?;
                    } else if old.is_exact_instance_of::<PyString>() {
                        node.set_item(leaf, PyList::new_bound(py, [old.clone(), value]))?;
                    }
                }
            }
        }
        Ok(Some(self.fields.is_empty() && self.tags.is_empty()))
    }

    /// The filter's `add_field` and `add_tag` after the captures, as the common
    /// actions do them (logpipe/filters/common.py `field_adder`, Event.add_tag):
    /// objects and nulls on the way are followed or replaced by new objects, an
    /// existing value becomes a list or gets appended to, a tag is added once.
    /// Anything else on the way is `_add_value`'s to handle: then nothing is done
    /// here and the answer is false (checked before the first change, and no
    /// entry writes where another one reads).
    fn act<'py>(&self, py: Python<'py>, data: &Bound<'py, PyDict>, meta: &Bound<'py, PyDict>) -> PyResult<bool> {
        if self.fields.is_empty() && self.tags.is_empty() {
            return Ok(true);
        }
        let tags_key = pyo3::intern!(py, "tags");
        for (root, keys, _) in &self.fields {
            let mut node = if *root == 0 { data.clone() } else { meta.clone() };
            for key in &keys[..keys.len() - 1] {
                match node.get_item(key.bind(py))? {
                    None => break,
                    Some(child) if child.is_none() => break,
                    Some(child) => match child.downcast_exact::<PyDict>() {
                        Ok(child) => node = child.clone(),
                        Err(_) => return Ok(false),
                    },
                }
            }
        }
        if !self.tags.is_empty() {
            if let Some(current) = data.get_item(tags_key)? {
                if !current.is_none() && !current.is_exact_instance_of::<PyList>() {
                    return Ok(false);
                }
            }
        }
        for (root, keys, value) in &self.fields {
            let mut node = if *root == 0 { data.clone() } else { meta.clone() };
            for key in &keys[..keys.len() - 1] {
                let key = key.bind(py);
                node = match node.get_item(key)?.and_then(|c| c.downcast_into_exact::<PyDict>().ok()) {
                    Some(child) => child,
                    None => {
                        let child = PyDict::new_bound(py);
                        node.set_item(key, &child)?;
                        child
                    }
                };
            }
            let leaf = keys[keys.len() - 1].bind(py);
            match node.get_item(leaf)? {
                None => node.set_item(leaf, value.bind(py))?,
                Some(current) => match current.downcast::<PyList>() {
                    Ok(list) => list.append(value.bind(py))?,
                    Err(_) => node.set_item(leaf, PyList::new_bound(py, [current.clone(), value.bind(py).clone()]))?,
                },
            }
        }
        if !self.tags.is_empty() {
            let list = match data.get_item(tags_key)?.and_then(|c| c.downcast_into_exact::<PyList>().ok()) {
                Some(list) => list,
                None => {
                    let list = PyList::empty_bound(py);
                    data.set_item(tags_key, &list)?;
                    list
                }
            };
            for tag in &self.tags {
                let tag = tag.bind(py);
                if !list.contains(tag)? {
                    list.append(tag)?;
                }
            }
        }
        Ok(true)
    }
}

/// The grok filter's single-field loop (logpipe/filters/grok/filter.py
/// `_single_loop`) over a whole batch: per event, the field's text read through
/// plain dicts and each expression's `PlanMatcher` tried in order, as the loop
/// does, with no Python in between for the events the matchers finish.
#[pyclass(frozen, module = "logpipe_native")]
pub struct PlanBatch {
    matchers: Vec<Py<PlanMatcher>>,
    /// The field's keys under the event's data.
    path: Vec<Py<PyString>>,
}

/// What the caller still has to do for an event (the second item of each entry
/// `run` answers).
const MATCHED: u8 = 0;
const GROUPS: u8 = 1;
const FAILED: u8 = 2;
const PYTHON: u8 = 3;
const VALUE_ERROR: u8 = 4;

#[pymethods]
impl PlanBatch {
    #[new]
    fn new(py: Python<'_>, matchers: Vec<Py<PlanMatcher>>, path: Vec<String>) -> PyResult<Self> {
        if matchers.is_empty() || path.is_empty() {
            return Err(PyValueError::new_err("no expressions or an empty field path"));
        }
        let path = path.iter().map(|k| PyString::intern_bound(py, k).unbind()).collect();
        Ok(PlanBatch { matchers, path })
    }

    /// Run the matchers over `events`. The answer: (entries, error). An entry
    /// (position, what, expression, groups) is an event the caller finishes, in
    /// order: 0 matched (stored, the filter's actions still to apply; only
    /// reported when `report_matched`), 1 matched by expression `expression`
    /// whose plan stores `groups`, 2 matched by none, 3 the Python loop's (the
    /// field is not a text reached through plain dicts), 4 the Python loop's from
    /// expression `expression` on, whose matcher raised ValueError. Events that are not reported are
    /// finished: stored, with the actions when the matchers apply them. `error`:
    /// an exception other than ValueError from a matcher (None when there was
    /// none); it stops the run at its event, which is not reported, and the
    /// caller raises it after finishing the entries, as the loop would have.
    fn run<'py>(&self, py: Python<'py>, events: &Bound<'py, PyList>, report_matched: bool)
                -> PyResult<(Vec<(usize, u8, usize, PyObject)>, PyObject)> {
        let data_attr = pyo3::intern!(py, "data");
        let meta_attr = pyo3::intern!(py, "metadata");
        let (last, parents) = self.path.split_last().expect("a path");
        let mut entries = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let data = event.getattr(data_attr)?;
            let text = match data.downcast_exact::<PyDict>() {
                Ok(d) => {
                    let mut node = d.clone();
                    let mut plain = true;
                    for key in parents {
                        match node.get_item(key.bind(py))?.map(|c| c.downcast_into_exact::<PyDict>()) {
                            Some(Ok(child)) => node = child,
                            _ => { plain = false; break; }
                        }
                    }
                    if plain {
                        node.get_item(last.bind(py))?.and_then(|v| v.downcast_into_exact::<PyString>().ok())
                    } else {
                        None
                    }
                }
                Err(_) => None,
            };
            let Some(text) = text else {
                entries.push((i, PYTHON, 0, py.None()));
                continue;
            };
            let meta = event.getattr(meta_attr)?;
            let mut found = None;
            for (k, matcher) in self.matchers.iter().enumerate() {
                match matcher.get().outcome(py, &text, &data, &meta) {
                    Ok(Outcome::NoMatch) => continue,
                    Ok(outcome) => { found = Some((k, Ok(outcome))); break; }
                    Err(e) if e.is_instance_of::<PyValueError>(py) => {
                        found = Some((k, Err(None)));
                        break;
                    }
                    Err(e) => { found = Some((k, Err(Some(e)))); break; }
                }
            }
            match found {
                None => entries.push((i, FAILED, 0, py.None())),
                Some((_, Ok(Outcome::Stored(true)))) => {
                    if report_matched {
                        entries.push((i, MATCHED, 0, py.None()));
                    }
                }
                Some((_, Ok(Outcome::Stored(false)))) => entries.push((i, MATCHED, 0, py.None())),
                Some((k, Ok(Outcome::Groups(groups)))) => entries.push((i, GROUPS, k, groups)),
                Some((_, Ok(Outcome::NoMatch))) => unreachable!("no match is not found"),
                Some((k, Err(None))) => entries.push((i, VALUE_ERROR, k, py.None())),
                Some((_, Err(Some(e)))) => return Ok((entries, e.into_value(py).into_any())),
            }
        }
        Ok((entries, py.None()))
    }
}
