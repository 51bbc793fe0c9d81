"""The ``classify`` filter: error classes, outcomes and security detections."""
from __future__ import annotations

import time
from typing import Any, Callable

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.classify import signatures
from logpipe.filters.classify.bruteforce import BruteForceTracker
from logpipe.filters.classify.config import ClassifyConfig
from logpipe.filters.classify.fields import fields_reader
from logpipe.filters.classify.errors import (CLIENT_ERROR, DEPENDENCY, FAILURE, SERVER_ERROR,
                                             SUCCESS, TIMEOUT, UNKNOWN, VALIDATION,
                                             ExceptionClassifier, classify, status_code)
from logpipe.filters.classify.security import (BRUTE_FORCE, LOGIN_FAILURE, PATH_TRAVERSAL, SCANNER,
                                               SQLI, XSS, LoginPaths, SignatureScanner)

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
        # When the error class is written into a field the security checks read (or
        # into one of its parents), those see the event as written: read it again.
        category = self._category
        self._reread_after_class = any(
            path[:len(category)] == category or category[:len(path)] == path
            for path in (parse(ref) for ref in refs))

    def process(self, events: list[Event]) -> list[Event]:
        for event in events:
            self._one(event)
        return events

    # --- one event -------------------------------------------------------------------
    def _one(self, event: Event) -> None:
        cfg = self.config
        values = self._read(event)
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
            found, login = self._detect(status, scans, agent, action, path, method, message, source)
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
                method: Any, message: Any, source: Any) -> tuple[list[str], str | None]:
        """(detections, login outcome or None when this is not a login event), from the
        fields already read; ``path`` is the path field, else ``url.original``."""
        found: set[str] = set()
        scanner = self._scanner
        kinds_of = scanner.kinds
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
            if login is None:
                if type(message) is str and message and scanner.login_failure_message(message):
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
