//! JSON records into events, a batch at a time.
//!
//! `logpipe.core.codec.events_from_json` is what the JSON records of a Kafka
//! fetch or a batch of Redis items go through: orjson's `loads`, the
//! `@timestamp` read and parsed, `@metadata` taken out, and an `Event` made
//! around the dict with the record's metadata. orjson
//! does the decoding in a few hundred nanoseconds; the Python loop around it cost
//! nearly half as much again. `EventDecoder` is that loop: it calls the same
//! `loads` and the same timestamp parser, and fills the event's two slots
//! directly (as `adopt` does, without the constructor's checks). Records that are
//! not a JSON object, or not JSON at all, are left to the caller's Python path,
//! which tags them.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyType};

use crate::condprog::Slots;

/// The loop of `events_from_json` for one event class, `loads`, its decode
/// error and the timestamp parser.
#[pyclass(frozen, module = "logpipe_native")]
pub struct EventDecoder {
    slots: Slots,
    loads: PyObject,
    error: Py<PyType>,
    parse_iso: PyObject,
}

#[pymethods]
impl EventDecoder {
    #[new]
    fn new(event_type: &Bound<'_, PyType>, loads: PyObject, error: Bound<'_, PyType>,
           parse_iso: PyObject) -> PyResult<Self> {
        let Some(slots) = Slots::find(event_type)? else {
            return Err(PyTypeError::new_err("the event class has no data and metadata slots"));
        };
        Ok(EventDecoder { slots, loads, error: error.unbind(), parse_iso })
    }

    /// One event per record, in order, and the indices of the records left to the
    /// caller (their places hold None): those `loads` refuses with its decode
    /// error, and those that are not a JSON object. `now`: the arrival time of
    /// the records without `@timestamp`. `metas`: each record's metadata, as the
    /// input gives it (a record's own `@metadata` is then dropped, as `Event`
    /// drops it when given metadata); without (or None for a record), a
    /// record's `@metadata` object is its metadata. Any other error of `loads` or of the parser is raised.
    #[pyo3(signature = (raws, now, metas=None))]
    fn decode<'py>(&self, py: Python<'py>, raws: &Bound<'py, PyList>, now: &Bound<'py, PyAny>,
                   metas: Option<&Bound<'py, PyList>>) -> PyResult<(Bound<'py, PyList>, Vec<usize>)> {
        let k_ts = intern!(py, "@timestamp");
        let k_meta = intern!(py, "@metadata");
        let k_original = intern!(py, "_timestamp_original");
        let loads = self.loads.bind(py);
        let parse_iso = self.parse_iso.bind(py);
        let error = self.error.bind(py);
        let cls = self.slots.cls.bind(py);
        let out = PyList::empty_bound(py);
        let mut left = Vec::new();
        let n = raws.len();
        if let Some(metas) = metas {
            if metas.len() != n {
                return Err(PyValueError::new_err("one metadata object per record"));
            }
        }
        for i in 0..n {
            let raw = raws.get_item(i)?;
            let value = match loads.call1((raw,)) {
                Ok(value) => value,
                Err(e) if e.is_instance_bound(py, error.as_any()) => {
                    left.push(i);
                    out.append(py.None())?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Ok(data) = value.downcast_exact::<PyDict>() else {
                left.push(i);
                out.append(py.None())?;
                continue;
            };
            match data.get_item(k_ts)? {
                None => data.set_item(k_ts, now)?,
                Some(stamp) if stamp.is_exact_instance_of::<PyString>() => {
                    let parsed = parse_iso.call1((&stamp,))?;
                    if !parsed.is_none() {
                        data.set_item(k_ts, parsed)?;
                    } else {
                        data.del_item(k_ts)?;
                        data.set_item(k_original, &stamp)?;
                        data.set_item(k_ts, now)?;
                    }
                }
                Some(_) => {}
            }
            let own = data.get_item(k_meta)?;
            if own.is_some() {
                data.del_item(k_meta)?;
            }
            let given = match metas {
                Some(metas) => Some(metas.get_item(i)?).filter(|m| !m.is_none()),
                None => None,
            };
            let meta = match (given, own) {
                (Some(given), _) => given,
                (None, Some(found)) => match found.downcast_into_exact::<PyDict>() {
                    Ok(meta) => meta.into_any(),
                    Err(_) => PyDict::new_bound(py).into_any(),
                },
                (None, None) => PyDict::new_bound(py).into_any(),
            };
            out.append(self.adopt(cls, data, meta)?)?;
        }
        Ok((out, left))
    }
}

impl EventDecoder {
    /// A new event of the class with its two slots holding `data` and `meta`.
    fn adopt<'py>(&self, cls: &Bound<'py, PyType>, data: &Bound<'py, PyDict>, meta: Bound<'py, PyAny>)
                  -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        // SAFETY: tp_alloc of a Python class gives a zeroed instance (its slots
        // null), tracked by the collector when the class has slots. Each slot is
        // set once below, before anything else can run, to an owned reference; the
        // offsets are those `Slots::find` read off an instance of this class.
        unsafe {
            let event = ffi::PyType_GenericAlloc(cls.as_type_ptr(), 0);
            let event = Bound::from_owned_ptr_or_err(py, event)?;
            let base = event.as_ptr() as *mut u8;
            std::ptr::write_unaligned(base.add(self.slots.data) as *mut *mut ffi::PyObject,
                                      data.clone().into_ptr());
            std::ptr::write_unaligned(base.add(self.slots.metadata) as *mut *mut ffi::PyObject,
                                      meta.into_ptr());
            Ok(event)
        }
    }
}
