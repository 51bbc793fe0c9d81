//! Field columns for the classify filter (logpipe/filters/classify/fields.py).
//!
//! The classifier reads about twenty fields of every event, most of them absent,
//! before it can tell that an event shows nothing. In Python each read is a
//! method call; here one call reads every field of a whole batch and hands back
//! one tuple per field (a column), which is what the filter works on.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

/// `columns[i][j]`: field `paths[i]` of event `j`, walked from `event.data` through
/// plain dicts (`type(x) is dict`) with `dict.get`, None where a key is missing or
/// the walk meets something else, as `fields_reader` reads it. `shared[i]` is how
/// many leading keys path `i` has in common with path `i - 1` (0 for the first):
/// those objects are not looked up again.
#[pyfunction]
pub fn classify_columns<'py>(py: Python<'py>, events: &Bound<'py, PyList>, paths: Vec<Vec<String>>,
                             shared: Vec<usize>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    // Interned, as the keys Python code writes are: a lookup then finds its key by
    // identity, without reading the key text (which is seldom in the CPU's caches).
    let keys: Vec<Vec<Bound<'py, PyString>>> = paths
        .iter()
        .map(|path| path.iter().map(|key| PyString::intern_bound(py, key)).collect())
        .collect();
    if shared.len() != keys.len() || keys.iter().any(|path| path.is_empty())
        || shared.iter().zip(&keys).enumerate().any(|(i, (&s, path))| {
            s >= path.len() || (i == 0 && s != 0) || (i > 0 && s > keys[i - 1].len() - 1)
        })
    {
        return Err(pyo3::exceptions::PyValueError::new_err("bad paths or shared prefixes"));
    }
    let n = events.len();
    let mut columns: Vec<Vec<PyObject>> = (0..keys.len()).map(|_| Vec::with_capacity(n)).collect();
    let depth = keys.iter().map(Vec::len).max().unwrap_or(0);
    // objects[d]: the object at depth d of the previous path (objects[0]: the data);
    // reached: how many of them the previous walk got to.
    let mut objects: Vec<Option<Bound<'py, PyDict>>> = vec![None; depth];
    for event in events.iter() {
        let data = event.getattr(intern!(py, "data"))?;
        objects[0] = Some(data.downcast_into::<PyDict>()?);
        let mut reached = 1;
        for ((path, column), &common) in keys.iter().zip(columns.iter_mut()).zip(&shared) {
            // Keep the objects of the shared prefix that the previous walk reached.
            let mut level = (common + 1).min(reached);
            if level < common + 1 {
                // The shared prefix itself ended before its end: so does this path.
                column.push(py.None());
                reached = level;
                continue;
            }
            let mut value: Option<Bound<'py, PyAny>> = None;
            let last = path.len() - 1;
            loop {
                let parent = objects[level - 1].as_ref().expect("reached");
                let found = parent.get_item(&path[level - 1])?;
                if level - 1 == last {
                    value = found;
                    break;
                }
                match found {
                    Some(child) if child.is_exact_instance_of::<PyDict>() => {
                        objects[level] = Some(child.downcast_into::<PyDict>()?);
                        level += 1;
                    }
                    _ => break,
                }
            }
            reached = level;
            column.push(value.map_or_else(|| py.None(), Bound::unbind));
        }
    }
    Ok(columns.into_iter().map(|column| PyTuple::new_bound(py, column)).collect())
}

/// Writes what the classify filter writes for events that show nothing, and
/// returns the indices of the other events, which the filter classifies itself.
///
/// Event `j` needs the full path when `j` is in `marked`, when its value in one of
/// the `tests` columns is in that test's set, or when its value in one of the
/// `present` columns is not None. Any other event gets, as `ClassifyFilter._write`
/// gives it: an `event` object (a new one when it is missing or not a dict), `web`
/// added to `event.category` when the event has `http` or `url`, `event.kind`
/// `event` unless a kind is there, and `outcomes[j]` (None: nothing) as
/// `event.outcome` when that is missing, None or `unknown`. Membership and equality
/// are Python's own (`in`, `==`), so an unhashable value raises TypeError as the
/// Python code would, before anything is written.
#[pyfunction]
#[pyo3(signature = (events, marked, tests, present, outcomes))]
pub fn classify_quiet<'py>(py: Python<'py>, events: &Bound<'py, PyList>, marked: Vec<usize>,
                           tests: Vec<(Bound<'py, PyTuple>, Bound<'py, PyAny>)>,
                           present: Vec<Bound<'py, PyTuple>>, outcomes: Option<Bound<'py, PyList>>)
                           -> PyResult<Vec<usize>> {
    let n = events.len();
    let mut full = vec![false; n];
    for j in marked {
        if j < n {
            full[j] = true;
        }
    }
    for (column, set) in &tests {
        for (j, value) in column.iter().enumerate().take(n) {
            if !full[j] && set.contains(value)? {
                full[j] = true;
            }
        }
    }
    for column in &present {
        for (j, value) in column.iter().enumerate().take(n) {
            if !value.is_none() {
                full[j] = true;
            }
        }
    }
    let k_event = intern!(py, "event");
    let k_http = intern!(py, "http");
    let k_url = intern!(py, "url");
    let k_category = intern!(py, "category");
    let k_kind = intern!(py, "kind");
    let k_outcome = intern!(py, "outcome");
    let web = intern!(py, "web");
    let replaceable = PyTuple::new_bound(py, [py.None(), intern!(py, "unknown").clone().into_any().unbind()]);
    let mut out = Vec::new();
    for (j, event) in events.iter().enumerate() {
        if full[j] {
            out.push(j);
            continue;
        }
        let data = event.getattr(intern!(py, "data"))?;
        let data = data.downcast::<PyDict>()?;
        let obj = match data.get_item(k_event)? {
            Some(found) if found.is_exact_instance_of::<PyDict>() => found.downcast_into::<PyDict>()?,
            _ => {
                let made = PyDict::new_bound(py);
                data.set_item(k_event, &made)?;
                made
            }
        };
        let has = |key: &Bound<'py, PyString>| -> PyResult<bool> {
            Ok(data.get_item(key)?.map_or(false, |v| !v.is_none()))
        };
        if has(k_http)? || has(k_url)? {
            match obj.get_item(k_category)? {
                None => obj.set_item(k_category, PyList::new_bound(py, [web]))?,
                Some(current) if current.is_none() => obj.set_item(k_category, PyList::new_bound(py, [web]))?,
                Some(current) => {
                    let list = if current.is_exact_instance_of::<PyList>() {
                        current.downcast_into::<PyList>()?
                    } else {
                        let list = PyList::new_bound(py, [current]);
                        obj.set_item(k_category, &list)?;
                        list
                    };
                    if !list.contains(web)? {
                        list.append(web)?;
                    }
                }
            }
        }
        if !obj.contains(k_kind)? {
            obj.set_item(k_kind, k_event)?;
        }
        if let Some(outcomes) = &outcomes {
            let outcome = outcomes.get_item(j)?;
            if !outcome.is_none() {
                let before = obj.get_item(k_outcome)?.map_or_else(|| py.None().into_bound(py), |v| v);
                if replaceable.contains(before)? {
                    obj.set_item(k_outcome, outcome)?;
                }
            }
        }
    }
    Ok(out)
}
