//! Borrowed reads of plain Python objects, for the native batch loops.
//!
//! Each loop goes native only through exact dicts and strs, whose lookups and
//! type tests run no Python code; these are the few calls they share.

use pyo3::ffi;

/// The value of `key` in the exact dict `holder` (borrowed; null when absent), or
/// Err(()) when the lookup raised.
#[inline(always)]
pub(crate) unsafe fn get(holder: *mut ffi::PyObject, key: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
    let found = ffi::PyDict_GetItemWithError(holder, key);
    if found.is_null() && !ffi::PyErr_Occurred().is_null() {
        ffi::PyErr_Clear();
        return Err(());
    }
    Ok(found)
}

#[inline(always)]
pub(crate) unsafe fn is_none(v: *mut ffi::PyObject) -> bool {
    v.is_null() || v == ffi::Py_None()
}

#[inline(always)]
pub(crate) unsafe fn is_dict(v: *mut ffi::PyObject) -> bool {
    !v.is_null() && ffi::PyDict_CheckExact(v) != 0
}

#[inline(always)]
pub(crate) unsafe fn is_str(v: *mut ffi::PyObject) -> bool {
    !v.is_null() && ffi::PyUnicode_CheckExact(v) != 0
}
