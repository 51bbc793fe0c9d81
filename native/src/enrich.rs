//! The remembered answers of geoip and useragent, put into a batch's events.
//!
//! Once the pipeline lets these filters share their remembered objects
//! (logpipe/core/sharing.py), the usual event costs a few dict operations: read
//! the address or the User-Agent text, find its answer among those remembered,
//! store the answer's object (or, for useragent, its keys) next to the text. In
//! Python those operations are a dozen lines of interpreter per event; here they
//! are the same C calls without the interpreter.
//!
//! Only that usual case is done here: an event whose answer is not remembered yet,
//! whose answer needs a tag, or whose objects are not plain dicts and strs is
//! listed for the filter's Python loop, which does exactly what it did before for
//! those events. The two are interchangeable per event: an event's result depends
//! only on its own fields and on the remembered answer for its text, which is the
//! same whichever loop reads it.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PyString, PyType};

use crate::pyobj::{get, is_dict, is_none, is_str};

/// The event's `data` when it is an exact dict (else None: the Python loop takes it).
fn data_of<'py>(event: &Bound<'py, PyAny>) -> Option<Bound<'py, PyDict>> {
    let data = event.getattr(intern!(event.py(), "data")).ok()?;
    if data.is_exact_instance_of::<PyDict>() {
        // Checked just above.
        Some(unsafe { data.downcast_into_unchecked::<PyDict>() })
    } else {
        None
    }
}

/// What happens to one event.
pub(crate) enum Step {
    /// Nothing to write (no parent object, no text, or a text the filter skips).
    Skip,
    /// Written here.
    Done,
    /// For the Python loop.
    Python,
}

/// Runs `step` on the data of each event of the batch and lists the events left to
/// the Python loop: those `step` leaves to it, and those whose data is not an
/// exact dict.
pub(crate) fn each_event<'py>(events: &Bound<'py, PyList>, mut step: impl FnMut(&Bound<'py, PyDict>) -> PyResult<Step>)
                   -> PyResult<Vec<usize>> {
    let mut rest = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let done = match data_of(&event) {
            Some(data) => step(&data)?,
            None => Step::Python,
        };
        if let Step::Python = done {
            rest.push(i);
        }
    }
    Ok(rest)
}

/// The three items of the answer `memo` remembers for `text`, borrowed; None when
/// it holds none, or something other than a tuple of three.
///
/// Safety: `memo` an exact dict, `text` an exact str, the GIL held; the items are
/// valid while the memo holds the answer.
unsafe fn remembered(memo: &Bound<'_, PyDict>, text: *mut ffi::PyObject) -> Option<[*mut ffi::PyObject; 3]> {
    let answer = get(memo.as_ptr(), text).ok()?;
    if answer.is_null() || ffi::PyTuple_CheckExact(answer) == 0 || ffi::PyTuple_Size(answer) != 3 {
        return None;
    }
    Some([ffi::PyTuple_GetItem(answer, 0), ffi::PyTuple_GetItem(answer, 1), ffi::PyTuple_GetItem(answer, 2)])
}

/// The text at `[parent][source]` of an event's data, with the parent object:
/// Err(Skip) when there is no text (no parent, or None where either should be),
/// Err(Python) for any other shape.
///
/// Safety: `data` an exact dict, `parent` and `source` exact strs, the GIL held.
pub(crate) unsafe fn text_at(data: &Bound<'_, PyDict>, parent: &Bound<'_, PyString>, source: &Bound<'_, PyString>)
                  -> Result<(*mut ffi::PyObject, *mut ffi::PyObject), Step> {
    let node = get(data.as_ptr(), parent.as_ptr()).map_err(|()| Step::Python)?;
    if is_none(node) {
        return Err(Step::Skip);
    }
    if !is_dict(node) {
        return Err(Step::Python);
    }
    let value = get(node, source.as_ptr()).map_err(|()| Step::Python)?;
    if is_none(value) {
        return Err(Step::Skip);
    }
    if !is_str(value) {
        return Err(Step::Python);
    }
    Ok((node, value))
}

/// geoip with shared objects, an address at `[parent][source]` and the answer at
/// `[parent][target]`: for each event whose address has a remembered answer
/// (`newer`: address -> (outcome, geo, asn)) that found a place (`outcome` 0), a
/// `Template` and no AS object, the template's `whole` is stored. Returns the
/// indices of the events left to the Python loop.
#[pyfunction]
pub fn geoip_share(events: &Bound<'_, PyList>, parent: &Bound<'_, PyString>, source: &Bound<'_, PyString>,
                   target: &Bound<'_, PyString>, newer: &Bound<'_, PyDict>, template: &Bound<'_, PyType>)
                   -> PyResult<Vec<usize>> {
    let py = events.py();
    let whole = intern!(py, "whole");
    // Safety: exact dicts and strs throughout, the GIL held; every object read is
    // kept alive by the dict it was read from, and nothing runs Python code before
    // the one write, which ends the step.
    each_event(events, |data| unsafe { geo_one(py, data, parent, source, target, newer, template, whole) })
}

#[allow(clippy::too_many_arguments)]
unsafe fn geo_one(py: Python<'_>, data: &Bound<'_, PyDict>, parent: &Bound<'_, PyString>, source: &Bound<'_, PyString>,
                  target: &Bound<'_, PyString>, newer: &Bound<'_, PyDict>, template: &Bound<'_, PyType>,
                  whole: &Bound<'_, PyString>) -> PyResult<Step> {
    let (node, value) = match text_at(data, parent, source) {
        Ok(found) => found,
        Err(step) => return Ok(step),
    };
    let Some([outcome, geo, asn]) = remembered(newer, value) else { return Ok(Step::Python) };
    if ffi::PyLong_CheckExact(outcome) == 0 || ffi::PyLong_AsLong(outcome) != 0 || asn != ffi::Py_None() {
        ffi::PyErr_Clear();
        return Ok(Step::Python);
    }
    if geo == ffi::Py_None() {
        return Ok(Step::Done);
    }
    if ffi::Py_TYPE(geo) != template.as_ptr() as *mut ffi::PyTypeObject {
        return Ok(Step::Python);
    }
    // A slot of the exact Template class: a member read, no Python code.
    let obj = Bound::from_borrowed_ptr(py, geo).getattr(whole)?;
    let node = Bound::from_borrowed_ptr(py, node).downcast_into_unchecked::<PyDict>();
    node.set_item(target, obj)?;
    Ok(Step::Done)
}

/// useragent with shared objects, the text at `[parent][source]` and the parse
/// written into `[parent]`: for each event whose text has a remembered parse
/// (`seen`: text -> (flat, nested, None)), the flat keys are merged in and each
/// nested object stored as it is. Texts in `absent` are skipped, as the loop
/// does. Returns the indices of the events left to the Python loop.
#[pyfunction]
pub fn useragent_share(events: &Bound<'_, PyList>, parent: &Bound<'_, PyString>, source: &Bound<'_, PyString>,
                       seen: &Bound<'_, PyDict>, absent: &Bound<'_, PyFrozenSet>) -> PyResult<Vec<usize>> {
    let py = events.py();
    // Safety: as in geoip_share.
    each_event(events, |data| unsafe { ua_one(py, data, parent, source, seen, absent) })
}

unsafe fn ua_one(py: Python<'_>, data: &Bound<'_, PyDict>, parent: &Bound<'_, PyString>, source: &Bound<'_, PyString>,
                 seen: &Bound<'_, PyDict>, absent: &Bound<'_, PyFrozenSet>) -> PyResult<Step> {
    let (node, value) = match text_at(data, parent, source) {
        Ok(found) => found,
        Err(step) => return Ok(step),
    };
    match ffi::PySet_Contains(absent.as_ptr(), value) {
        1 => return Ok(Step::Skip),
        0 => {}
        _ => return Err(PyErr::fetch(py)),
    }
    let Some([flat, nested, each]) = remembered(seen, value) else { return Ok(Step::Python) };
    if each != ffi::Py_None() || !is_dict(flat) || ffi::PyTuple_CheckExact(nested) == 0 {
        return Ok(Step::Python);
    }
    let pairs: Vec<(*mut ffi::PyObject, *mut ffi::PyObject)> = {
        let n = ffi::PyTuple_Size(nested);
        let mut out = Vec::with_capacity(n as usize);
        for j in 0..n {
            let pair = ffi::PyTuple_GetItem(nested, j);
            if ffi::PyTuple_CheckExact(pair) == 0 || ffi::PyTuple_Size(pair) != 2 {
                return Ok(Step::Python);
            }
            let key = ffi::PyTuple_GetItem(pair, 0);
            if !is_str(key) {
                return Ok(Step::Python);
            }
            out.push((key, ffi::PyTuple_GetItem(pair, 1)));
        }
        out
    };
    // The remembered parse and the event's object stay alive while the one is written
    // into the other: a value replaced in the object may run a finalizer, which may
    // change `seen` or the event.
    let parse_held = (Bound::from_borrowed_ptr(py, flat), Bound::from_borrowed_ptr(py, nested));
    let node_held = Bound::from_borrowed_ptr(py, node);
    if ffi::PyDict_Update(node, flat) != 0 {
        return Err(PyErr::fetch(py));
    }
    for (key, item) in pairs {
        if ffi::PyDict_SetItem(node, key, item) != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    drop((parse_held, node_held));
    Ok(Step::Done)
}
