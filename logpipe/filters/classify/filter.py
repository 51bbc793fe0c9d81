"""The ``classify`` filter: error classes, outcomes and security detections."""
from __future__ import annotations

import time
from itertools import compress, repeat
from operator import is_not
from typing import Any, Callable, Iterable

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import parse
from logpipe.core.native import native_module
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.writes import TAGS_CHANGE, Writes, change_paths, set_paths
from logpipe.filters.classify import signatures
from logpipe.filters.classify.bruteforce import BruteForceTracker
from logpipe.filters.classify.config import ClassifyConfig
from logpipe.filters.classify.fields import columns_reader, fields_reader, native_layout
from logpipe.filters.classify.errors import (CLIENT_ERROR, DEPENDENCY, FAILURE, SERVER_ERROR,
                                             SUCCESS, TIMEOUT, UNKNOWN, VALIDATION,
                                             ExceptionClassifier, classify, status_code)
from logpipe.filters.classify.security import (BRUTE_FORCE, LOGIN_FAILURE, NOTHING, PATH_TRAVERSAL,
                                               SCANNER, SQLI, XSS, LoginPaths, SignatureScanner)

SECURITY_TAG = "security"
LOW, MEDIUM, HIGH = 21, 47, 73
SEVERITY = {CLIENT_ERROR: LOW, VALIDATION: LOW, LOGIN_FAILURE: LOW,
            SERVER_ERROR: MEDIUM, TIMEOUT: MEDIUM, DEPENDENCY: MEDIUM, SCANNER: MEDIUM,
            SQLI: HIGH, XSS: HIGH, PATH_TRAVERSAL: HIGH, BRUTE_FORCE: HIGH}
#: Detections that make the event an alert about intrusion.
INTRUSION = frozenset({SQLI, XSS, PATH_TRAVERSAL, SCANNER, BRUTE_FORCE})
_EVENT = "event"
#: The fields read before the error and scan fields: status, level, method, path,
#: url.original, action, user agent, brute-force key, message (see ClassifyFilter.__init__).
_FIXED = 9
_JUST_TEXT = frozenset({str})
#: Status values the batch path sorts by value (see ClassifyFilter._plan).
_STATUS_TYPES = frozenset({int, str, type(None)})
_LOGIN_ONLY = frozenset({LOGIN_FAILURE})
#: Log levels that name no failure, as loggers spell them: an event at one of these
#: (or without a level) may take the quick way; any other level, the full one.
_QUIET_LEVELS = frozenset(form for level in ("trace", "debug", "info", "notice", "warn", "warning")
                          for form in (level, level.upper(), level.capitalize()))
#: Distinct status values remembered with their outcome (see ClassifyFilter._read_batch).
_STATUS_MEMO = 1024
#: What a quiet write added to an event (the flags of logpipe_native.classify_read).
_MADE_EVENT, _MADE_CATEGORY, _MADE_KIND, _MADE_OUTCOME, _MADE_SEVERITY = 2, 4, 8, 16, 32
#: The keys of the event object that ClassifyFilter._write adds, in the order it adds them.
_WRITE_ORDER = (("category", _MADE_CATEGORY), ("kind", _MADE_KIND), ("severity", _MADE_SEVERITY),
                ("outcome", _MADE_OUTCOME))
#: Where the error class may go for the native read to write failures itself: not
#: where _one reads (``http``, ``url``) or writes (``event``, ``tags``) later.
_NOT_FOR_CLASS = frozenset({"event", "tags", "http", "url", METADATA})


#: (marked indices, tests, present columns, outcomes): see ClassifyFilter._plan.
Plan = tuple[list[int], list[tuple[tuple[Any, ...], set[Any]]], list[tuple[Any, ...]], list[str] | None]


def quiet_python(events: list[Event], marked: list[int], tests: list[tuple[tuple[Any, ...], set[Any]]],
                 present: list[tuple[Any, ...]], outcomes: list[str] | None,
                 done: bytes | None = None) -> list[int]:
    """Write what :meth:`ClassifyFilter._write` writes for the events that show
    nothing, but those that ``done`` (the flags of a native read) says were written
    already; return the indices of the others (see :meth:`ClassifyFilter._plan`).

    logpipe_native.classify_quiet does the same in one native call; this is the
    fallback, and what the tests hold it to."""
    n = len(events)
    full = [False] * n
    for i in marked:
        full[i] = True
    for column, values in tests:
        for i, value in enumerate(column):
            if value in values:
                full[i] = True
    for column in present:
        for i, value in enumerate(column):
            if value is not None:
                full[i] = True
    out: list[int] = []
    for i, event in enumerate(events):
        if full[i]:
            out.append(i)
            continue
        if done is not None and done[i]:
            continue
        data = event.data
        obj = data.get(_EVENT)
        if type(obj) is not dict:
            obj = {}
            data[_EVENT] = obj
        if data.get("http") is not None or data.get("url") is not None:
            _add_categories(obj, ["web"])
        if "kind" not in obj:
            obj["kind"] = "event"
        if outcomes is not None:
            outcome = outcomes[i]
            if outcome is not None and obj.get("outcome") in (None, UNKNOWN):
                obj["outcome"] = outcome
    return out


def rows_present(columns: list[tuple[Any, ...]]) -> set[int]:
    """The rows where some column holds a value other than None
    (logpipe_native.classify_rows_present does the same in one native call)."""
    rows: set[int] = set()
    for column in columns:
        rows.update(compress(range(len(column)), map(is_not, column, repeat(None))))
    return rows


def _texts(columns: list[tuple[Any, ...]]) -> set[str]:
    """The distinct non-empty texts of the columns (TypeError on an unhashable value)."""
    seen: set[Any] = set()
    for column in columns:
        seen.update(column)
    seen.discard(None)
    seen.discard("")
    if set(map(type, seen)) <= _JUST_TEXT:
        return seen
    return {value for value in seen if type(value) is str}


def _add_categories(event_obj: dict[str, Any], new: list[str]) -> None:
    current = event_obj.get("category")
    if current is None:
        event_obj["category"] = new
        return
    if type(current) is not list:
        current = [current]
        event_obj["category"] = current
    for item in new:
        if item not in current:
            current.append(item)


class ClassifyFilter(Filter):
    Config = ClassifyConfig
    runs_on_event_loop = True
    config: ClassifyConfig

    def __init__(self, config: ClassifyConfig, *, id: str, context: PluginContext | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config, id=id, context=context)
        lists = signatures.load(config.signatures_dir, config.extra_signatures)
        self._exceptions = ExceptionClassifier(lists, config.cache_size)
        self._scanner = SignatureScanner(lists, max_length=config.max_scan_length,
                                         cache_size=config.cache_size)
        self._login_paths = LoginPaths(config.login_paths)
        self._login_actions = frozenset(a.lower() for a in config.login_failure_actions)
        bf = config.brute_force
        self._brute: BruteForceTracker | None = (
            BruteForceTracker(threshold=bf.threshold, window=bf.window_seconds,
                              max_sources=bf.max_sources, clock=clock) if bf.enabled else None)
        self._category = parse(config.category_field)
        # Every field the classifier reads, in one call (see fields_reader): status,
        # level, method, path, url.original, action, agent, brute-force key, message,
        # then the error fields and the scan fields.
        self._n_errors = len(config.error_fields)
        refs = [config.status_field, config.level_field, config.method_field, config.path_field,
                "url.original", config.action_field, config.user_agent_field, bf.key, "message",
                *config.error_fields, *config.scan_fields]
        self._read = fields_reader(refs)
        self._columns = columns_reader(refs)
        native = native_module()
        self._quiet: Callable[..., list[int]] = (
            native.classify_quiet if native is not None else quiet_python)
        self._rows_present: Callable[[list[tuple[Any, ...]]], Iterable[int]] = (
            native.classify_rows_present if native is not None else rows_present)
        # The native read also writes, while each event is in the CPU's caches, the
        # events that nothing read says are loud (see _read_batch); it knows quiet
        # statuses from the batches before (value -> outcome, parsed or not).
        layout = native_layout(refs)
        self._native_read: Callable[..., tuple[list[tuple[Any, ...]], bytes]] | None = None
        self._layout = layout
        self._status_parsed: dict[Any, str] = {}
        self._status_unparsed: dict[Any, str] = {}
        self._status_failed: dict[Any, tuple[str, int]] = {}
        # The native read writes failures (a status known to fail, nothing else) too,
        # when the error class goes to a plain path the rest of _one does not touch.
        category = self._category
        self._class_path = (list(category) if category[0] not in _NOT_FOR_CLASS
                            and not any(key.isdigit() for key in category) else [])
        if native is not None and layout is not None:
            self._native_read = native.classify_read
            where = layout[2]
            self._read_at = (where[0], where[1], where[5], [where[i] for i in range(_FIXED, _FIXED + self._n_errors)])
        # When the error class is written into a field the security checks read (or
        # into one of its parents), those see the event as written: read it again.
        self._reread_after_class = any(
            path[:len(category)] == category or category[:len(path)] == path
            for path in (parse(ref) for ref in refs))
        # The batch path reads every event first and scans the batch's texts together;
        # an error class written where the security checks read would change what they
        # see, so that (rare) setting keeps the event-by-event path.
        self._by_batch = config.security and not self._reread_after_class
        self._scan_from = _FIXED + self._n_errors
        # Whether the message is among the scanned texts (by default it is): then its
        # failed-login phrases are known from the batch's scan.
        self._message_scanned = any(parse(ref) == ("message",) for ref in config.scan_fields)
        # The scan columns other than the message: their texts (URLs, paths, queries)
        # come back again and again and are worth caching; messages seldom repeat
        # (an access line holds its time) and are scanned without the cache.
        scan_columns = range(self._scan_from, len(refs))
        self._cached_columns = [i for i in scan_columns if parse(refs[i]) != ("message",)]
        self._message_columns = [i for i in scan_columns if parse(refs[i]) == ("message",)]

    def writes(self) -> Writes:
        """The ``event`` object (kind, category, outcome, severity, in place), the
        error class and the tags."""
        return change_paths((_EVENT,)) + set_paths(self._category) + TAGS_CHANGE

    def process(self, events: list[Event]) -> list[Event]:
        """The batch's fields are read column by column and its distinct texts scanned
        together; the events that show nothing are written straight away (see
        :meth:`_plan`), the others classified one by one with :meth:`_one`."""
        if not self._by_batch or not events:
            read, scanned = self._read, self._scanner.kinds
            for event in events:
                self._one(event, read(event), scanned)
            return events
        columns, done = self._read_batch(events)
        one = self._one
        try:
            kinds = self._scanner.found_in(_texts([columns[i] for i in self._cached_columns]))
            if self._message_columns:
                kinds.update(self._scanner.found_in(
                    _texts([columns[i] for i in self._message_columns]), cache=False))
            marked, tests, present, outcomes = self._plan(columns, kinds, done)
            full = self._quiet(events, marked, tests, present, outcomes, done)
        except TypeError:  # a list or an object where a text or a number belongs
            scanned = self._scanner.kinds
            for i, (event, values) in enumerate(zip(events, zip(*columns))):
                if done is not None and done[i]:
                    self._one_after_quiet(event, values, scanned, done[i])
                else:
                    one(event, values, scanned)
            return events

        def kinds_of(text: str) -> frozenset[str]:
            return kinds.get(text, NOTHING)

        for i in full:
            if done is not None and done[i]:
                self._one_after_quiet(events[i], tuple([column[i] for column in columns]), kinds_of, done[i])
            else:
                one(events[i], tuple([column[i] for column in columns]), kinds_of)
        return events

    def _read_batch(self, events: list[Event]) -> tuple[list[tuple[Any, ...]], bytes | None]:
        """The batch's columns, and (from the native read) which events were written
        while they were read: those that neither an action nor, when errors are
        classified, their level or an error field makes loud, as quiet (a status
        that is no failure) or as failures by status alone (the class where
        ``category_field`` says, unless that is where _one reads or writes later).
        The scans may still find something in one of them: :meth:`_one_after_quiet`
        then classifies it. The statuses are known from earlier batches
        (:meth:`_plan` remembers them), so an event with a status not seen before
        is left to the quiet pass and _one."""
        if self._native_read is None or self._layout is None:
            return self._columns(events), None
        paths, shared, where = self._layout
        status, level, action, errors = self._read_at
        memo = self.config.errors
        raw, done = self._native_read(events, paths, shared, status, level, action, errors, _QUIET_LEVELS,
                                      self._status_parsed if memo else None,
                                      self._status_unparsed if memo else None,
                                      self._status_failed if memo else None,
                                      self._class_path, self.config.tag_errors)
        return [raw[i] for i in where], done

    def _one_after_quiet(self, event: Event, values: tuple[Any, ...],
                         kinds_of: Callable[[str], frozenset[str]], made: int) -> None:
        """:meth:`_one` on an event the native read wrote (``made``: what that write
        added), with the documents of :meth:`_one` alone.

        What _one writes on top of the native write is what it writes alone: a quiet
        write's outcome comes from the status, as _one's does unless it is a failure
        (which _one always writes); its ``web`` category and ``event`` kind are what
        _one adds too. A failure's write is what _one writes for the status before
        any detection: the same class (again in place), tag, severity (the larger
        is kept) and outcome. Only the order of keys added to the event object may
        differ, and is put back: _write adds the category, kind, severity and
        outcome in turn; and the event object itself after any other key."""
        data = event.data
        obj = data.get(_EVENT)
        before = {key for key, _ in _WRITE_ORDER if key in obj} if type(obj) is dict else set()
        self._one(event, values, kinds_of)
        obj = data.get(_EVENT)
        if type(obj) is dict:
            added = [key for key, bit in _WRITE_ORDER if key in obj and (made & bit or key not in before)]
            if len(added) > 1:
                for key in added:
                    obj[key] = obj.pop(key)
        if made & _MADE_EVENT:
            data[_EVENT] = data.pop(_EVENT)

    def _plan(self, columns: list[tuple[Any, ...]], kinds: dict[str, frozenset[str]],
              done: bytes | None = None) -> Plan:
        """Which events of the batch need :meth:`_one`, as the quiet pass takes it
        (:func:`quiet_python`): the indices marked here, those whose value in a test's
        column is in its set, and those with a value in a ``present`` column; then the
        outcome of every event (None when errors are not classified). TypeError: a
        value that cannot be looked up (the caller then sends every event to _one).

        The other events show nothing: no failure (status, level, exception without a
        status), no attack in a scanned text, no scanner agent, no action, no POST to
        a login path, no failed-login message. For them :meth:`_one` writes only the
        ``web`` category, the kind and the outcome, which is what the quiet pass
        writes. These tests only choose the way: an event sent to :meth:`_one` that
        needed not be comes out the same. The quiet events are written first, then the
        others classified in the order of the batch: each event is written alone, and
        the brute-force tracker, the only state, is only called from :meth:`_one`, for
        login events. Most of the work is on the distinct values of a column, so the
        common case costs a few set operations."""
        marked: set[int] = set()
        tests: list[tuple[tuple[Any, ...], set[Any]]] = []
        present: list[tuple[Any, ...]] = []
        outcomes: list[str] | None = None
        if self.config.errors:
            statuses = columns[0]
            # 200 and 200.0 (or True and 1) are one key to a set: only ints and texts.
            if not set(map(type, statuses)) <= _STATUS_TYPES:
                raise TypeError("status values of other types")
            outcome_of: dict[Any, str] = {}
            failed: set[Any] = set()
            unparsed: set[Any] = set()  # no status: an exception makes a failure
            for value in set(statuses):
                status = status_code(value)
                if status is None:
                    unparsed.add(value)
                elif status >= 400:
                    failed.add(value)
                outcome_of[value] = SUCCESS if status is not None and 100 <= status < 400 else UNKNOWN
            outcomes = list(map(outcome_of.__getitem__, statuses))
            self._remember_statuses(outcome_of, failed, unparsed)
            if failed:
                if done is None:
                    tests.append((statuses, failed))
                else:  # those the native read has not written as failures
                    marked.update(i for i in compress(range(len(statuses)), map(failed.__contains__, statuses))
                                  if not done[i])
            if unparsed and self._n_errors:
                # The events with an error field (few), found without a Python step
                # per event, then those of them without a status.
                marked.update(i for i in self._rows_present(columns[_FIXED:self._scan_from])
                              if statuses[i] in unparsed)
            levels = columns[1]
            loud = {v for v in set(levels) if v is not None and v not in _QUIET_LEVELS}
            if loud:
                tests.append((levels, loud))
        attacks = {text for text, found in kinds.items() if found != _LOGIN_ONLY}
        if attacks:
            tests.extend((column, attacks) for column in columns[self._scan_from:]
                         if not attacks.isdisjoint(column))
        present.append(columns[5])  # an action
        is_scanner = self._scanner.is_scanner
        agents = columns[6]
        scanners = {v for v in set(agents) if type(v) is str and v and is_scanner(v)}
        if scanners:
            tests.append((agents, scanners))
        methods = columns[2]
        posts = {v for v in set(methods) if type(v) is str and v.upper() == "POST"}
        if posts:
            login_path = self._login_paths.match
            paths, originals = columns[3], columns[4]
            for i in compress(range(len(methods)), map(posts.__contains__, methods)):
                path = paths[i]
                if type(path) is not str:
                    path = originals[i]
                if type(path) is str:
                    cut = path.find("?")
                    if login_path(path[:cut] if cut >= 0 else path):
                        marked.add(i)
        messages = columns[8]
        if self._message_scanned:
            logins = {text for text, found in kinds.items() if LOGIN_FAILURE in found}
            if logins:
                tests.append((messages, logins))
        else:
            failed_login = self._scanner.login_failure_message
            marked.update(i for i, v in enumerate(messages)
                          if type(v) is str and v and failed_login(v))
        return sorted(marked), tests, present, outcomes

    def _remember_statuses(self, outcome_of: dict[Any, str], failed: set[Any], unparsed: set[Any]) -> None:
        """Keep the quiet statuses (ints, texts, None) with their outcome for the native
        read of the next batches (:meth:`_read_batch`); at most ``_STATUS_MEMO``."""
        parsed, unparsed_memo, failed_memo = self._status_parsed, self._status_unparsed, self._status_failed
        new = [value for value in outcome_of
               if value not in parsed and value not in unparsed_memo and value not in failed_memo]
        if not new:
            return  # the usual case: every status is known
        if len(parsed) + len(unparsed_memo) + len(failed_memo) + len(new) > _STATUS_MEMO:
            parsed.clear()
            unparsed_memo.clear()
            failed_memo.clear()
        for value in new:
            if value in failed:
                # The class and severity _one gives a failure by status alone.
                error_class = classify(status_code(value), None, None, False)[1]
                if error_class is not None:
                    failed_memo[value] = (error_class, SEVERITY[error_class])
            else:
                (unparsed_memo if value in unparsed else parsed)[value] = outcome_of[value]

    # --- one event -------------------------------------------------------------------
    def _one(self, event: Event, values: tuple[Any, ...], kinds_of: Callable[[str], frozenset[str]]) -> None:
        """Classify one event from its fields as read; ``kinds_of`` gives the signature
        kinds of each scanned text (every non-empty text among the scan fields)."""
        cfg = self.config
        status_v, level = values[0], values[1]
        errors = values[_FIXED:_FIXED + self._n_errors]
        status = status_code(status_v)
        tags: list[str] = []
        categories: list[str] = []
        severity = 0
        outcome: str | None = None
        data = event.data
        if data.get("http") is not None or data.get("url") is not None:
            categories.append("web")

        if cfg.errors:
            # The first error field naming a known exception decides its class.
            exception_class: str | None = None
            has_exception = False
            for value in errors:
                if type(value) is str and value:
                    has_exception = True
                    if exception_class is None:
                        exception_class = self._exceptions.of_text(value)
            outcome, error_class = classify(status, level, exception_class, has_exception)
            if error_class is not None:
                event.set_path(self._category, error_class)
                if self._reread_after_class:
                    values = self._read(event)
                if cfg.tag_errors:
                    tags.append(error_class)
                severity = SEVERITY[error_class]

        if cfg.security:
            (_, _, method, path, original, action, agent, source, message,
             *rest) = values
            scans = rest[self._n_errors:]
            if type(path) is not str:
                path = original
            found, login = self._detect(status, scans, agent, action, path, method, message, source,
                                        kinds_of)
            if login is not None:
                categories.append("authentication")
                if login == FAILURE:
                    outcome = FAILURE
            if found:
                tags.append(SECURITY_TAG)
                tags.extend(found)
                severity = max(severity, max(SEVERITY[k] for k in found))
                if not INTRUSION.isdisjoint(found):
                    categories.append("intrusion_detection")

        self._write(event, tags, categories, severity, outcome,
                    alert=not INTRUSION.isdisjoint(tags))

    def _detect(self, status: int | None, scans: list[Any], agent: Any, action: Any, path: Any,
                method: Any, message: Any, source: Any,
                kinds_of: Callable[[str], frozenset[str]]) -> tuple[list[str], str | None]:
        """(detections, login outcome or None when this is not a login event), from the
        fields already read; ``path`` is the path field, else ``url.original``."""
        found: set[str] = set()
        scanner = self._scanner
        for value in scans:
            if type(value) is str and value:
                kinds = kinds_of(value)
                if kinds:
                    found |= kinds
        found.discard(LOGIN_FAILURE)  # in these fields a login phrase is no detection
        if type(agent) is str and agent and scanner.is_scanner(agent):
            found.add(SCANNER)

        login: str | None = None
        if type(action) is str and action.lower() in self._login_actions:
            login = FAILURE
        else:
            if type(path) is str:
                cut = path.find("?")
                if cut >= 0:
                    path = path[:cut]
                if (type(method) is str and method.upper() == "POST"
                        and self._login_paths.match(path)):
                    if status in (401, 403):
                        login = FAILURE
                    elif status is not None and 200 <= status < 400:
                        login = SUCCESS
            if login is None and type(message) is str and message:
                # A scanned message's kinds are known already (the same phrases).
                if (LOGIN_FAILURE in kinds_of(message) if self._message_scanned
                        else scanner.login_failure_message(message)):
                    login = FAILURE
        if login == FAILURE:
            found.add(LOGIN_FAILURE)

        if self._brute is not None and login is not None:
            if type(source) is str and source:
                hit = (self._brute.failure(source) if login == FAILURE
                       else self._brute.active(source))
                if hit:
                    found.add(BRUTE_FORCE)
        return sorted(found), login

    def _write(self, event: Event, tags: list[str], categories: list[str], severity: int,
               outcome: str | None, *, alert: bool) -> None:
        if tags:
            event.add_tag(*tags)
        obj = event.data.get(_EVENT)
        if type(obj) is not dict:
            obj = {}
            event.data[_EVENT] = obj
        if categories:
            _add_categories(obj, categories)
        if alert:
            obj["kind"] = "alert"
        elif "kind" not in obj:
            obj["kind"] = "event"
        if severity:
            before = obj.get("severity")
            obj["severity"] = max(severity, before) if type(before) is int else severity
        if outcome == FAILURE or (outcome is not None and obj.get("outcome") in (None, UNKNOWN)):
            obj["outcome"] = outcome
