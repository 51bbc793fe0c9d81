//! A fixed mutate `gsub` over a batch of events, in Rust.
//!
//! mutate's `gsub` substitutes with Python's `regex` module. For patterns whose
//! meaning is the same in Rust's `regex` crate (the Python side decides, from the
//! parse tree: literals, character classes, `.`, groups, alternation and
//! repetitions that cannot match the empty text; logpipe/filters/mutate_native.py)
//! and a literal replacement, the crate finds the same matches: leftmost, with
//! the same preference among alternatives and repetitions, and no empty matches
//! whose handling could differ. One call then reads, substitutes and writes the
//! field of every plain event of a batch; the others are handed back to the
//! Python path.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use regex::NoExpand;

#[pyclass(frozen, module = "logpipe_native")]
pub struct FixedGsub {
    regex: regex::Regex,
    replacement: String,
    /// The field's keys under the event's data (at least one).
    path: Vec<Py<PyString>>,
}

#[pymethods]
impl FixedGsub {
    /// `pattern` in the `regex` crate's syntax, `replacement` taken literally,
    /// `path` the keys of the field under the event's data.
    #[new]
    fn new(py: Python<'_>, pattern: &str, replacement: &str, path: Vec<String>) -> PyResult<Self> {
        if path.is_empty() {
            return Err(PyValueError::new_err("an empty field path"));
        }
        let regex = regex::RegexBuilder::new(pattern)
            .size_limit(8 << 20)
            .build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let path = path.iter().map(|k| PyString::intern_bound(py, k).unbind()).collect();
        Ok(FixedGsub { regex, replacement: replacement.to_owned(), path })
    }

    /// `text` with every match replaced. Raises ValueError for a text that cannot
    /// be UTF-8 (lone surrogates).
    fn sub<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyString>> {
        Ok(self.substituted(py, text)?.unwrap_or_else(|| text.clone()))
    }

    /// Substitute the field of each event in `events` whose way there is plain
    /// dicts and whose value is a text; an event whose field or a dict on the way
    /// is absent (or the value null) is left as it is. `memo` is the filter's
    /// memo of results (logpipe.core.memo.Generations, text -> substituted text),
    /// used and kept as the Python path does for texts of at most `remembered`
    /// characters. The answer: the positions of the events left to the Python
    /// path (anything else on the way or at the field, texts that cannot be
    /// UTF-8), in order.
    fn run<'py>(&self, py: Python<'py>, events: &Bound<'py, PyList>, memo: &Bound<'py, PyAny>,
                remembered: usize) -> PyResult<Vec<usize>> {
        let data_attr = pyo3::intern!(py, "data");
        let newer_attr = pyo3::intern!(py, "newer");
        let older_attr = pyo3::intern!(py, "older");
        let size: usize = memo.getattr(pyo3::intern!(py, "size"))?.extract()?;
        let mut newer = memo.getattr(newer_attr)?.downcast_into_exact::<PyDict>()?;
        let (last, parents) = self.path.split_last().expect("a path");
        let mut left = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let data = event.getattr(data_attr)?;
            let Ok(mut node) = data.downcast_into_exact::<PyDict>() else {
                left.push(i);
                continue;
            };
            let mut plain = true;
            let mut absent = false;
            for key in parents {
                match node.get_item(key.bind(py))? {
                    None => { absent = true; break; }
                    Some(child) => match child.downcast_into_exact::<PyDict>() {
                        Ok(child) => node = child,
                        Err(_) => { plain = false; break; }
                    },
                }
            }
            if absent {
                continue;
            }
            if !plain {
                left.push(i);
                continue;
            }
            let leaf = last.bind(py);
            let Some(value) = node.get_item(leaf)? else { continue };
            if value.is_none() {
                continue;
            }
            let Ok(text) = value.downcast_exact::<PyString>() else {
                left.push(i);
                continue;
            };
            if text.len()? > remembered {
                match self.substituted(py, text) {
                    Ok(Some(changed)) => node.set_item(leaf, changed)?,
                    Ok(None) => {}
                    Err(_) => left.push(i),
                }
                continue;
            }
            let changed = match newer.get_item(text)? {
                Some(found) => found,
                None => {
                    let older = memo.getattr(older_attr)?.downcast_into_exact::<PyDict>()?;
                    let found = match older.get_item(text)? {
                        Some(found) => found,
                        None => match self.substituted(py, text) {
                            Ok(Some(changed)) => changed.into_any(),
                            Ok(None) => text.clone().into_any(),
                            Err(_) => { left.push(i); continue; }
                        },
                    };
                    if newer.len() >= size {
                        memo.setattr(older_attr, &newer)?;
                        newer = PyDict::new_bound(py);
                        memo.setattr(newer_attr, &newer)?;
                    }
                    newer.set_item(text, &found)?;
                    found
                }
            };
            if !changed.is(text) && changed.ne(text)? {
                node.set_item(leaf, changed)?;
            }
        }
        Ok(left)
    }
}

impl FixedGsub {
    /// The substituted text, or None when nothing matched.
    fn substituted<'py>(&self, py: Python<'py>, text: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyString>>> {
        let s = text.to_str()?;
        Ok(match self.regex.replace_all(s, NoExpand(&self.replacement)) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(changed) if changed == s => None,
            std::borrow::Cow::Owned(changed) => Some(PyString::new_bound(py, &changed)),
        })
    }
}
