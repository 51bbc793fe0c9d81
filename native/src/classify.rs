//! Field columns for the classify filter (logpipe/filters/classify/fields.py).
//!
//! The classifier reads about twenty fields of every event, most of them absent,
//! before it can tell that an event shows nothing. In Python each read is a
//! method call; here one call reads every field of a whole batch and hands back
//! one tuple per field (a column), which is what the filter works on.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyList, PySet, PyString, PyTuple};

/// `columns[i][j]`: field `paths[i]` of event `j`, walked from `event.data` through
/// plain dicts (`type(x) is dict`) with `dict.get`, None where a key is missing or
/// the walk meets something else, as `fields_reader` reads it. `shared[i]` is how
/// many leading keys path `i` has in common with path `i - 1` (0 for the first):
/// those objects are not looked up again.
#[pyfunction]
pub fn classify_columns<'py>(py: Python<'py>, events: &Bound<'py, PyList>, paths: Vec<Vec<String>>,
                             shared: Vec<usize>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    read_columns(py, events, &paths, &shared, |_, _, _| Ok(()))
}

/// The columns of `classify_columns`; `after(j, data, columns)` runs once event `j`
/// is read (its values are in place `j` of the columns), while its objects are
/// still in the CPU's caches.
fn read_columns<'py>(py: Python<'py>, events: &Bound<'py, PyList>, paths: &[Vec<String>], shared: &[usize],
                     mut after: impl FnMut(usize, &Bound<'py, PyDict>, &[Bound<'py, PyTuple>]) -> PyResult<()>)
                     -> PyResult<Vec<Bound<'py, PyTuple>>> {
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
    // The columns are made at their size and filled in place: each value is taken
    // once (one reference, straight into its tuple), not collected and copied.
    let columns: Vec<Bound<'py, PyTuple>> = (0..keys.len())
        .map(|_| unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(n as ffi::Py_ssize_t))
                .map(|tuple| tuple.downcast_into_unchecked::<PyTuple>())
        })
        .collect::<PyResult<_>>()?;
    let depth = keys.iter().map(Vec::len).max().unwrap_or(0);
    // objects[d]: the object at depth d of the previous path (objects[0]: the data);
    // reached: how many of them the previous walk got to.
    let mut objects: Vec<Option<Bound<'py, PyDict>>> = vec![None; depth];
    for (j, event) in events.iter().enumerate() {
        if j >= n {
            break; // the list grew meanwhile: the columns have n places
        }
        let data = event.getattr(intern!(py, "data"))?.downcast_into::<PyDict>()?;
        objects[0] = Some(data.clone());
        let mut reached = 1;
        for ((path, column), &common) in keys.iter().zip(&columns).zip(shared) {
            // Keep the objects of the shared prefix that the previous walk reached.
            let mut level = (common + 1).min(reached);
            let mut value: *mut ffi::PyObject = std::ptr::null_mut();
            if level == common + 1 {
                let last = path.len() - 1;
                loop {
                    let parent = objects[level - 1].as_ref().expect("reached");
                    // Safety: a live dict and key, with the GIL held; the result is a
                    // borrowed reference, taken (or dropped) before Python code runs.
                    let found = unsafe { ffi::PyDict_GetItemWithError(parent.as_ptr(), path[level - 1].as_ptr()) };
                    if found.is_null() {
                        if let Some(err) = PyErr::take(py) {
                            return Err(err);
                        }
                        break;
                    }
                    if level - 1 == last {
                        value = found;
                        break;
                    }
                    // Safety: `found` is live (borrowed from its parent just now).
                    let child = unsafe { Bound::from_borrowed_ptr(py, found) };
                    if !child.is_exact_instance_of::<PyDict>() {
                        break;
                    }
                    objects[level] = Some(unsafe { child.downcast_into_unchecked::<PyDict>() });
                    level += 1;
                }
            }
            // (When the shared prefix itself ended before its end, so does this path.)
            reached = level;
            if value.is_null() {
                value = unsafe { ffi::Py_None() };
            }
            // Safety: `value` is live; SetItem steals the reference taken here, into a
            // place of a new tuple that holds nothing yet.
            unsafe {
                ffi::Py_INCREF(value);
                ffi::PyTuple_SetItem(column.as_ptr(), j as ffi::Py_ssize_t, value);
            }
        }
        after(j, &data, &columns)?;
    }
    if events.len() < n {
        return Err(pyo3::exceptions::PyRuntimeError::new_err("the batch changed while it was read"));
    }
    Ok(columns)
}

/// What a quiet write did to an event (the bits of `classify_read`'s flags).
const WRITTEN: u8 = 1;
const MADE_EVENT: u8 = 2;
const MADE_CATEGORY: u8 = 4;
const MADE_KIND: u8 = 8;
const MADE_OUTCOME: u8 = 16;
const MADE_SEVERITY: u8 = 32;

/// Reads the columns as `classify_columns` does and, while each event is still in
/// the CPU's caches, writes what the classify filter writes for an event that shows
/// nothing when nothing read so far says otherwise; returns the columns and one
/// flag byte per event: 0 when it was not written, else `WRITTEN` and which keys
/// the write added (`MADE_*`: the filter puts keys added later in their place).
///
/// An event is written unless: the `action` column holds a value; or errors are
/// classified (`parsed` given) and its `level` is not None nor in `quiet_levels`,
/// or its `status` is neither in `parsed` (statuses known to parse below 400:
/// their outcome) nor in `unparsed` (statuses known not to parse: their outcome;
/// then an `errors` column holding a value also keeps it from being written).
/// Only ints and texts (exact types) are looked up.
///
/// `failed` (statuses known to fail: `(error class, severity)`) lets an event whose
/// status is one of them be written too, when it has a quiet level, no error field
/// and no action: as `ClassifyFilter._one` writes a failure with no detection, the
/// class at `category` (the path of `Event.set_path`; an event with a list or a
/// dict subclass on the way, or `tags` neither a list, None nor missing, is left
/// alone), the class as a tag when `tag_errors`, then `write_failure`. The filter decides later,
/// from the scans, which written events need its full path after all; what that
/// path writes on top of this write is what it would have written alone (see
/// logpipe/filters/classify/filter.py).
#[pyfunction]
#[pyo3(signature = (events, paths, shared, status, level, action, errors, quiet_levels, parsed, unparsed,
                    failed=None, category=Vec::new(), tag_errors=false))]
#[allow(clippy::too_many_arguments)]
pub fn classify_read<'py>(py: Python<'py>, events: &Bound<'py, PyList>, paths: Vec<Vec<String>>,
                          shared: Vec<usize>, status: usize, level: usize, action: usize, errors: Vec<usize>,
                          quiet_levels: Bound<'py, PyFrozenSet>, parsed: Option<Bound<'py, PyDict>>,
                          unparsed: Option<Bound<'py, PyDict>>, failed: Option<Bound<'py, PyDict>>,
                          category: Vec<String>, tag_errors: bool)
                          -> PyResult<(Vec<Bound<'py, PyTuple>>, Bound<'py, PyBytes>)> {
    let width = paths.len();
    let category: Vec<Bound<'py, PyString>> = category.iter().map(|key| PyString::intern_bound(py, key)).collect();
    let failed = if category.is_empty() { None } else { failed };
    if [status, level, action].iter().chain(&errors).any(|&i| i >= width) {
        return Err(pyo3::exceptions::PyValueError::new_err("a column index out of range"));
    }
    let mut flags = vec![0u8; events.len()];
    let none = unsafe { ffi::Py_None() };
    let columns = read_columns(py, events, &paths, &shared, |j, data, columns| {
        let at = |i: usize| unsafe { ffi::PyTuple_GetItem(columns[i].as_ptr(), j as ffi::Py_ssize_t) };
        if at(action) != none {
            return Ok(());
        }
        let mut outcome: Option<Bound<'py, PyAny>> = None;
        if let (Some(parsed), Some(unparsed)) = (&parsed, &unparsed) {
            // Safety: the values are borrowed from the columns, which hold them.
            let level_v = unsafe { Bound::from_borrowed_ptr(py, at(level)) };
            if !level_v.is_none() {
                if !level_v.is_exact_instance_of::<PyString>() || !quiet_levels.contains(&level_v)? {
                    return Ok(());
                }
            }
            let status_v = unsafe { Bound::from_borrowed_ptr(py, at(status)) };
            if !(status_v.is_none() || status_v.is_exact_instance_of::<PyString>()
                 || status_v.is_exact_instance_of::<pyo3::types::PyLong>()) {
                return Ok(());
            }
            if let Some(found) = get_any(py, parsed, &status_v)? {
                outcome = Some(found);
            } else if let Some(found) = get_any(py, unparsed, &status_v)? {
                if errors.iter().any(|&i| at(i) != none) {
                    return Ok(());
                }
                outcome = Some(found);
            } else if let Some(found) = match &failed {
                Some(failed) => get_any(py, failed, &status_v)?,
                None => None,
            } {
                if errors.iter().any(|&i| at(i) != none) {
                    return Ok(());
                }
                let (class, severity): (Bound<'py, PyAny>, Bound<'py, PyAny>) = found.extract()?;
                flags[j] = write_failure(py, data, &class, &severity, &category, tag_errors)?;
                return Ok(());
            } else {
                return Ok(());
            }
        }
        flags[j] = write_quiet(py, data, outcome.as_ref())?;
        Ok(())
    })?;
    flags.truncate(events.len().min(flags.len()));
    Ok((columns, PyBytes::new_bound(py, &flags)))
}

/// Writes what `ClassifyFilter._one` writes for a failure of error class `class`
/// with no detection (see `classify_read`), or nothing (0) when the event holds a
/// list or a dict subclass on the way to `category`, or `tags` that are neither a
/// list, None nor missing (those are left to the filter). In `_one`'s order: the
/// class at `category` (`Event.set_path`), the class as a tag, then the event
/// object: `web` when the event has `http` or `url`, the kind `event` unless one
/// is there, the severity (the larger when an int is there) and the outcome
/// `failure`. Returns `WRITTEN` and the `MADE_*` bits of the event object.
fn write_failure<'py>(py: Python<'py>, data: &Bound<'py, PyDict>, class: &Bound<'py, PyAny>,
                      severity: &Bound<'py, PyAny>, category: &[Bound<'py, PyString>], tag_errors: bool)
                      -> PyResult<u8> {
    let k_tags = intern!(py, "tags");
    // First what could stop the write, so that nothing is written then.
    let tags = get(py, data, k_tags)?;
    if tag_errors && !tags.as_ref().map_or(true, |t| t.is_none() || t.is_exact_instance_of::<PyList>()) {
        return Ok(0);
    }
    let mut cur = data.clone();
    let mut fresh = false; // from here on the path is made anew
    for key in &category[..category.len() - 1] {
        if fresh {
            break;
        }
        match get(py, &cur, key)? {
            Some(next) if next.is_exact_instance_of::<PyDict>() => cur = next.downcast_into::<PyDict>()?,
            Some(next) if next.is_instance_of::<PyList>() || next.is_instance_of::<PyDict>() => return Ok(0),
            _ => fresh = true,
        }
    }
    // Event.set_path: dicts made (or put in place of other values) on the way.
    let mut cur = data.clone();
    for key in &category[..category.len() - 1] {
        cur = match get(py, &cur, key)? {
            Some(next) if next.is_exact_instance_of::<PyDict>() => next.downcast_into::<PyDict>()?,
            _ => {
                let made = PyDict::new_bound(py);
                cur.set_item(key, &made)?;
                made
            }
        };
    }
    cur.set_item(&category[category.len() - 1], class)?;
    if tag_errors {
        // Event.add_tag (the tags read above are still what is there: set_path only
        // wrote under `category`, whose first key is not `tags`).
        let list = match get(py, data, k_tags)? {
            Some(list) if list.is_exact_instance_of::<PyList>() => list.downcast_into::<PyList>()?,
            _ => {
                let made = PyList::empty_bound(py);
                data.set_item(k_tags, &made)?;
                made
            }
        };
        if !list.contains(class)? {
            list.append(class)?;
        }
    }
    write_event(py, data, Some(severity), Some(intern!(py, "failure").as_any()))
}

/// Writes what `ClassifyFilter._write` writes for an event that shows nothing: an
/// `event` object (a new one when it is missing or not a dict), `web` added to
/// `event.category` when the event has `http` or `url`, `event.kind` `event` unless
/// a kind is there, and `outcome` (when given and not None) as `event.outcome` when
/// that is missing, None or `unknown`. Returns `WRITTEN` and the `MADE_*` bits.
fn write_quiet<'py>(py: Python<'py>, data: &Bound<'py, PyDict>, outcome: Option<&Bound<'py, PyAny>>) -> PyResult<u8> {
    write_event(py, data, None, outcome)
}

/// The event object of `write_quiet` and `write_failure`: with a `severity`, it is
/// written (the larger when an int is there) and the outcome (`failure`) always.
fn write_event<'py>(py: Python<'py>, data: &Bound<'py, PyDict>, severity: Option<&Bound<'py, PyAny>>,
                    outcome: Option<&Bound<'py, PyAny>>) -> PyResult<u8> {
    let k_event = intern!(py, "event");
    let k_category = intern!(py, "category");
    let k_kind = intern!(py, "kind");
    let k_outcome = intern!(py, "outcome");
    let web = intern!(py, "web");
    let unknown = intern!(py, "unknown");
    let mut bits = WRITTEN;
    let obj = match get(py, data, k_event)? {
        Some(found) if found.is_exact_instance_of::<PyDict>() => found.downcast_into::<PyDict>()?,
        before => {
            if before.is_none() {
                bits |= MADE_EVENT;
            }
            let made = PyDict::new_bound(py);
            data.set_item(k_event, &made)?;
            made
        }
    };
    let has = |key: &Bound<'py, PyString>| -> PyResult<bool> {
        Ok(get(py, data, key)?.map_or(false, |v| !v.is_none()))
    };
    if has(intern!(py, "http"))? || has(intern!(py, "url"))? {
        match get(py, &obj, k_category)? {
            None => {
                bits |= MADE_CATEGORY;
                obj.set_item(k_category, PyList::new_bound(py, [web]))?
            }
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
        bits |= MADE_KIND;
        obj.set_item(k_kind, k_event)?;
    }
    if let Some(severity) = severity {
        let k_severity = intern!(py, "severity");
        let value = match get(py, &obj, k_severity)? {
            None => {
                bits |= MADE_SEVERITY;
                severity.clone()
            }
            Some(before) if before.is_exact_instance_of::<pyo3::types::PyLong>() => {
                if before.gt(severity)? { before } else { severity.clone() }
            }
            Some(_) => severity.clone(),
        };
        obj.set_item(k_severity, value)?;
        if let Some(outcome) = outcome {
            if get(py, &obj, k_outcome)?.is_none() {
                bits |= MADE_OUTCOME;
            }
            obj.set_item(k_outcome, outcome)?;
        }
        return Ok(bits);
    }
    if let Some(outcome) = outcome {
        if !outcome.is_none() {
            // `obj.get("outcome") in (None, "unknown")`, as Python compares.
            let replace = match get(py, &obj, k_outcome)? {
                None => {
                    bits |= MADE_OUTCOME;
                    true
                }
                Some(before) if before.is_none() || before.is(unknown) => true,
                Some(before) => before.eq(py.None())? || before.eq(unknown)?,
            };
            if replace {
                obj.set_item(k_outcome, outcome)?;
            }
        }
    }
    Ok(bits)
}

/// Writes what the classify filter writes for events that show nothing, and
/// returns the indices of the other events, which the filter classifies itself.
///
/// Event `j` needs the full path when `j` is in `marked`, when its value in one of
/// the `tests` columns is in that test's set, or when its value in one of the
/// `present` columns is not None. Any other event gets what `write_quiet` writes,
/// with `outcomes[j]` (None: nothing) as its outcome, unless `done[j]` (the flags
/// of `classify_read`) says it was written already. Membership and equality are
/// Python's own (`in`, `==`), so an unhashable value raises TypeError as the
/// Python code would, before anything is written.
#[pyfunction]
#[pyo3(signature = (events, marked, tests, present, outcomes, done=None))]
pub fn classify_quiet<'py>(py: Python<'py>, events: &Bound<'py, PyList>, marked: Vec<usize>,
                           tests: Vec<(Bound<'py, PyTuple>, Bound<'py, PyAny>)>,
                           present: Vec<Bound<'py, PyTuple>>, outcomes: Option<Bound<'py, PyList>>,
                           done: Option<&[u8]>)
                           -> PyResult<Vec<usize>> {
    let n = events.len();
    let mut full = vec![false; n];
    for j in marked {
        if j < n {
            full[j] = true;
        }
    }
    for (column, set) in &tests {
        // Safety: the column is a tuple held by the caller; its items are borrowed for
        // the membership test only (the tuple cannot change meanwhile).
        let is_set = set.is_instance_of::<PySet>() || set.is_instance_of::<PyFrozenSet>();
        let contains = |value: *mut ffi::PyObject| -> PyResult<bool> {
            let found = unsafe {
                if is_set { ffi::PySet_Contains(set.as_ptr(), value) } else { ffi::PySequence_Contains(set.as_ptr(), value) }
            };
            if found < 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(found == 1)
        };
        // Most values of a sparse column are None: asked once.
        let none = unsafe { ffi::Py_None() };
        let mut none_in: Option<bool> = None;
        for j in 0..column.len().min(n) {
            if full[j] {
                continue;
            }
            let value = unsafe { ffi::PyTuple_GetItem(column.as_ptr(), j as ffi::Py_ssize_t) };
            if value.is_null() {
                return Err(PyErr::fetch(py));
            }
            let hit = if value == none {
                match none_in {
                    Some(known) => known,
                    None => {
                        let known = contains(value)?;
                        none_in = Some(known);
                        known
                    }
                }
            } else {
                contains(value)?
            };
            if hit {
                full[j] = true;
            }
        }
    }
    for column in &present {
        let none = unsafe { ffi::Py_None() };
        for j in 0..column.len().min(n) {
            let value = unsafe { ffi::PyTuple_GetItem(column.as_ptr(), j as ffi::Py_ssize_t) };
            if value.is_null() {
                return Err(PyErr::fetch(py));
            }
            if value != none {
                full[j] = true;
            }
        }
    }
    let k_data = intern!(py, "data");
    let mut out = Vec::new();
    for (j, event) in events.iter().enumerate() {
        if j >= n {
            break;
        }
        if full[j] {
            out.push(j);
            continue;
        }
        if done.map_or(false, |done| done.get(j).map_or(false, |&flag| flag != 0)) {
            continue;
        }
        let data = event.getattr(k_data)?;
        let data = data.downcast::<PyDict>()?;
        let outcome = match &outcomes {
            Some(outcomes) => Some(outcomes.get_item(j)?),
            None => None,
        };
        write_quiet(py, data, outcome.as_ref())?;
    }
    Ok(out)
}

/// `dict.get(key)` (a new reference, or None when the key is missing).
fn get<'py>(py: Python<'py>, dict: &Bound<'py, PyDict>, key: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
    get_any(py, dict, key.as_any())
}

/// `dict.get(key)` for any key (raising as Python would for an unhashable one).
fn get_any<'py>(py: Python<'py>, dict: &Bound<'py, PyDict>, key: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    // Safety: a live dict and key with the GIL held; the borrowed result is owned at once.
    unsafe {
        let found = ffi::PyDict_GetItemWithError(dict.as_ptr(), key.as_ptr());
        if found.is_null() {
            return match PyErr::take(py) {
                Some(err) => Err(err),
                None => Ok(None),
            };
        }
        Ok(Some(Bound::from_borrowed_ptr(py, found)))
    }
}

/// The rows where some column holds a value other than None, in order: the
/// events with an error field, which `ClassifyFilter._plan` checks for a status
/// that says nothing. Each column is a tuple or a list of one batch.
#[pyfunction]
pub fn classify_rows_present(columns: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<usize>> {
    let mut seen: Vec<bool> = Vec::new();
    let none = unsafe { ffi::Py_None() };
    for column in &columns {
        if let Ok(tuple) = column.downcast::<PyTuple>() {
            mark_present(&mut seen, tuple.iter_borrowed().map(|v| v.as_ptr() != none));
        } else if let Ok(list) = column.downcast::<PyList>() {
            mark_present(&mut seen, list.iter().map(|v| v.as_ptr() != none));
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err("columns are tuples or lists"));
        }
    }
    Ok(seen.iter().enumerate().filter_map(|(row, &here)| here.then_some(row)).collect())
}

fn mark_present(seen: &mut Vec<bool>, present: impl ExactSizeIterator<Item = bool>) {
    if seen.len() < present.len() {
        seen.resize(present.len(), false);
    }
    for (row, here) in present.enumerate() {
        seen[row] |= here;
    }
}
