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

/// The UTF-8 text of a str object; None when it holds a lone surrogate.
///
/// Safety: `obj` is a live exact str and the GIL is held. The text is the str's own
/// (ASCII) or its cached UTF-8 form, and lives as long as the object.
pub(crate) unsafe fn utf8<'a>(obj: *mut ffi::PyObject) -> Option<&'a str> {
    let mut size: ffi::Py_ssize_t = 0;
    let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut size);
    if data.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    Some(std::str::from_utf8_unchecked(std::slice::from_raw_parts(data as *const u8, size as usize)))
}
