//! The perfclass filter's common case over a batch, in one call.
//!
//! The filter's batch loop (logpipe/filters/perfclass/loop.py) costs a few
//! dozen bytecodes per event: the duration's reads and conversion, the path's
//! reads, the memo's lookup, the class and the writes. `PerfBatch` does the same
//! for the events whose every step takes the loop's common branch: duration
//! sources `[@metadata][key]` or `[outer][inner]` in plain dicts, a duration that
//! is a non-negative float or int, a target `[outer][inner]` whose parent is a
//! plain dict or absent, the path read from the `url` object, and an answer the
//! memo already holds (an outcome, or for a method-bound path the method's
//! outcome). Anything else, a tag to add, a `performance` object
//! to update, a value of another type, is where the call stops: it returns the
//! event's position and the filter runs its Python loop over that event, then
//! calls again after it. So events are handled in their order. A path the memo
//! does not hold is remembered here as the filter's `_remember` and
//! `_remember_method` remember it (the memo emptied when full, an outcome or a
//! new table by method stored) when the route table's tests are texts a path
//! contains or ends with and the method is ASCII; otherwise those methods are
//! called, where the loop calls them. Either way the memo goes through the
//! loop's states.
//!
//! An event is written only once everything it needs has been read and judged,
//! so an event the call stops at is untouched. The outcomes' bounds and
//! `performance` objects are taken from the filter's outcome tuples when the
//! call is made (`PerfBatch::new`); an entry of the memo that is none of them
//! is left to Python too.
//!
//! Events of exactly the event class have their `data` and `metadata` slots
//! read directly (see condprog.rs, `Slots`), and a chunk of events is asked to
//! be loaded, with their dicts' tables, before the first of them is handled.

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::condprog::{dict_keys_offset, prefetch, Slots};
use crate::pyobj::{get, is_dict, is_none, is_str, utf8};

/// The largest integer every step handles exactly as Python does: up to it, an
/// integer is a float without rounding, so `ns / 1_000_000` is one division of
/// two exact floats, as CPython computes it.
const EXACT: f64 = 9_007_199_254_740_992.0; // 2**53

/// How many events are loaded ahead at a time (as in condprog.rs).
const WARM_CHUNK: usize = 32;

enum Source {
    /// `[@metadata][key]`
    Meta(Py<PyString>, f64, i64),
    /// `[outer][inner]` in the data
    Data(Py<PyString>, Py<PyString>, f64, i64),
    /// any other shape: the Python loop's general reader
    General,
}

/// One of the filter's outcomes: its bounds, its budget (+inf for none) and its
/// eight `performance` objects (see `PerfClassFilter._outcome`).
struct Outcome {
    tuple: Py<PyTuple>,
    fast: f64,
    normal: f64,
    slow: f64,
    budget: f64,
    perfs: Vec<PyObject>,
}

/// A number as a float that compares with every float as the number does in
/// Python: an exact float, or an exact int that a float holds without rounding.
fn exact_float(value: &Bound<'_, PyAny>) -> Option<f64> {
    unsafe {
        let p = value.as_ptr();
        if ffi::PyFloat_CheckExact(p) != 0 {
            return Some(ffi::PyFloat_AsDouble(p));
        }
        if ffi::PyLong_CheckExact(p) != 0 {
            let mut overflow = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(p, &mut overflow);
            if overflow == 0 && !(v == -1 && !ffi::PyErr_Occurred().is_null()) && (v.unsigned_abs() as f64) <= EXACT {
                return Some(v as f64);
            }
            ffi::PyErr_Clear();
        }
    }
    None
}

impl Outcome {
    /// None when a bound is of a type whose comparison is Python's own (the loop
    /// then answers for the paths that have this outcome).
    fn new(tuple: &Bound<'_, PyTuple>) -> PyResult<Option<Outcome>> {
        if tuple.len() != 6 {
            return Err(PyValueError::new_err("an outcome has six items"));
        }
        let mut bounds = [0.0f64; 4];
        for (i, b) in bounds.iter_mut().enumerate() {
            match exact_float(&tuple.get_item(i + 1)?) {
                Some(v) => *b = v,
                None => return Ok(None),
            }
        }
        let perfs = tuple.get_item(5)?;
        let perfs = perfs.downcast::<PyTuple>()?;
        if perfs.len() != 8 {
            return Err(PyValueError::new_err("an outcome has eight performance objects"));
        }
        let mut objects = Vec::with_capacity(8);
        for perf in perfs.iter() {
            if !perf.is_exact_instance_of::<PyDict>() {
                return Ok(None);
            }
            objects.push(perf.unbind());
        }
        Ok(Some(Outcome {
            tuple: tuple.clone().unbind(),
            fast: bounds[0],
            normal: bounds[1],
            slow: bounds[2],
            budget: bounds[3],
            perfs: objects,
        }))
    }
}

/// What the loop does with one event.
enum Step {
    /// Nothing left to do (done here, or nothing to do).
    Done,
    /// The Python loop's to handle.
    Python,
}

/// What a call needs besides the events: the filter's memo, its two ways of
/// filling it and their bounds, and whether `performance` objects are shared.
struct Calls<'a, 'py> {
    memo: &'a Bound<'py, PyDict>,
    remember: &'a Bound<'py, PyAny>,
    remember_method: &'a Bound<'py, PyAny>,
    share: bool,
    /// The memo's bound (`_VERDICTS`) and a table by method's (`_METHODS`).
    verdicts: usize,
    methods: usize,
}

/// A route as the filter's route table tests it (logpipe/filters/perfclass/routes.py):
/// texts the path must contain or end with, or a regex (None here: Python's to search),
/// and its methods (upper case), None for any.
struct Route {
    contains: Option<Vec<String>>,
    ends: Vec<String>,
    methods: Option<Vec<String>>,
}

impl Route {
    /// Whether the route covers the path; None when its regex must say.
    fn covers(&self, path: &str) -> Option<bool> {
        let contains = self.contains.as_ref()?;
        Some(contains.iter().any(|t| path.contains(t.as_str())) || self.ends.iter().any(|t| path.ends_with(t.as_str())))
    }
}


/// `_without_query`: the path up to its query string.
fn without_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

#[pyclass(frozen, module = "logpipe_native")]
pub struct PerfBatch {
    slots: Option<Slots>,
    keys_offset: Option<usize>,
    sources: Vec<Source>,
    reads_metadata: bool,
    target_outer: Py<PyString>,
    target_inner: Py<PyString>,
    k_url: Py<PyString>,
    url_key: Py<PyString>,
    k_original: Py<PyString>,
    method_keys: Option<[Py<PyString>; 3]>,
    k_perf: Py<PyString>,
    outcomes: Vec<Option<Outcome>>,
    /// The filter's outcome tuples, in order (the one of no route last).
    tuples: Vec<Py<PyTuple>>,
    /// The route table, when its tests are the plain ones (else None: misses call
    /// the filter's own code).
    routes: Option<Vec<Route>>,
    tag_breach: bool,
}

impl PerfBatch {
    /// The filter's outcome for a memo entry that is an outcome tuple.
    #[inline(always)]
    fn outcome(&self, entry: *mut ffi::PyObject) -> Option<&Outcome> {
        self.outcomes.iter().flatten().find(|o| o.tuple.as_ptr() == entry)
    }

    /// The duration's raw value and its source's factors, as the loop reads
    /// them: the first source with a value (Ok(None) when none has one).
    unsafe fn duration(&self, data: *mut ffi::PyObject, metadata: *mut ffi::PyObject)
                       -> Result<Option<(*mut ffi::PyObject, f64, i64)>, ()> {
        for source in &self.sources {
            let (raw, f, i) = match source {
                Source::Meta(inner, f, i) => {
                    if !is_dict(metadata) {
                        return Err(());
                    }
                    (get(metadata, inner.as_ptr())?, *f, *i)
                }
                Source::Data(outer, inner, f, i) => {
                    let node = get(data, outer.as_ptr())?;
                    if is_dict(node) {
                        (get(node, inner.as_ptr())?, *f, *i)
                    } else if is_none(node) {
                        (std::ptr::null_mut(), *f, *i)
                    } else {
                        return Err(());
                    }
                }
                Source::General => return Err(()),
            };
            if !is_none(raw) {
                return Ok(Some((raw, f, i)));
            }
        }
        Ok(None)
    }

    /// The loop's two common conversions (a non-negative float whose nanoseconds
    /// are finite, a non-negative int), for durations up to 2**53 ns; None for
    /// anything else.
    unsafe fn nanoseconds(raw: *mut ffi::PyObject, factor: f64, int_factor: i64) -> Option<i64> {
        if ffi::PyFloat_CheckExact(raw) != 0 {
            let x = ffi::PyFloat_AsDouble(raw);
            // `0 <= raw and raw * factor < _INF`, then `round(raw * factor)`
            if !(0.0 <= x) {
                return None;
            }
            let scaled = x * factor;
            if !(scaled <= EXACT) {
                return None;
            }
            return Some(scaled.round_ties_even() as i64);
        }
        if ffi::PyLong_CheckExact(raw) != 0 {
            let mut overflow = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(raw, &mut overflow);
            if overflow != 0 || v < 0 {
                ffi::PyErr_Clear();
                return None;
            }
            let ns = v.checked_mul(int_factor)?;
            return if ns <= EXACT as i64 { Some(ns) } else { None };
        }
        None
    }

    /// The path as written, as the loop reads it with `url_key` set: Ok(null) for none.
    unsafe fn raw_path(&self, url: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
        if is_dict(url) {
            let path = get(url, self.url_key.as_ptr())?;
            if is_str(path) {
                return Ok(path);
            }
            let original = get(url, self.k_original.as_ptr())?;
            return Ok(if is_str(original) { original } else { std::ptr::null_mut() });
        }
        // `request_path`: the general readers read None through an absent or null `url`
        if is_none(url) { Ok(std::ptr::null_mut()) } else { Err(()) }
    }

    /// `PerfClassFilter._remember` for a path the plain route tests decide (None:
    /// the filter's own code must): the memo emptied when full, then the path's
    /// outcome, or a new table by method when the method can change it.
    unsafe fn remember<'py>(&self, py: Python<'py>, calls: &Calls<'_, 'py>, raw_path: &Bound<'py, PyAny>)
                            -> Option<PyResult<Bound<'py, PyAny>>> {
        let routes = self.routes.as_ref()?;
        let path = without_query(utf8(raw_path.as_ptr())?);
        let mut index = Some(self.tuples.len() - 1);
        for (i, route) in routes.iter().enumerate() {
            if route.covers(path)? {
                index = if route.methods.is_none() { Some(i) } else { None };
                break;
            }
        }
        let entry = match index {
            Some(i) => self.tuples[i].bind(py).clone().into_any(),
            None => PyDict::new_bound(py).into_any(),
        };
        Some(self.store(calls.memo, calls.verdicts, raw_path, &entry).map(|()| entry))
    }

    /// `PerfClassFilter._remember_method`, for methods that are absent or ASCII text
    /// and plain route tests (None: the filter's own code must).
    unsafe fn remember_method<'py>(&self, py: Python<'py>, calls: &Calls<'_, 'py>, raw_path: &Bound<'py, PyAny>,
                                   method: &Bound<'py, PyAny>, by_method: &Bound<'py, PyAny>)
                                   -> Option<PyResult<Bound<'py, PyAny>>> {
        let routes = self.routes.as_ref()?;
        let path = without_query(utf8(raw_path.as_ptr())?);
        // `method.upper() if method else None`
        let upper = if method.is_none() {
            None
        } else {
            let text = utf8(method.as_ptr())?;
            if !text.is_ascii() {
                return None;
            }
            if text.is_empty() { None } else { Some(text.to_ascii_uppercase()) }
        };
        let mut index = self.tuples.len() - 1;
        for (i, route) in routes.iter().enumerate() {
            if let Some(methods) = &route.methods {
                match &upper {
                    Some(m) if methods.iter().any(|x| x == m) => {}
                    _ => continue,
                }
            }
            if route.covers(path)? {
                index = i;
                break;
            }
        }
        let outcome = self.tuples[index].bind(py).clone().into_any();
        let dict = by_method.downcast::<PyDict>().ok()?;
        Some(self.store(dict, calls.methods, method, &outcome).map(|()| outcome))
    }

    /// `table[key] = value`, the table emptied first when it holds `bound` entries.
    fn store(&self, table: &Bound<'_, PyDict>, bound: usize, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>)
             -> PyResult<()> {
        if table.len() >= bound {
            table.clear();
        }
        table.set_item(key, value)
    }

    /// One event; writes only when it is done here.
    unsafe fn event<'py>(&self, py: Python<'py>, event: *mut ffi::PyObject, calls: &Calls<'_, 'py>) -> PyResult<Step> {
        let Some(s) = &self.slots else { return Ok(Step::Python) };
        if ffi::Py_TYPE(event) != s.cls.as_ptr() as *mut ffi::PyTypeObject {
            return Ok(Step::Python);
        }
        let data = Slots::read(event, s.data);
        let metadata = if self.reads_metadata { Slots::read(event, s.metadata) } else { std::ptr::null_mut() };
        if !is_dict(data) {
            return Ok(Step::Python);
        }
        // Held while the event is read: a lookup may compare a key with its own `==`,
        // and the memo's Python code runs on a miss.
        let _data_held = Bound::from_borrowed_ptr(py, data);
        let _meta_held = if metadata.is_null() { None } else { Some(Bound::from_borrowed_ptr(py, metadata)) };
        self.judge_and_write(py, data, metadata, calls)
    }

    /// The method as the loop reads it for a method-bound path (None as Python's
    /// None), or Err(()) when the loop's general reader would read it.
    unsafe fn method(&self, data: *mut ffi::PyObject, tnode: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
        let Some([k0, k1, k2]) = &self.method_keys else { return Err(()) };
        let n0 = get(data, k0.as_ptr())?;
        let method = if is_dict(n0) {
            // the duration, written before the method is read, must not land on its way
            if n0 == tnode {
                return Err(());
            }
            let n1 = get(n0, k1.as_ptr())?;
            if is_dict(n1) {
                if n1 == tnode {
                    return Err(());
                }
                get(n1, k2.as_ptr())?
            } else if is_none(n1) {
                std::ptr::null_mut()
            } else {
                return Err(());
            }
        } else if is_none(n0) {
            std::ptr::null_mut()
        } else {
            return Err(());
        };
        Ok(if is_str(method) { method } else { ffi::Py_None() })
    }

    unsafe fn judge_and_write<'py>(&self, py: Python<'py>, data: *mut ffi::PyObject, metadata: *mut ffi::PyObject,
                                   calls: &Calls<'_, 'py>) -> PyResult<Step> {
        let Ok(found) = self.duration(data, metadata) else { return Ok(Step::Python) };
        let Some((raw, factor, int_factor)) = found else { return Ok(Step::Done) };
        let Some(ns) = Self::nanoseconds(raw, factor, int_factor) else { return Ok(Step::Python) };
        // the target's parent: a plain dict, or absent (made here)
        let Ok(tnode) = get(data, self.target_outer.as_ptr()) else { return Ok(Step::Python) };
        if !(is_dict(tnode) || is_none(tnode)) || tnode == data {
            return Ok(Step::Python);
        }
        let Ok(url) = get(data, self.k_url.as_ptr()) else { return Ok(Step::Python) };
        if is_dict(tnode) && tnode == url {
            return Ok(Step::Python);
        }
        let Ok(raw_path) = self.raw_path(url) else { return Ok(Step::Python) };
        // The outcome (an owned reference: the memo's Python code may run meanwhile).
        let outcome_obj: Bound<'_, PyAny> = if raw_path.is_null() {
            match self.outcomes.last() {
                Some(Some(o)) => o.tuple.bind(py).clone().into_any(),
                _ => return Ok(Step::Python),
            }
        } else {
            let raw_path = Bound::from_borrowed_ptr(py, raw_path);
            let Ok(found) = get(calls.memo.as_ptr(), raw_path.as_ptr()) else { return Ok(Step::Python) };
            let entry = if found.is_null() {
                // A miss: remembered by the filter's own code, as the loop remembers it
                // (the loop has written the duration by then, so a failure finds it there).
                let remembered = match self.remember(py, calls, &raw_path) {
                    Some(done) => done,
                    None => calls.remember.call1((&raw_path,)),
                };
                self.or_duration(py, remembered, data, tnode, ns)?
            } else {
                Bound::from_borrowed_ptr(py, found)
            };
            if ffi::PyDict_CheckExact(entry.as_ptr()) != 0 {
                // a path whose route depends on the method
                let Ok(method) = self.method(data, tnode) else { return Ok(Step::Python) };
                let method = Bound::from_borrowed_ptr(py, method);
                let Ok(known) = get(entry.as_ptr(), method.as_ptr()) else { return Ok(Step::Python) };
                if known.is_null() {
                    let remembered = match self.remember_method(py, calls, &raw_path, &method, &entry) {
                        Some(done) => done,
                        None => calls.remember_method.call1((&raw_path, &method, &entry)),
                    };
                    self.or_duration(py, remembered, data, tnode, ns)?
                } else {
                    Bound::from_borrowed_ptr(py, known)
                }
            } else {
                entry
            }
        };
        let Some(outcome) = self.outcome(outcome_obj.as_ptr()) else { return Ok(Step::Python) };
        let ms = ns as f64 / 1_000_000.0;
        let breach = ms > outcome.budget;
        if breach && self.tag_breach {
            return Ok(Step::Python);
        }
        let index = (ms >= outcome.fast) as usize + (ms >= outcome.normal) as usize
            + (ms >= outcome.slow) as usize + 4 * breach as usize;
        let Ok(existing) = get(data, self.k_perf.as_ptr()) else { return Ok(Step::Python) };
        if is_dict(existing) {
            return Ok(Step::Python); // updated in place: the loop's
        }
        // Everything read and judged: the writes, in the loop's order.
        self.write_duration(py, data, tnode, ns)?;
        let perf = outcome.perfs[index].as_ptr();
        let status = if calls.share {
            ffi::PyDict_SetItem(data, self.k_perf.as_ptr(), perf)
        } else {
            let copy: Bound<'_, PyAny> = Bound::from_owned_ptr_or_err(py, ffi::PyDict_Copy(perf))?;
            ffi::PyDict_SetItem(data, self.k_perf.as_ptr(), copy.as_ptr())
        };
        if status != 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(Step::Done)
    }

    /// What remembering a path gave; when it failed, the duration is written first,
    /// as the loop had written it by then, and the failure passed on.
    ///
    /// Safety: `data` and `tnode` as `write_duration` takes them (the event's data
    /// dict and what its target parent key holds), the GIL held.
    unsafe fn or_duration<'py>(&self, py: Python<'py>, remembered: PyResult<Bound<'py, PyAny>>,
                               data: *mut ffi::PyObject, tnode: *mut ffi::PyObject, ns: i64)
                               -> PyResult<Bound<'py, PyAny>> {
        if remembered.is_err() {
            self.write_duration(py, data, tnode, ns)?;
        }
        remembered
    }

    /// `event.duration = ns` where the loop writes it: into the target's parent, or
    /// a new one in its place (`tnode` absent or None).
    unsafe fn write_duration(&self, py: Python<'_>, data: *mut ffi::PyObject, tnode: *mut ffi::PyObject,
                             ns: i64) -> PyResult<()> {
        let value: Bound<'_, PyAny> = Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromLongLong(ns))?;
        if is_dict(tnode) {
            if ffi::PyDict_SetItem(tnode, self.target_inner.as_ptr(), value.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
        } else {
            let node = PyDict::new_bound(py);
            if ffi::PyDict_SetItem(node.as_ptr(), self.target_inner.as_ptr(), value.as_ptr()) != 0
                || ffi::PyDict_SetItem(data, self.target_outer.as_ptr(), node.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
        }
        Ok(())
    }

    /// Asks for the chunk's events, their dicts and those dicts' tables to be loaded,
    /// then, one level down, the objects every event reads first (the duration's
    /// value in the metadata, `url` and the target's parent) and their tables: the
    /// reads of different events do not depend on each other, so the processor
    /// overlaps their waits (see condprog.rs, `warm`). Nothing found here is used
    /// for an answer; the lookups hold the dict they look in and what they find.
    unsafe fn warm(&self, items: &[*mut ffi::PyObject]) {
        let Some(s) = &self.slots else { return };
        let null = std::ptr::null_mut();
        let mut data: [*mut ffi::PyObject; WARM_CHUNK] = [null; WARM_CHUNK];
        let mut meta: [*mut ffi::PyObject; WARM_CHUNK] = [null; WARM_CHUNK];
        let n = items.len().min(WARM_CHUNK);
        s.load(&items[..n], &mut data[..n], if self.reads_metadata { Some(&mut meta[..n]) } else { None });
        let Some(off) = self.keys_offset else { return };
        let table = |d: *mut ffi::PyObject, lines: usize| {
            if is_dict(d) {
                let t = std::ptr::read_unaligned((d as *const u8).add(off) as *const *const u8);
                for line in 0..lines {
                    prefetch(t.wrapping_add(64 * line));
                }
            }
        };
        data[..n].iter().chain(meta[..n].iter()).for_each(|&d| table(d, 4));
        let first_meta = self.sources.first().and_then(|s| match s {
            Source::Meta(inner, ..) => Some(inner.as_ptr()),
            _ => None,
        });
        let look = |holder: *mut ffi::PyObject, key: *mut ffi::PyObject| -> *mut ffi::PyObject {
            if !is_dict(holder) {
                return std::ptr::null_mut();
            }
            ffi::Py_INCREF(holder);
            let v = ffi::PyDict_GetItemWithError(holder, key);
            if v.is_null() {
                ffi::PyErr_Clear();
            } else {
                prefetch(v as *const u8);
                ffi::Py_INCREF(v);
            }
            ffi::Py_DECREF(holder);
            v // owned, or null
        };
        let mut url: [*mut ffi::PyObject; WARM_CHUNK] = [null; WARM_CHUNK];
        let mut parent: [*mut ffi::PyObject; WARM_CHUNK] = [null; WARM_CHUNK];
        for j in 0..n {
            if let Some(key) = first_meta {
                let v = look(meta[j], key);
                if !v.is_null() {
                    ffi::Py_DECREF(v);
                }
            }
            url[j] = look(data[j], self.k_url.as_ptr());
            parent[j] = look(data[j], self.target_outer.as_ptr());
        }
        url[..n].iter().chain(parent[..n].iter()).for_each(|&d| table(d, 2));
        for &v in url[..n].iter().chain(parent[..n].iter()) {
            if !v.is_null() {
                ffi::Py_DECREF(v);
            }
        }
    }
}

fn key(py: Python<'_>, text: &str) -> Py<PyString> {
    PyString::intern_bound(py, text).unbind()
}

#[pymethods]
impl PerfBatch {
    /// `event_type`: the event class (only its exact instances are handled here);
    /// `sources`: per duration source (kind: 0 `[@metadata][key]`, 1 `[outer][inner]`
    /// in the data, 2 anything else; its two keys; its factor to nanoseconds);
    /// `target`: the target's two keys (`[outer][inner]` in the data); `url_key`:
    /// the path field's key in `url`; `method_keys`: the method field's three keys,
    /// None when it has another shape; `outcomes`: the filter's outcome tuples, the
    /// one of no route last; `tag_breach`: whether a breach adds tags.
    #[new]
    #[pyo3(signature = (event_type, sources, target, url_key, method_keys, outcomes, tag_breach, routes))]
    #[allow(clippy::too_many_arguments)]
    fn new(py: Python<'_>, event_type: &Bound<'_, PyType>, sources: Vec<(u8, String, String, i64)>,
           target: (String, String), url_key: String, method_keys: Option<(String, String, String)>,
           outcomes: &Bound<'_, PyTuple>, tag_breach: bool,
           routes: Option<Vec<(bool, Vec<String>, Vec<String>, Option<Vec<String>>)>>) -> PyResult<Self> {
        let sources: Vec<Source> = sources.into_iter().map(|(kind, outer, inner, factor)| match kind {
            0 => Source::Meta(key(py, &inner), factor as f64, factor),
            1 => Source::Data(key(py, &outer), key(py, &inner), factor as f64, factor),
            _ => Source::General,
        }).collect();
        if sources.is_empty() || outcomes.is_empty() {
            return Err(PyValueError::new_err("a duration source and an outcome are needed"));
        }
        let reads_metadata = sources.iter().any(|s| matches!(s, Source::Meta(..)));
        let tuples = outcomes.iter()
            .map(|o| Ok(o.downcast::<PyTuple>()?.clone().unbind()))
            .collect::<PyResult<Vec<_>>>()?;
        let outcomes = tuples.iter()
            .map(|o| Outcome::new(o.bind(py)))
            .collect::<PyResult<Vec<_>>>()?;
        let routes = routes.map(|routes| routes.into_iter().map(|(regex, contains, ends, methods)| Route {
            contains: if regex { None } else { Some(contains) },
            ends,
            methods,
        }).collect::<Vec<_>>());
        if routes.as_ref().is_some_and(|r| r.len() + 1 != tuples.len()) {
            return Err(PyValueError::new_err("one outcome per route, and the one of no route"));
        }
        Ok(PerfBatch {
            slots: Slots::find(event_type)?,
            keys_offset: dict_keys_offset(py),
            sources,
            reads_metadata,
            target_outer: key(py, &target.0),
            target_inner: key(py, &target.1),
            k_url: key(py, "url"),
            url_key: key(py, &url_key),
            k_original: key(py, "original"),
            method_keys: method_keys.map(|(a, b, c)| [key(py, &a), key(py, &b), key(py, &c)]),
            k_perf: key(py, "performance"),
            outcomes,
            tuples,
            routes,
            tag_breach,
        })
    }

    /// Whether events of the class given have their slots read directly (for tests).
    fn reads_slots(&self) -> bool {
        self.slots.is_some()
    }

    /// Handles `events[start:]` in order until an event needs the Python loop, and
    /// returns that event's position (untouched), or the batch's length when none
    /// does. `memo` is the filter's memo, `remember(raw_path)` and
    /// `remember_method(raw_path, method, by_method)` its code that fills it on a
    /// miss (called as the loop calls them, unless the plain route tests decide:
    /// then the same is done here), `verdicts` and `methods` their bounds;
    /// `share`: the `performance` objects themselves are written, not copies.
    #[allow(clippy::too_many_arguments)]
    fn run(&self, py: Python<'_>, events: &Bound<'_, PyList>, start: usize, memo: &Bound<'_, PyDict>,
           share: bool, remember: &Bound<'_, PyAny>, remember_method: &Bound<'_, PyAny>,
           verdicts: usize, methods: usize) -> PyResult<usize> {
        let calls = Calls { memo, remember, remember_method, share, verdicts, methods };
        let list = events.as_ptr();
        let mut items: Vec<*mut ffi::PyObject> = Vec::with_capacity(WARM_CHUNK);
        let mut j = start;
        // The length is read again for each event: the memo's Python code could change the list.
        while j < events.len() {
            if (j - start) % WARM_CHUNK == 0 {
                items.clear();
                // Borrowed: the list holds them, and no Python code runs in `warm`.
                items.extend((j..events.len().min(j + WARM_CHUNK))
                    .map(|k| unsafe { ffi::PyList_GetItem(list, k as ffi::Py_ssize_t) })
                    .filter(|p| !p.is_null()));
                unsafe {
                    ffi::PyErr_Clear();
                    self.warm(&items);
                }
            }
            let event = unsafe { ffi::PyList_GetItem(list, j as ffi::Py_ssize_t) };
            if event.is_null() {
                unsafe { ffi::PyErr_Clear() };
                return Ok(j);
            }
            let held = unsafe { Bound::from_borrowed_ptr(py, event) };
            match unsafe { self.event(py, held.as_ptr(), &calls)? } {
                Step::Done => j += 1,
                Step::Python => return Ok(j),
            }
        }
        Ok(j)
    }
}
