//! Two small writes that filters make on every event, done for a whole batch.
//!
//! `mutate`'s `replace` of one field by another's text (graphmemory's
//! `[http][route]` from `[url][path]`) and the stamp the `sample` filter puts on
//! every event when sampling is off are a few dict operations per event; their
//! Python loops cost more than the operations. These functions take the usual
//! case of each (plain dicts and strs, the objects on the way present or, where
//! the loop makes them, absent) and list every other event for the filter's own
//! loop, which does exactly what it did before for those. An event's result
//! depends only on the event, so the two loops are interchangeable per event.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::enrich::{each_event, text_at, Step};
use crate::pyobj::{get, is_dict, is_none};

/// For each event whose `[src_outer][src_inner]` is a str and whose `[outer]` is a
/// dict, stores that str at `[outer][inner]`. Returns the indices of the other
/// events (for the filter's loop, which renders and stores the template itself).
#[pyfunction]
pub fn copy_text(events: &Bound<'_, PyList>, src_outer: &Bound<'_, PyString>, src_inner: &Bound<'_, PyString>,
                 outer: &Bound<'_, PyString>, inner: &Bound<'_, PyString>) -> PyResult<Vec<usize>> {
    let py = events.py();
    // Safety: exact dicts and strs, the GIL held; the text is held (a strong
    // reference) while it is stored, since replacing the old value may run code.
    each_event(events, |data| unsafe {
        let Ok((_, value)) = text_at(data, src_outer, src_inner) else { return Ok(Step::Python) };
        let Ok(node) = get(data.as_ptr(), outer.as_ptr()) else { return Ok(Step::Python) };
        if !is_dict(node) {
            return Ok(Step::Python);
        }
        let value = Bound::from_borrowed_ptr(py, value);
        let node = Bound::from_borrowed_ptr(py, node).downcast_into_unchecked::<PyDict>();
        node.set_item(inner, value)?;
        Ok(Step::Done)
    })
}

/// sample with sampling off and one stamp object `stamp` shared by the events:
/// where `[outer][inner]` is absent or null it becomes `stamp` (and an absent or
/// null `[outer]` a new object holding only that); where it is `stamp` already,
/// nothing is done. Returns the indices of the other events (for the filter's loop).
#[pyfunction]
pub fn sample_stamp(events: &Bound<'_, PyList>, outer: &Bound<'_, PyString>, inner: &Bound<'_, PyString>,
                    stamp: &Bound<'_, PyDict>) -> PyResult<Vec<usize>> {
    let py = events.py();
    // Safety: exact dicts, the GIL held; the objects read are held by the event's
    // data while the one write into them is made.
    each_event(events, |data| unsafe {
        let Ok(node) = get(data.as_ptr(), outer.as_ptr()) else { return Ok(Step::Python) };
        if is_none(node) {
            let made = PyDict::new_bound(py);
            made.set_item(inner, stamp)?;
            data.set_item(outer, made)?;
            return Ok(Step::Done);
        }
        if !is_dict(node) {
            return Ok(Step::Python);
        }
        let Ok(child) = get(node, inner.as_ptr()) else { return Ok(Step::Python) };
        if child == stamp.as_ptr() {
            return Ok(Step::Done);
        }
        if !is_none(child) {
            return Ok(Step::Python);
        }
        let node = Bound::from_borrowed_ptr(py, node).downcast_into_unchecked::<PyDict>();
        node.set_item(inner, stamp)?;
        Ok(Step::Done)
    })
}
