//! Field columns for the classify filter (logpipe/filters/classify/fields.py).
//!
//! The classifier reads about twenty fields of every event, most of them absent,
//! before it can tell that an event shows nothing. In Python each read is a
//! method call; here one call reads every field of a whole batch and hands back
//! one tuple per field (a column), which is what the filter works on.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

/// `columns[i][j]`: field `paths[i]` of event `j`, walked from `event.data` through
/// plain dicts (`type(x) is dict`) with `dict.get`, None where a key is missing or
/// the walk meets something else, as `fields_reader` reads it.
#[pyfunction]
pub fn classify_columns<'py>(py: Python<'py>, events: &Bound<'py, PyList>,
                             paths: Vec<Vec<String>>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let keys: Vec<Vec<Bound<'py, PyString>>> = paths
        .iter()
        .map(|path| path.iter().map(|key| PyString::new_bound(py, key)).collect())
        .collect();
    let n = events.len();
    let mut columns: Vec<Vec<PyObject>> = (0..keys.len()).map(|_| Vec::with_capacity(n)).collect();
    for event in events.iter() {
        let data = event.getattr(intern!(py, "data"))?;
        let data = data.downcast::<PyDict>()?;
        for (path, column) in keys.iter().zip(columns.iter_mut()) {
            column.push(walk(py, data, path)?);
        }
    }
    Ok(columns.into_iter().map(|column| PyTuple::new_bound(py, column)).collect())
}

fn walk<'py>(py: Python<'py>, data: &Bound<'py, PyDict>, path: &[Bound<'py, PyString>]) -> PyResult<PyObject> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(py.None());
    };
    let mut current = data.clone();
    for key in parents {
        match current.get_item(key)? {
            Some(child) if child.is_exact_instance_of::<PyDict>() => {
                current = child.downcast_into::<PyDict>()?;
            }
            _ => return Ok(py.None()),
        }
    }
    Ok(current.get_item(last)?.map_or_else(|| py.None(), |value| value.unbind()))
}
