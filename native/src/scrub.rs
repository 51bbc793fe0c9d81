//! The scrub filter's event check: which strings of each event could hold
//! something to mask, and which keys could name a secret field.
//!
//! The Python check serializes every event to JSON and scans the batch's text
//! (logpipe/filters/scrub/prefilter.py), then maps each trigger back to the string
//! it lies in. Here the event's dicts and lists are walked as they are and every
//! string value is searched on its own, so nothing is serialized and nothing has
//! to be placed: the answer for a string is the set of triggers found in it.
//!
//! The trigger patterns are written by logpipe/filters/scrub/native.py, one per
//! kind; a kind's pattern matches somewhere in every text its mask matches in, so
//! a string in which no pattern matches has nothing to mask. Most strings hold no
//! trigger, and for them the cost is one pass of the set's automaton
//! (`RegexSet::is_match`); only a string that holds one is scanned again for
//! which (`RegexSet::matches`). Keys are compared with the secret field names
//! after the normalization `Scrubber.is_secret_name` applies; a key outside ASCII
//! is always reported, for Python to decide (its `str.lower` maps the Kelvin sign
//! to `k`).
//!
//! Events repeat themselves: most strings are one of a few thousand values (methods,
//! routes, agent and place names) and the keys are a small vocabulary. The check
//! remembers its verdicts (`Memo`): a short string's kind bits by its text, a key's
//! verdict by the key object itself. A remembered answer is the one the search gave,
//! so it is always the answer the search would give again.
//!
//! Some dicts are in many events at once and never change: the objects geoip,
//! useragent and perfclass share between events when nothing after them may change
//! those (logpipe/core/sharing.py, logpipe/core/frozen.py). The pipeline hands them
//! over (`vouch`) as they are made; each is walked once, and one that holds no hit
//! is remembered by its address (`Memo::clean`) and skipped wherever an event holds
//! it: walking it again would find nothing again. Only objects handed over are ever
//! skipped, so an object an event owns, which may change between batches, is always
//! walked.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PyString};

use crate::pyobj::utf8;

/// Deeper than this, the event is left to the Python check (orjson refuses
/// documents nested deeper than 255 levels, and a cycle never ends).
const MAX_DEPTH: usize = 200;

/// How many items of a dict are read ahead (see `ScrubCheck::dict`).
const PREFETCHED: usize = 16;

/// A vouched object is walked as if it lay this deep, and skipped only where it lies
/// no deeper: whenever it is skipped, walking it would not have gone past `MAX_DEPTH`
/// (it is kept only when nothing in it lies more than `MAX_DEPTH - FROZEN_DEPTH`
/// levels down), so skipping never hides a fallback.
const FROZEN_DEPTH: usize = MAX_DEPTH / 2;

/// Asks for the first two cache lines of an object (its header, and for a short
/// str its text) to be loaded.
#[inline(always)]
fn prefetch(obj: *mut ffi::PyObject) {
    #[cfg(target_arch = "x86_64")]
    // Safety: a prefetch is a hint; it reads nothing and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(obj as *const i8);
        _mm_prefetch::<_MM_HINT_T0>((obj as *const i8).wrapping_add(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = obj;
}

/// The event cannot be answered here (a string that is not valid Unicode, nesting
/// too deep, something other than a dict): the Python check decides it.
struct Fallback;

/// The trigger patterns, the secret field names and the plan objects of one scrubber.
#[pyclass(frozen, module = "logpipe_native")]
pub struct ScrubCheck {
    set: Option<regex::RegexSet>,
    /// The kind bit of each pattern in `set`.
    bits: Vec<u8>,
    /// Normalized secret field names, by their last byte: a key that is one of them
    /// is a secret.
    exact: Names,
    /// The same in suffix mode (else empty): a key that ends with one is a secret.
    suffixes: Names,
    key_bit: u8,
    /// Strings shorter than this many bytes hold nothing to mask.
    shortest: usize,
    /// The plan object for each combination of kind bits; index 0 is "nothing".
    plans: Vec<PyObject>,
    /// The verdicts remembered across calls (see `Memo`).
    memo: Mutex<Memo>,
    /// At most this many texts and as many keys are remembered.
    memo_entries: usize,
    /// Texts longer than this many bytes are not remembered: long strings (messages,
    /// stack traces) rarely come back and would make the memo large.
    memo_text_bytes: usize,
    /// At most this many clean vouched objects are remembered (`Memo::clean`).
    clean_entries: usize,
}

/// A word-at-a-time multiplicative hash (the one rustc uses for its tables): the
/// memo's keys are short texts and pointers, which SipHash would spend more on than
/// the lookup saves. Collisions cost speed only: a lookup compares whole texts.
#[derive(Default)]
pub(crate) struct Fx(u64);

const FX_SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl Fx {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// The product's well-mixed high bits moved to where the table takes its index
    /// from (aligned pointers have zero low bits, and so would the index).
    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Verdicts already reached, so a value or key seen before costs one lookup
/// instead of a search. The maps are emptied when full and the short texts' slots
/// are taken over by newcomers: either way what is common comes back at once, and
/// the bound holds whatever the events hold.
#[derive(Default)]
struct Memo {
    /// A short string's kind bits (0: nothing to mask), by its UTF-8 text (see `Short`).
    short: Short,
    /// The same for longer strings, up to `memo_text_bytes`.
    texts: FxMap<Box<[u8]>, u8>,
    /// Whether a key could be a secret name, by the key's address. The entry holds a
    /// reference to the key, so the address cannot be reused by another object while
    /// it is remembered; a str never changes.
    keys: FxMap<usize, (Py<PyString>, bool)>,
    /// The dicts and lists that were vouched for as never changing (`vouch`) and hold
    /// no hit, by address. The entry holds a reference to the object, so the address
    /// cannot be reused by another object while it is remembered. Emptied when full:
    /// the objects handed over after that are skipped, the others walked again.
    clean: FxMap<usize, PyObject>,
}

impl Memo {
    /// Whether the dict or list `obj`, lying at `depth`, is a clean vouched object
    /// that may be skipped (see `FROZEN_DEPTH`).
    #[inline(always)]
    fn skips(&self, obj: *mut ffi::PyObject, depth: usize) -> bool {
        !self.clean.is_empty() && depth < FROZEN_DEPTH && self.clean.contains_key(&(obj as usize))
    }
}

/// The longest text `Short` holds, in bytes.
const SHORT_BYTES: usize = 8 * SHORT_WORDS;
const SHORT_WORDS: usize = 7;

/// One remembered short text and its bits: the text zero-padded to whole words, so a
/// lookup compares one cache line with words it already holds.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct ShortSlot {
    words: [u64; SHORT_WORDS],
    /// The text's length in bytes; 0 for a free slot (the empty text is not kept).
    len: u8,
    bits: u8,
}

/// Short texts' kind bits, kept in the table itself: a lookup reads one slot, with
/// nothing to follow, and remembering allocates nothing. Most strings that are
/// searched are short (methods, routes, names, ids). Direct-mapped: a
/// newcomer replaces what its slot held, so the table is bounded by its size and
/// what is common is back at once after being replaced.
#[derive(Default)]
struct Short {
    /// Empty (nothing remembered) or a power of two long.
    slots: Vec<ShortSlot>,
    held: usize,
}

impl Short {
    fn new(entries: usize) -> Short {
        let size = if entries == 0 { 0 } else { 1 << (usize::BITS - 1 - entries.leading_zeros()) };
        Short { slots: vec![ShortSlot::default(); size], held: 0 }
    }

    /// The text as zero-padded words, and its slot; None when the text is empty or
    /// longer than `SHORT_BYTES`, or nothing is kept.
    #[inline(always)]
    fn place(&self, text: &[u8]) -> Option<([u64; SHORT_WORDS], usize)> {
        if self.slots.is_empty() || text.is_empty() || text.len() > SHORT_BYTES {
            return None;
        }
        let mut words = [0u64; SHORT_WORDS];
        let mut hash = Fx(text.len() as u64);
        let mut chunks = text.chunks_exact(8);
        let mut i = 0;
        for chunk in &mut chunks {
            words[i] = u64::from_le_bytes(chunk.try_into().unwrap());
            hash.add(words[i]);
            i += 1;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = 0u64;
            for (k, &b) in rest.iter().enumerate() {
                last |= (b as u64) << (8 * k);
            }
            words[i] = last;
            hash.add(last);
        }
        Some((words, hash.finish() as usize & (self.slots.len() - 1)))
    }

    #[inline(always)]
    fn get(&self, words: &[u64; SHORT_WORDS], len: usize, at: usize) -> Option<u8> {
        let slot = &self.slots[at];
        // Word by word without branching (`==` on the arrays calls memcmp).
        let mut differ = slot.len as u64 ^ len as u64;
        for (held, word) in slot.words.iter().zip(words) {
            differ |= held ^ word;
        }
        (differ == 0).then_some(slot.bits)
    }

    fn put(&mut self, words: [u64; SHORT_WORDS], len: usize, at: usize, bits: u8) {
        let slot = &mut self.slots[at];
        if slot.len == 0 {
            self.held += 1;
        }
        *slot = ShortSlot { words, len: len as u8, bits };
    }
}

impl ScrubCheck {
    /// The kind bits of the triggers found in `text` (0: none).
    fn text_bits(&self, text: &str) -> u8 {
        let Some(set) = &self.set else { return 0 };
        if text.len() < self.shortest || !set.is_match(text) {
            return 0;
        }
        set.matches(text).iter().fold(0, |acc, i| acc | self.bits[i])
    }

    /// `text_bits` through the memo (texts up to `memo_text_bytes` long).
    fn text_bits_memo(&self, text: &str, memo: &mut Memo) -> u8 {
        if self.set.is_none() || text.len() < self.shortest {
            return 0;
        }
        if text.len() > self.memo_text_bytes {
            return self.text_bits(text);
        }
        if let Some((words, at)) = memo.short.place(text.as_bytes()) {
            if let Some(bits) = memo.short.get(&words, text.len(), at) {
                return bits;
            }
            let bits = self.text_bits(text);
            memo.short.put(words, text.len(), at, bits);
            return bits;
        }
        if let Some(bits) = memo.texts.get(text.as_bytes()) {
            return *bits;
        }
        let bits = self.text_bits(text);
        if memo.texts.len() >= self.memo_entries {
            memo.texts.clear();
        }
        if self.memo_entries > 0 {
            memo.texts.insert(Box::from(text.as_bytes()), bits);
        }
        bits
    }

    /// Whether `key` could be a secret field name: exactly `is_secret_name` for an
    /// ASCII key (compared from its end with the names that end as it does, case and
    /// `-`/`_` ignored), always true for any other.
    fn maybe_secret(&self, key: &str) -> bool {
        if !key.is_ascii() {
            return true;
        }
        let key = key.as_bytes();
        let end = significant_end(key, key.len());
        if end == 0 {
            // The normal form is empty: a secret if a name is empty too.
            return self.exact.empty || self.suffixes.empty;
        }
        if self.suffixes.empty {
            return true;
        }
        let last = key[end - 1].to_ascii_lowercase();
        if self.exact.ending(last).iter().any(|name| from_end(key, end, name, true))
            || self.suffixes.ending(last).iter().any(|name| from_end(key, end, name, false)) {
            return true;
        }
        // Python's `(?:names)$` also matches before a final newline.
        if last == b'\n' && !self.suffixes.by_last.is_empty() {
            let head = significant_end(key, end - 1);
            if head > 0 {
                let last = key[head - 1].to_ascii_lowercase();
                return self.suffixes.ending(last).iter().any(|name| from_end(key, head, name, false));
            }
        }
        false
    }

    /// Walks a dict: its str keys are checked, its values walked. True when it
    /// holds a hit (a key named, or a string with a trigger, here or below).
    ///
    /// Safety (this and the two below): `obj` is a live object of the named exact
    /// type and the GIL is held. The walk runs no Python code and changes nothing,
    /// so the borrowed references it reads stay valid; what it keeps (the hits) it
    /// takes a reference to.
    unsafe fn dict<'py>(&self, py: Python<'py>, obj: *mut ffi::PyObject, depth: usize, walk: &mut Walk<'py, '_>) -> Result<bool, Fallback> {
        if depth > MAX_DEPTH {
            return Err(Fallback);
        }
        let mut held = false;
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key: *mut ffi::PyObject = std::ptr::null_mut();
        let mut value: *mut ffi::PyObject = std::ptr::null_mut();
        // The items are taken a few at a time and their values' headers asked for
        // before any is looked at, so the memory reads overlap instead of queueing.
        let mut items = [(std::ptr::null_mut(), std::ptr::null_mut()); PREFETCHED];
        loop {
            let mut taken = 0;
            while taken < PREFETCHED && ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) != 0 {
                prefetch(value);
                items[taken] = (key, value);
                taken += 1;
            }
            for &(key, value) in &items[..taken] {
                // The walk looks at keys of type str only (not subclasses), like values.
                if ffi::Py_TYPE(key) == std::ptr::addr_of_mut!(ffi::PyUnicode_Type) && self.key_secret(py, key, walk.memo)? {
                    note(py, &mut walk.hits, key, utf8(key).ok_or(Fallback)?, self.key_bit);
                    held = true;
                }
                held |= self.value(py, value, depth, walk)?;
            }
            if taken < PREFETCHED {
                return Ok(held);
            }
        }
    }

    /// `maybe_secret` of the exact str `key`, through the memo.
    ///
    /// Safety: as for `dict`.
    unsafe fn key_secret(&self, py: Python<'_>, key: *mut ffi::PyObject, memo: &mut Memo) -> Result<bool, Fallback> {
        if let Some((_, secret)) = memo.keys.get(&(key as usize)) {
            return Ok(*secret);
        }
        let secret = self.maybe_secret(utf8(key).ok_or(Fallback)?);
        if memo.keys.len() >= self.memo_entries {
            memo.keys.clear();
        }
        if self.memo_entries > 0 {
            let held = Bound::from_borrowed_ptr(py, key).downcast_into_unchecked::<PyString>().unbind();
            memo.keys.insert(key as usize, (held, secret));
        }
        Ok(secret)
    }

    unsafe fn list<'py>(&self, py: Python<'py>, obj: *mut ffi::PyObject, depth: usize, walk: &mut Walk<'py, '_>) -> Result<bool, Fallback> {
        if depth > MAX_DEPTH {
            return Err(Fallback);
        }
        let mut held = false;
        for i in 0..ffi::PyList_Size(obj) {
            let item = ffi::PyList_GetItem(obj, i);
            if item.is_null() {
                ffi::PyErr_Clear();
                return Err(Fallback);
            }
            held |= self.value(py, item, depth, walk)?;
        }
        Ok(held)
    }

    /// Walks one value; true when it is, or holds, a hit. A dict or list that holds
    /// one is added to the holders.
    unsafe fn value<'py>(&self, py: Python<'py>, value: *mut ffi::PyObject, depth: usize, walk: &mut Walk<'py, '_>) -> Result<bool, Fallback> {
        let kind = ffi::Py_TYPE(value);
        let held = if kind == std::ptr::addr_of_mut!(ffi::PyUnicode_Type) {
            let text = utf8(value).ok_or(Fallback)?;
            let bits = self.text_bits_memo(text, walk.memo);
            if bits != 0 {
                note(py, &mut walk.hits, value, text, bits);
            }
            return Ok(bits != 0);
        } else if kind == std::ptr::addr_of_mut!(ffi::PyDict_Type) {
            if walk.memo.skips(value, depth) {
                return Ok(false);
            }
            self.dict(py, value, depth + 1, walk)?
        } else if kind == std::ptr::addr_of_mut!(ffi::PyList_Type) {
            if walk.memo.skips(value, depth) {
                return Ok(false);
            }
            self.list(py, value, depth + 1, walk)?
        } else {
            false
        };
        if held {
            walk.holders.push(value as usize);
        }
        Ok(held)
    }

    /// One event's plan: the "nothing" plan, or a dict {text: kinds}; its holders
    /// are left in `walk.holders`.
    fn event<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>, walk: &mut Walk<'py, '_>) -> Result<PyObject, Fallback> {
        if !data.is_exact_instance_of::<PyDict>() {
            return Err(Fallback);
        }
        walk.hits.clear();
        walk.holders.clear();
        // Safety: an exact dict, held by the caller's list, with the GIL held.
        unsafe { self.dict(py, data.as_ptr(), 0, walk)? };
        if walk.hits.is_empty() {
            return Ok(self.plans[0].clone_ref(py));
        }
        let plan = PyDict::new_bound(py);
        for (text, bits) in walk.hits.drain(..) {
            plan.set_item(text, self.plans[bits as usize].bind(py)).map_err(|_| Fallback)?;
        }
        Ok(plan.into_any().unbind())
    }

    /// The plans of a batch (None for an event left to Python, whose index is
    /// listed), and with `holders` each planned event's holders (else None).
    ///
    /// The memo is taken once for the call. Should it be busy (the call re-entered
    /// from a finalizer run by a collection, or another thread let in meanwhile),
    /// this call keeps a memo of its own rather than wait while holding the GIL.
    fn batch<'py>(&self, py: Python<'py>, datas: &Bound<'py, PyList>, holders: bool) -> PyResult<(Vec<PyObject>, Vec<PyObject>, Vec<usize>)> {
        let mut plans: Vec<PyObject> = Vec::with_capacity(datas.len());
        let mut held: Vec<PyObject> = Vec::with_capacity(if holders { datas.len() } else { 0 });
        let mut fallback = Vec::new();
        let mut own = Memo::default();
        let mut shared = match self.memo.try_lock() {
            Ok(guard) => Some(guard),
            // A panic while it was held leaves entries that are each whole.
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        let mut walk = Walk {
            hits: Vec::new(),
            holders: Vec::new(),
            memo: match shared.as_deref_mut() {
                Some(memo) => memo,
                None => &mut own,
            },
        };
        for (i, data) in datas.iter().enumerate() {
            match self.event(py, &data, &mut walk) {
                Ok(plan) => {
                    if holders {
                        held.push(if plan.is(&self.plans[0]) {
                            py.None()
                        } else {
                            PyFrozenSet::new_bound(py, walk.holders.iter())?.into_any().unbind()
                        });
                    }
                    plans.push(plan);
                }
                Err(Fallback) => {
                    plans.push(py.None());
                    if holders {
                        held.push(py.None());
                    }
                    fallback.push(i);
                }
            }
        }
        Ok((plans, held, fallback))
    }
}

impl ScrubCheck {
    /// Walks one vouched object and remembers it when it holds no hit (see `vouch`);
    /// true when it is remembered now or was already.
    fn learn(&self, py: Python<'_>, obj: &Bound<'_, PyAny>, memo: &mut Memo) -> bool {
        let ptr = obj.as_ptr();
        if memo.clean.contains_key(&(ptr as usize)) {
            return true;
        }
        let mut walk = Walk { hits: Vec::new(), holders: Vec::new(), memo };
        // Safety: an exact dict or list, held by the caller's list, with the GIL held.
        let held = unsafe {
            if obj.is_exact_instance_of::<PyDict>() {
                self.dict(py, ptr, FROZEN_DEPTH, &mut walk)
            } else if obj.is_exact_instance_of::<PyList>() {
                self.list(py, ptr, FROZEN_DEPTH, &mut walk)
            } else {
                return false;
            }
        };
        if !matches!(held, Ok(false)) || self.clean_entries == 0 {
            return false;
        }
        if memo.clean.len() >= self.clean_entries {
            memo.clean.clear();
        }
        memo.clean.insert(ptr as usize, obj.clone().unbind());
        true
    }
}

/// What the walk of one event gathers.
struct Walk<'py, 'm> {
    hits: Hits<'py>,
    /// The addresses (`id()`) of the dicts and lists below the event's top that
    /// hold a hit at any depth.
    holders: Vec<usize>,
    memo: &'m mut Memo,
}

/// Names grouped by their last byte, so a key is compared with the few that end
/// as it does.
struct Names {
    by_last: Vec<Vec<Vec<u8>>>,
    /// An empty name: it ends every key, and is the normal form of `-` or `_`.
    empty: bool,
}

impl Names {
    fn new(names: Vec<String>) -> Names {
        let mut by_last = vec![Vec::new(); if names.is_empty() { 0 } else { 256 }];
        let mut empty = false;
        for name in names {
            match name.as_bytes().last() {
                Some(last) => by_last[*last as usize].push(name.into_bytes()),
                None => empty = true,
            }
        }
        Names { by_last, empty }
    }

    /// The names whose last byte is `last`.
    fn ending(&self, last: u8) -> &[Vec<u8>] {
        match self.by_last.get(last as usize) {
            Some(names) => names,
            None => &[],
        }
    }
}

/// Where `key[..end]` ends once trailing `-` and `_` are dropped.
fn significant_end(key: &[u8], mut end: usize) -> usize {
    while end > 0 && (key[end - 1] == b'-' || key[end - 1] == b'_') {
        end -= 1;
    }
    end
}

/// Whether the normal form of `key[..end]` (ASCII lower case, without `-` and `_`)
/// ends with `name` (`whole`: is `name`).
fn from_end(key: &[u8], mut end: usize, name: &[u8], whole: bool) -> bool {
    for want in name.iter().rev() {
        end = significant_end(key, end);
        if end == 0 || key[end - 1].to_ascii_lowercase() != *want {
            return false;
        }
        end -= 1;
    }
    !whole || significant_end(key, end) == 0
}

/// The strings of one event that hold a trigger or could be a secret key, with their bits.
type Hits<'py> = Vec<(Bound<'py, PyString>, u8)>;

/// Adds the str `obj` (whose text is `text`) to the hits with `bits`, or the bits to
/// the entry of an equal text.
///
/// Safety: as for `utf8`.
unsafe fn note<'py>(py: Python<'py>, hits: &mut Hits<'py>, obj: *mut ffi::PyObject, text: &str, bits: u8) {
    for (seen, have) in hits.iter_mut() {
        if utf8(seen.as_ptr()) == Some(text) {
            *have |= bits;
            return;
        }
    }
    hits.push((Bound::from_borrowed_ptr(py, obj).downcast_into_unchecked::<PyString>(), bits));
}

#[pymethods]
impl ScrubCheck {
    /// `triggers`: (pattern in the `regex` crate's syntax, kind bit); `exact`: the
    /// normalized secret field names; `suffixes`: the same names when a key ending
    /// in one is a secret too (else empty); `key_bit`: the bit of a key that could
    /// be a secret name; `shortest`: strings with fewer bytes are not searched;
    /// `plans`: the object to return for each combination of bits (index 0 for an
    /// event with no hit), as many as the largest combination needs; `memo_entries`:
    /// how many texts (and keys) to remember, 0 for none; `memo_text_bytes`: the
    /// longest text remembered; `clean_entries`: how many clean vouched objects to
    /// remember (`vouch`), 0 for none.
    #[new]
    #[pyo3(signature = (triggers, exact, suffixes, key_bit, shortest, plans, memo_entries=4096, memo_text_bytes=128, clean_entries=32768))]
    #[allow(clippy::too_many_arguments)]
    fn new(triggers: Vec<(String, u8)>, exact: Vec<String>, suffixes: Vec<String>, key_bit: u8,
           shortest: usize, plans: Vec<PyObject>, memo_entries: usize, memo_text_bytes: usize,
           clean_entries: usize) -> PyResult<Self> {
        let all = triggers.iter().fold(key_bit, |acc, (_, bit)| acc | bit);
        if (all as usize) >= plans.len() {
            return Err(PyValueError::new_err(format!("{} plans for kind bits up to {all}", plans.len())));
        }
        let set = if triggers.is_empty() {
            None
        } else {
            Some(regex::RegexSetBuilder::new(triggers.iter().map(|(p, _)| p))
                .size_limit(64 << 20)
                .build()
                .map_err(|e| PyValueError::new_err(e.to_string()))?)
        };
        Ok(ScrubCheck {
            set,
            bits: triggers.iter().map(|(_, bit)| *bit).collect(),
            exact: Names::new(exact),
            suffixes: Names::new(suffixes),
            key_bit,
            shortest,
            plans,
            memo: Mutex::new(Memo { short: Short::new(memo_entries), ..Memo::default() }),
            memo_entries,
            memo_text_bytes,
            clean_entries,
        })
    }

    /// Each event's plan, and the indices of the events this check could not
    /// answer (their plan is None: the caller asks the Python check).
    fn plans<'py>(&self, py: Python<'py>, datas: &Bound<'py, PyList>) -> PyResult<(Bound<'py, PyList>, Vec<usize>)> {
        let (plans, _, fallback) = self.batch(py, datas, false)?;
        Ok((PyList::new_bound(py, plans), fallback))
    }

    /// `plans`, and for each event with a dict plan its holders: a frozenset of the
    /// `id()`s of the dicts and lists below its top that hold, at any depth, a
    /// string with a trigger or a key that could be a secret (None for the other
    /// events). Only they hold anything the plan names: in any other container
    /// every key is no secret, and every string is one whose text has no trigger
    /// (it can be in the plan only as a key's text, and the masks leave it as it is).
    fn plans_held<'py>(&self, py: Python<'py>, datas: &Bound<'py, PyList>) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, Vec<usize>)> {
        let (plans, held, fallback) = self.batch(py, datas, true)?;
        Ok((PyList::new_bound(py, plans), PyList::new_bound(py, held), fallback))
    }

    /// Takes dicts and lists that will never change again while anything holds them
    /// (objects shared between events, see logpipe/core/frozen.py): each is walked
    /// now, and one that holds no hit (no string with a trigger, no key that could be
    /// a secret, at any depth) is skipped from then on wherever an event holds it.
    /// Anything else in the list is ignored. Answers how many of them are skipped
    /// from now on.
    ///
    /// Vouching for an object that does change later makes later plans miss what
    /// the change brings: only a producer that knows nothing changes its object may
    /// hand it over. Should the memo be busy (see `batch`), nothing is learnt.
    fn vouch(&self, py: Python<'_>, objects: &Bound<'_, PyList>) -> usize {
        let mut guard = match self.memo.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return 0,
        };
        objects.iter().filter(|obj| self.learn(py, obj, &mut guard)).count()
    }

    /// The clean vouched objects remembered now, each with the address it is
    /// remembered by (for tests and diagnosis).
    fn clean_objects(&self, py: Python<'_>) -> Vec<(usize, PyObject)> {
        match self.memo.try_lock() {
            Ok(memo) => memo.clean.iter().map(|(at, obj)| (*at, obj.clone_ref(py))).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The kind bits of the triggers in one text (for tests and diagnosis); raises
    /// UnicodeEncodeError for a text that is not valid Unicode.
    fn text_kinds(&self, text: &Bound<'_, PyString>) -> PyResult<u8> {
        Ok(self.text_bits(text.to_str()?))
    }

    /// Whether a key could be a secret field name (for tests and diagnosis).
    fn key_may_be_secret(&self, key: &Bound<'_, PyString>) -> PyResult<bool> {
        Ok(self.maybe_secret(key.to_str()?))
    }

    /// How many texts and keys the memo holds now (for tests and diagnosis).
    fn memo_sizes(&self) -> (usize, usize) {
        match self.memo.try_lock() {
            Ok(memo) => (memo.short.held + memo.texts.len(), memo.keys.len()),
            Err(_) => (0, 0),
        }
    }
}
