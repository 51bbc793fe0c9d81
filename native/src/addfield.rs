//! A constant `add_field` entry at a fixed path, over a batch.
//!
//! `add_field => { "[@metadata][category]" => "app" }` is how GraphMemory (and
//! many Logstash configs) route events: every event of the batch gets the same
//! text at the same place. The Python loop (`field_adder` in
//! logpipe/filters/common.py) walks the path with `dict.get` per event, a dozen
//! bytecodes for two dict operations. `ConstantAdder` does the same walk
//! natively, with the same rules: parents that are plain dicts are followed,
//! absent or null ones made, and at the field an absent value is set, a list
//! gets the value appended and anything else becomes `[old, value]`. It stops
//! at the first event that needs anything else (another event class, a dict
//! subclass or other value on the way, a list subclass at the field), so the
//! caller's loop takes that event and the batch stays in order.

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyType};

use crate::condprog::Slots;

#[pyclass(frozen, module = "logpipe_native")]
pub struct ConstantAdder {
    slots: Slots,
    in_meta: bool,
    parents: Vec<Py<PyString>>,
    leaf: Py<PyString>,
    value: PyObject,
}

#[pymethods]
impl ConstantAdder {
    /// `keys`: the path below the event's data (or, with `in_meta`, its metadata).
    #[new]
    fn new(py: Python<'_>, event_type: &Bound<'_, PyType>, in_meta: bool, keys: Vec<String>,
           value: PyObject) -> PyResult<Self> {
        let Some(slots) = Slots::find(event_type)? else {
            return Err(PyValueError::new_err("the event class has no data and metadata slots"));
        };
        let Some((leaf, parents)) = keys.split_last() else {
            return Err(PyValueError::new_err("an empty path"));
        };
        let intern = |k: &String| PyString::intern_bound(py, k).unbind();
        Ok(ConstantAdder { slots, in_meta, parents: parents.iter().map(intern).collect(),
                           leaf: intern(leaf), value })
    }

    /// Add the value to `events[start..]` in order; the index of the first event
    /// left to the caller (the list's length when none is).
    fn run(&self, py: Python<'_>, events: &Bound<'_, PyList>, start: usize) -> PyResult<usize> {
        let cls = self.slots.cls.as_ptr() as *mut ffi::PyTypeObject;
        let off = if self.in_meta { self.slots.metadata } else { self.slots.data };
        let value = self.value.bind(py);
        let leaf = self.leaf.bind(py);
        for i in start..events.len() {
            let event = events.get_item(i)?;
            // SAFETY: the type is checked to be exactly the class the offsets belong to.
            let root = unsafe {
                if ffi::Py_TYPE(event.as_ptr()) != cls {
                    return Ok(i);
                }
                Slots::read(event.as_ptr(), off)
            };
            if root.is_null() {
                return Ok(i);
            }
            // SAFETY: `root` is a live object the event holds (borrowed while the event is).
            let root = unsafe { Bound::from_borrowed_ptr(py, root) };
            let Ok(mut node) = root.downcast_exact::<PyDict>().cloned() else {
                return Ok(i);
            };
            let mut made = false;
            for key in &self.parents {
                let key = key.bind(py);
                let child = if made { None } else { node.get_item(key)? };
                match child {
                    Some(child) if !child.is_none() => match child.downcast_exact::<PyDict>() {
                        Ok(child) => node = child.clone(),
                        // Left before anything was made: parents are followed only while none is.
                        Err(_) => return Ok(i),
                    },
                    _ => {
                        let fresh = PyDict::new_bound(py);
                        node.set_item(key, &fresh)?;
                        node = fresh;
                        made = true;
                    }
                }
            }
            match if made { None } else { node.get_item(leaf)? } {
                None => node.set_item(leaf, value)?,
                Some(current) => {
                    if let Ok(list) = current.downcast_exact::<PyList>() {
                        list.append(value)?;
                    } else if current.is_instance_of::<PyList>() {
                        return Ok(i);
                    } else {
                        node.set_item(leaf, PyList::new_bound(py, [current, value.clone()]))?;
                    }
                }
            }
        }
        Ok(events.len())
    }
}
