//! A condition's verdicts for a whole batch, in one call.
//!
//! The generated Python code of a condition (logpipe/core/condition_codegen.py)
//! costs a few dozen bytecodes per event: field reads through `dict.get`, type
//! tests, comparisons. For the constructs whose meaning needs nothing but plain
//! dicts, strings and identity, this program answers the same in a loop over the
//! batch. Wherever that meaning would need Python (a list index or a scalar on
//! the way of a path, a dict subclass, a value whose `==` is its own, text
//! outside ASCII for a regex, an error) the event's verdict is None and the
//! caller evaluates it in Python, from the start: nothing the program did is
//! kept for that event, so the answer (or the exception) is Python's own.
//!
//! Programs are nested tuples written by logpipe/core/condition_native.py:
//!
//! - `("truth", root, keys, negate)`: the value is not None/False (or is, negated);
//! - `("is", root, keys, constant)`: the value is the constant (None, True, False);
//! - `("streq", root, keys, text)`: the value equals the text;
//! - `("in", root, keys, text)`: the text is in the value when it is a list, a
//!   text or a dict (as Python's `in`), false for anything else;
//! - `("match", root, keys, test)`: an `AsciiTest` finds its pattern in the value
//!   (a text); false for anything else;
//! - `("not", node)`, `("and", a, b)`, `("or", a, b)`, `("xor", a, b)`, `("const", bool)`.
//!
//! `root` is 0 for the event's data and 1 for its metadata; `keys` the path below.
//!
//! Most of a program's time on a batch fresh from another filter or thread is
//! spent waiting for memory: each event's object, dicts and dict tables, one read
//! depending on the other. Made with the event class, a program reads the
//! `data` and `metadata` slots of events of exactly that class at their offsets
//! (found once, `Slots::find`) instead of through `getattr`, and before judging a
//! batch it asks for every event's roots, and the dicts and value on the path of
//! the program's first read, to be loaded (`warm`), so that the processor overlaps
//! the waits of different events.

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::asciitest::AsciiTest;

/// Where a verdict stands: decided, or Python's to give.
#[derive(Clone, Copy, PartialEq, Eq)]
enum V {
    T,
    F,
    Python,
}

fn of(b: bool) -> V {
    if b { V::T } else { V::F }
}

struct Read {
    metadata: bool,
    keys: Vec<Py<PyString>>,
}

enum Node {
    Truth(Read, bool),
    Is(Read, PyObject),
    StrEq(Read, String),
    In(Read, Py<PyString>),
    Match(Read, Py<AsciiTest>),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Xor(Box<Node>, Box<Node>),
    Const(bool),
}

fn bad(what: &str) -> PyErr {
    PyValueError::new_err(format!("bad condition program: {what}"))
}

fn read(py: Python<'_>, t: &Bound<'_, PyTuple>) -> PyResult<Read> {
    let root: u8 = t.get_item(1)?.extract()?;
    let keys: Vec<String> = t.get_item(2)?.extract()?;
    if root > 1 || keys.is_empty() {
        return Err(bad("a read needs a root and keys"));
    }
    let keys = keys.iter().map(|k| PyString::intern_bound(py, k).unbind()).collect();
    Ok(Read { metadata: root == 1, keys })
}

fn node(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Node> {
    let t = item.downcast::<PyTuple>()?;
    let op: String = t.get_item(0)?.extract()?;
    let sub = |i: usize| -> PyResult<Box<Node>> { Ok(Box::new(node(py, &t.get_item(i)?)?)) };
    Ok(match op.as_str() {
        "truth" => Node::Truth(read(py, t)?, t.get_item(3)?.extract()?),
        "is" => {
            let c = t.get_item(3)?;
            if !(c.is_none() || c.downcast::<pyo3::types::PyBool>().is_ok()) {
                return Err(bad("`is` compares with None, True or False"));
            }
            Node::Is(read(py, t)?, c.unbind())
        }
        "streq" => Node::StrEq(read(py, t)?, t.get_item(3)?.extract()?),
        "in" => Node::In(read(py, t)?, t.get_item(3)?.downcast_into::<PyString>()?.unbind()),
        "match" => Node::Match(read(py, t)?, t.get_item(3)?.downcast_into::<AsciiTest>()?.unbind()),
        "not" => Node::Not(sub(1)?),
        "and" => Node::And(sub(1)?, sub(2)?),
        "or" => Node::Or(sub(1)?, sub(2)?),
        "xor" => Node::Xor(sub(1)?, sub(2)?),
        "const" => Node::Const(t.get_item(1)?.extract()?),
        _ => return Err(bad(&op)),
    })
}

/// One event's roots: its data and metadata, when both are plain dicts.
struct Roots {
    data: *mut ffi::PyObject,
    metadata: *mut ffi::PyObject,
}

/// The value at a path (borrowed; null when absent or None on the way, which
/// read as None), or Err(()) when the walk meets something only Python reads
/// (a list, a scalar, a dict subclass).
fn get(roots: &Roots, r: &Read) -> Result<*mut ffi::PyObject, ()> {
    let mut holder = if r.metadata { roots.metadata } else { roots.data };
    let last = r.keys.len() - 1;
    for (i, key) in r.keys.iter().enumerate() {
        // SAFETY: holder is an exact dict that the event keeps alive; the GIL is held
        // and nothing here runs Python code that could change it.
        let found = unsafe { ffi::PyDict_GetItemWithError(holder, key.as_ptr()) };
        if found.is_null() {
            if unsafe { !ffi::PyErr_Occurred().is_null() } {
                unsafe { ffi::PyErr_Clear() };
                return Err(());
            }
            return Ok(found);
        }
        if i == last {
            return Ok(found);
        }
        if unsafe { found == ffi::Py_None() } {
            return Ok(std::ptr::null_mut());
        }
        if unsafe { ffi::PyDict_CheckExact(found) } == 0 {
            return Err(());
        }
        holder = found;
    }
    unreachable!()
}

fn is_none(v: *mut ffi::PyObject) -> bool {
    v.is_null() || unsafe { v == ffi::Py_None() }
}

impl Node {
    /// The read every event's evaluation starts with, and whether it looks at the
    /// value itself (a text's content, a container's items) or only at what it is.
    fn first(&self) -> Option<(&Read, bool)> {
        match self {
            Node::Truth(r, _) | Node::Is(r, _) => Some((r, false)),
            Node::StrEq(r, _) | Node::In(r, _) | Node::Match(r, _) => Some((r, true)),
            Node::Not(a) | Node::And(a, _) | Node::Or(a, _) | Node::Xor(a, _) => a.first(),
            Node::Const(_) => None,
        }
    }

    fn reads_metadata(&self) -> bool {
        match self {
            Node::Truth(r, _) | Node::Is(r, _) | Node::StrEq(r, _) | Node::In(r, _) | Node::Match(r, _) => r.metadata,
            Node::Not(a) => a.reads_metadata(),
            Node::And(a, b) | Node::Or(a, b) | Node::Xor(a, b) => a.reads_metadata() || b.reads_metadata(),
            Node::Const(_) => false,
        }
    }

    fn eval(&self, py: Python<'_>, roots: &Roots) -> V {
        match self {
            Node::Const(b) => of(*b),
            Node::Truth(r, negate) => match get(roots, r) {
                Err(()) => V::Python,
                Ok(v) => of((is_none(v) || unsafe { v == ffi::Py_False() }) == *negate),
            },
            Node::Is(r, c) => match get(roots, r) {
                Err(()) => V::Python,
                Ok(v) => {
                    let v = if v.is_null() { unsafe { ffi::Py_None() } } else { v };
                    of(v == c.as_ptr())
                }
            },
            Node::StrEq(r, text) => match get(roots, r) {
                Err(()) => V::Python,
                Ok(v) if is_none(v) => V::F,
                Ok(v) => unsafe {
                    if ffi::PyUnicode_CheckExact(v) != 0 {
                        let mut size: ffi::Py_ssize_t = 0;
                        let p = ffi::PyUnicode_AsUTF8AndSize(v, &mut size);
                        if p.is_null() {
                            ffi::PyErr_Clear();
                            return V::Python;
                        }
                        let bytes = std::slice::from_raw_parts(p as *const u8, size as usize);
                        of(bytes == text.as_bytes())
                    } else if ffi::PyLong_CheckExact(v) != 0 || ffi::PyFloat_CheckExact(v) != 0
                        || ffi::PyBool_Check(v) != 0 || ffi::PyList_CheckExact(v) != 0
                        || ffi::PyDict_CheckExact(v) != 0 {
                        V::F // builtin types that never equal a text
                    } else {
                        V::Python
                    }
                }
            },
            Node::In(r, item) => match get(roots, r) {
                Err(()) => V::Python,
                Ok(v) if is_none(v) => V::F,
                Ok(v) => unsafe {
                    if ffi::PyList_CheckExact(v) != 0 || ffi::PyUnicode_CheckExact(v) != 0
                        || ffi::PyDict_CheckExact(v) != 0 {
                        // Python's own `in`: an element's `==` may run Python code (held
                        // meanwhile), and may raise; then the event is Python's to evaluate again.
                        ffi::Py_INCREF(v);
                        let found = ffi::PySequence_Contains(v, item.as_ptr());
                        ffi::Py_DECREF(v);
                        match found {
                            1 => V::T,
                            0 => V::F,
                            _ => {
                                ffi::PyErr_Clear();
                                V::Python
                            }
                        }
                    } else {
                        V::F
                    }
                }
            },
            Node::Match(r, test) => match get(roots, r) {
                Err(()) => V::Python,
                Ok(v) if is_none(v) => V::F,
                Ok(v) => unsafe {
                    if ffi::PyUnicode_CheckExact(v) == 0 {
                        return V::F;
                    }
                    let text = Bound::from_borrowed_ptr(py, v).downcast_into_unchecked::<PyString>();
                    match test.get().answer(&text) {
                        Some(b) => of(b),
                        None => V::Python,
                    }
                }
            },
            Node::Not(a) => match a.eval(py, roots) {
                V::T => V::F,
                V::F => V::T,
                V::Python => V::Python,
            },
            Node::And(a, b) => match a.eval(py, roots) {
                V::T => b.eval(py, roots),
                other => other,
            },
            Node::Or(a, b) => match a.eval(py, roots) {
                V::F => b.eval(py, roots),
                other => other,
            },
            Node::Xor(a, b) => match (a.eval(py, roots), b.eval(py, roots)) {
                (V::Python, _) | (_, V::Python) => V::Python,
                (x, y) => of(x != y),
            },
        }
    }
}

/// Asks for the cache line at `p` to be loaded: a hint that reads nothing and
/// cannot fault, whatever the address.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Where one exact class keeps its `data` and `metadata` slots, found when the
/// program is made (see `Slots::find`).
pub(crate) struct Slots {
    pub(crate) cls: Py<PyType>,
    pub(crate) data: usize,
    pub(crate) metadata: usize,
}

impl Slots {
    /// The slot offsets of `cls`, found by setting both attributes of a fresh
    /// instance to two new objects and looking for their addresses among the
    /// instance's words; None unless each is found exactly once.
    pub(crate) fn find(cls: &Bound<'_, PyType>) -> PyResult<Option<Slots>> {
        let py = cls.py();
        let basic: usize = cls.getattr(intern!(py, "__basicsize__"))?.extract()?;
        let probe = cls.call_method1(intern!(py, "__new__"), (cls,))?;
        if !probe.get_type().is(cls) {
            return Ok(None);
        }
        let (a, b) = (PyDict::new_bound(py), PyDict::new_bound(py));
        probe.setattr(intern!(py, "data"), &a)?;
        probe.setattr(intern!(py, "metadata"), &b)?;
        let word = std::mem::size_of::<*mut ffi::PyObject>();
        let head = std::mem::size_of::<ffi::PyObject>();
        let base = probe.as_ptr() as *const u8;
        let (mut data, mut metadata) = (Vec::new(), Vec::new());
        let mut off = head;
        while off + word <= basic {
            // SAFETY: the instance is `basic` bytes long, and the word lies inside it.
            let w = unsafe { std::ptr::read_unaligned(base.add(off) as *const *mut ffi::PyObject) };
            if w == a.as_ptr() {
                data.push(off);
            } else if w == b.as_ptr() {
                metadata.push(off);
            }
            off += word;
        }
        if data.len() != 1 || metadata.len() != 1 {
            return Ok(None);
        }
        Ok(Some(Slots { cls: cls.clone().unbind(), data: data[0], metadata: metadata[0] }))
    }

    /// The object in the slot at `off` of `event` (borrowed, maybe null: unset).
    /// SAFETY: `event`'s type must be exactly `cls`.
    #[inline(always)]
    pub(crate) unsafe fn read(event: *mut ffi::PyObject, off: usize) -> *mut ffi::PyObject {
        std::ptr::read_unaligned((event as *const u8).add(off) as *const *mut ffi::PyObject)
    }

    /// The `data` slot (and with `meta`, the `metadata` slot) of each event of
    /// exactly this class, borrowed, at its index (other events' entries are left
    /// alone), each object asked to be loaded: the first step of loading a chunk
    /// of events ahead.
    /// SAFETY: the events are live, the GIL is held, and no Python code runs
    /// while the borrowed pointers are used.
    pub(crate) unsafe fn load(&self, items: &[*mut ffi::PyObject], data: &mut [*mut ffi::PyObject],
                              mut meta: Option<&mut [*mut ffi::PyObject]>) {
        let cls = self.cls.as_ptr() as *mut ffi::PyTypeObject;
        for (j, &event) in items.iter().enumerate() {
            if ffi::Py_TYPE(event) != cls {
                continue;
            }
            let d = Slots::read(event, self.data);
            prefetch(d as *const u8);
            data[j] = d;
            if let Some(meta) = meta.as_deref_mut() {
                let m = Slots::read(event, self.metadata);
                prefetch(m as *const u8);
                meta[j] = m;
            }
        }
    }
}

/// Where a dict object keeps the pointer to its table, on the CPython versions
/// whose layout is known (3.11 to 3.13: after the header, `ma_used` and
/// `ma_version_tag`); only ever read to prefetch the table, so a wrong guess
/// would cost speed, not correctness.
pub(crate) fn dict_keys_offset(py: Python<'_>) -> Option<usize> {
    let v = py.version_info();
    if v.major == 3 && (11..=13).contains(&v.minor) && std::mem::size_of::<usize>() == 8 {
        Some(std::mem::size_of::<ffi::PyObject>() + 16)
    } else {
        None
    }
}

/// How many events are loaded ahead at a time: what their first reads bring in
/// (a dozen cache lines each) must still be in the core's first-level cache when
/// they are judged, and must not push out what the rest of the filter thread uses.
const WARM_CHUNK: usize = 32;

#[pyclass(frozen, module = "logpipe_native")]
pub struct ConditionProgram {
    root: Node,
    /// Whether any read is in the metadata (else it is not looked up).
    metadata: bool,
    /// The event class's slots, read directly for events of exactly that class.
    slots: Option<Slots>,
    keys_offset: Option<usize>,
    /// The condition as Python code, called for the events the program leaves to
    /// Python: its verdict, or its exception, is the batch's.
    fallback: Option<PyObject>,
}

impl ConditionProgram {
    /// The verdict for one event (borrowed), its roots read as the program needs them.
    unsafe fn event(&self, event: *mut ffi::PyObject, k_data: *mut ffi::PyObject,
                    k_metadata: *mut ffi::PyObject) -> V {
        let (data, metadata) = match &self.slots {
            Some(s) if ffi::Py_TYPE(event) == s.cls.as_ptr() as *mut ffi::PyTypeObject => {
                let data = Slots::read(event, s.data);
                let metadata = if self.metadata { Slots::read(event, s.metadata) } else { std::ptr::null_mut() };
                if data.is_null() || (self.metadata && metadata.is_null()) {
                    return V::Python; // an unset slot: Python's AttributeError
                }
                ffi::Py_INCREF(data);
                if !metadata.is_null() {
                    ffi::Py_INCREF(metadata);
                }
                (data, metadata)
            }
            _ => {
                let data = ffi::PyObject_GetAttr(event, k_data);
                if data.is_null() {
                    ffi::PyErr_Clear();
                    return V::Python;
                }
                let metadata = if self.metadata { ffi::PyObject_GetAttr(event, k_metadata) } else { std::ptr::null_mut() };
                if self.metadata && metadata.is_null() {
                    ffi::PyErr_Clear();
                    ffi::Py_DECREF(data);
                    return V::Python;
                }
                (data, metadata)
            }
        };
        // Both held: a value's own `==` (run by `in`) may rebind the event's attributes.
        let verdict = if ffi::PyDict_CheckExact(data) == 0 || (self.metadata && ffi::PyDict_CheckExact(metadata) == 0) {
            V::Python
        } else {
            let py = Python::assume_gil_acquired();
            self.root.eval(py, &Roots { data, metadata })
        };
        ffi::Py_DECREF(data);
        if !metadata.is_null() {
            ffi::Py_DECREF(metadata);
        }
        verdict
    }

    /// Loads ahead what every event's evaluation will read first: the event
    /// objects, their data (and metadata) dicts and those dicts' tables, then,
    /// level by level, the dicts on the way of the program's first read and, when
    /// it looks into the value (a text to match or compare), the value. A batch
    /// fresh from another thread or filter is mostly outside this core's caches,
    /// and an evaluation that finds it there waits on one memory read after
    /// another; here the reads of different events do not depend on each other,
    /// so the processor overlaps them. Only the first read goes deeper than the
    /// roots: the others may never be evaluated (`and`, `or`), and their lookups
    /// would cost more than they save (measured on the graphmemory conditions).
    ///
    /// Nothing found here is used for a verdict: `event` reads the slots again.
    /// The lookups of the deeper levels may run a key's own `==`, so the dicts
    /// they go through are held meanwhile.
    unsafe fn warm(&self, items: &[*mut ffi::PyObject]) {
        let Some(s) = &self.slots else { return };
        let n = items.len();
        let mut data: Vec<*mut ffi::PyObject> = vec![std::ptr::null_mut(); n];
        let mut metadata: Vec<*mut ffi::PyObject> = vec![std::ptr::null_mut(); if self.metadata { n } else { 0 }];
        // No Python code runs in these first two passes: the borrowed pointers hold.
        s.load(items, &mut data, if self.metadata { Some(&mut metadata) } else { None });
        let keys_offset = self.keys_offset;
        let table = |d: *mut ffi::PyObject| {
            let Some(off) = keys_offset else { return };
            if !d.is_null() && ffi::PyDict_CheckExact(d) != 0 {
                let t = std::ptr::read_unaligned((d as *const u8).add(off) as *const *const u8);
                prefetch(t);
                prefetch(t.wrapping_add(64));
                prefetch(t.wrapping_add(128));
            }
        };
        data.iter().for_each(|&d| table(d));
        metadata.iter().for_each(|&d| table(d));
        let Some((r, value)) = self.root.first() else { return };
        let depth = if value { r.keys.len() } else { r.keys.len() - 1 };
        if depth == 0 {
            return;
        }
        let mut cur: Vec<*mut ffi::PyObject> = if r.metadata { metadata } else { data };
        for h in cur.iter_mut() {
            if h.is_null() || ffi::PyDict_CheckExact(*h) == 0 {
                *h = std::ptr::null_mut();
            } else {
                ffi::Py_INCREF(*h);
            }
        }
        for (level, key) in r.keys.iter().take(depth).enumerate() {
            for h in cur.iter_mut() {
                let holder = *h;
                if holder.is_null() {
                    continue;
                }
                let v = ffi::PyDict_GetItemWithError(holder, key.as_ptr());
                if v.is_null() {
                    ffi::PyErr_Clear();
                    *h = std::ptr::null_mut();
                } else {
                    prefetch(v as *const u8);
                    prefetch((v as *const u8).wrapping_add(64));
                    let deeper = level + 1 < r.keys.len() && ffi::PyDict_CheckExact(v) != 0;
                    if deeper {
                        ffi::Py_INCREF(v);
                        *h = v;
                    } else {
                        *h = std::ptr::null_mut();
                    }
                }
                ffi::Py_DECREF(holder);
            }
            cur.iter().for_each(|&d| table(d));
        }
        for &h in &cur {
            if !h.is_null() {
                ffi::Py_DECREF(h);
            }
        }
    }
}

#[pymethods]
impl ConditionProgram {
    /// `event_type`: the event class, whose instances' slots are then read
    /// directly (other classes, subclasses included, through `getattr`);
    /// `fallback`: the condition as a function of one event, which answers for the
    /// events the program cannot judge (else their verdict is None).
    #[new]
    #[pyo3(signature = (program, event_type=None, fallback=None))]
    fn new(py: Python<'_>, program: &Bound<'_, PyAny>, event_type: Option<&Bound<'_, PyType>>,
           fallback: Option<PyObject>) -> PyResult<Self> {
        let root = node(py, program)?;
        let metadata = root.reads_metadata();
        let slots = match event_type {
            Some(cls) => Slots::find(cls)?,
            None => None,
        };
        Ok(ConditionProgram { root, metadata, slots, keys_offset: dict_keys_offset(py), fallback })
    }

    /// Whether events of the given class have their slots read directly (for tests).
    fn reads_slots(&self) -> bool {
        self.slots.is_some()
    }

    /// One verdict per event (a list, or anything iterable): True or False, and
    /// for an event the program cannot judge (its data or metadata not plain
    /// dicts, or a value as above) the fallback's answer, or None without one. An
    /// exception of the fallback is raised at once, as the generated code's own
    /// loop over the batch would raise it.
    fn verdicts<'py>(&self, py: Python<'py>, events: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let events = match events.downcast::<PyList>() {
            Ok(list) => list.clone(),
            Err(_) => PyList::new_bound(py, events.iter()?.collect::<PyResult<Vec<_>>>()?),
        };
        let k_data = intern!(py, "data").as_ptr();
        let k_metadata = intern!(py, "metadata").as_ptr();
        let n = events.len();
        // SAFETY: a new list of n places, each set once below before it is returned.
        let out = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n as ffi::Py_ssize_t))? };
        let mut items: Vec<*mut ffi::PyObject> = Vec::with_capacity(WARM_CHUNK);
        for j in 0..n {
            if j % WARM_CHUNK == 0 {
                // Borrowed, read now: the list holds them, and nothing runs before `warm` is done.
                items.clear();
                items.extend((j..n.min(j + WARM_CHUNK))
                    .map(|k| unsafe { ffi::PyList_GetItem(events.as_ptr(), k as ffi::Py_ssize_t) })
                    .filter(|p| !p.is_null()));
                unsafe {
                    ffi::PyErr_Clear();
                    self.warm(&items);
                }
            }
            // An owned reference to the verdict, stolen by the list (the fallback's
            // answer is stored where it is made).
            let verdict = unsafe {
                // Read again: Python code run for an earlier event may have changed the list.
                let event = ffi::PyList_GetItem(events.as_ptr(), j as ffi::Py_ssize_t);
                if event.is_null() {
                    ffi::PyErr_Clear();
                    ffi::Py_INCREF(ffi::Py_None());
                    ffi::Py_None()
                } else {
                    let borrowed = match self.event(event, k_data, k_metadata) {
                        V::T => ffi::Py_True(),
                        V::F => ffi::Py_False(),
                        V::Python => match &self.fallback {
                            None => ffi::Py_None(),
                            Some(f) => {
                                let held = Bound::from_borrowed_ptr(py, event); // held during the call
                                let answer = f.bind(py).call1((held,))?.into_ptr();
                                ffi::PyList_SetItem(out.as_ptr(), j as ffi::Py_ssize_t, answer); // steals it
                                continue;
                            }
                        },
                    };
                    ffi::Py_INCREF(borrowed);
                    borrowed
                }
            };
            unsafe {
                ffi::PyList_SetItem(out.as_ptr(), j as ffi::Py_ssize_t, verdict); // steals it
            }
        }
        Ok(unsafe { out.downcast_into_unchecked::<PyList>() })
    }
}
