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

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

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

#[pyclass(frozen, module = "logpipe_native")]
pub struct ConditionProgram {
    root: Node,
    /// Whether any read is in the metadata (else it is not looked up).
    metadata: bool,
}

impl ConditionProgram {
    /// The verdict for one event (borrowed), its roots read as the program needs them.
    unsafe fn event(&self, event: *mut ffi::PyObject, k_data: *mut ffi::PyObject,
                    k_metadata: *mut ffi::PyObject) -> V {
        let data = ffi::PyObject_GetAttr(event, k_data);
        if data.is_null() {
            ffi::PyErr_Clear();
            return V::Python;
        }
        let metadata = if self.metadata { ffi::PyObject_GetAttr(event, k_metadata) } else { std::ptr::null_mut() };
        let verdict = if self.metadata && metadata.is_null() {
            ffi::PyErr_Clear();
            V::Python
        } else if ffi::PyDict_CheckExact(data) == 0 || (self.metadata && ffi::PyDict_CheckExact(metadata) == 0) {
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
}

#[pymethods]
impl ConditionProgram {
    #[new]
    fn new(py: Python<'_>, program: &Bound<'_, PyAny>) -> PyResult<Self> {
        let root = node(py, program)?;
        let metadata = root.reads_metadata();
        Ok(ConditionProgram { root, metadata })
    }

    /// One verdict per event: True, False, or None where Python must evaluate the
    /// event (its data or metadata not plain dicts, or a construct above).
    fn verdicts<'py>(&self, py: Python<'py>, events: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyList>> {
        let k_data = intern!(py, "data").as_ptr();
        let k_metadata = intern!(py, "metadata").as_ptr();
        let n = events.len();
        // SAFETY: a new list of n places, each set once below before it is returned.
        let out = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n as ffi::Py_ssize_t))? };
        for j in 0..n {
            let verdict = unsafe {
                let event = ffi::PyList_GetItem(events.as_ptr(), j as ffi::Py_ssize_t);
                if event.is_null() {
                    ffi::PyErr_Clear();
                    ffi::Py_None()
                } else {
                    match self.event(event, k_data, k_metadata) {
                        V::T => ffi::Py_True(),
                        V::F => ffi::Py_False(),
                        V::Python => ffi::Py_None(),
                    }
                }
            };
            unsafe {
                ffi::Py_INCREF(verdict);
                ffi::PyList_SetItem(out.as_ptr(), j as ffi::Py_ssize_t, verdict); // steals it
            }
        }
        Ok(unsafe { out.downcast_into_unchecked::<PyList>() })
    }
}
