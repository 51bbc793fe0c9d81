"""Events into HTTP requests: the URL, headers and body each ``format`` asks for."""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

import orjson

from logpipe.core.codec import dumps
from logpipe.core.event import Event
from logpipe.core.sprintf import compile_template
from logpipe.outputs.http.config import HttpOutputConfig


@dataclass
class Request:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    events: int = 1


def _mapped(value: Any, event: Event) -> Any:
    if isinstance(value, str):
        return compile_template(value)(event) if "%{" in value else value
    if isinstance(value, dict):
        return {k: _mapped(v, event) for k, v in value.items()}
    if isinstance(value, list):
        return [_mapped(v, event) for v in value]
    return value


class RequestBuilder:
    def __init__(self, cfg: HttpOutputConfig) -> None:
        self.cfg = cfg
        self.url = compile_template(cfg.url)
        self.message = compile_template(cfg.message) if cfg.message else None
        self.headers: list[tuple[str, Callable[[Any], str]]] = [
            (k, compile_template(v)) for k, v in cfg.headers.items()]
        self.content_type = cfg.body_type()

    def document(self, event: Event) -> Any:
        return _mapped(self.cfg.mapping, event) if self.cfg.mapping is not None else event.data

    def _headers(self, event: Event) -> dict[str, str]:
        h = {"Content-Type": self.content_type}
        h.update((k, render(event)) for k, render in self.headers)
        if self.cfg.http_compression:
            h["Content-Encoding"] = "gzip"
        return h

    def _body(self, raw: bytes) -> bytes:
        return gzip.compress(raw) if self.cfg.http_compression else raw

    def build(self, events: list[Event]) -> list[Request]:
        fmt = self.cfg.format
        if fmt == "json_batch":
            groups: dict[str, list[Event]] = {}
            for e in events:
                groups.setdefault(self.url(e), []).append(e)
            return [Request(url, self._body(orjson.dumps([self.document(e) for e in evs], default=str,
                                                         option=orjson.OPT_UTC_Z)),
                            self._headers(evs[0]), len(evs)) for url, evs in groups.items()]
        out = []
        for e in events:
            if fmt == "json":
                doc = self.document(e)
                raw = dumps(doc) if isinstance(doc, dict) else orjson.dumps(doc, default=str)
            elif fmt == "form":
                doc = self.document(e)
                raw = urlencode({k: v if isinstance(v, str) else orjson.dumps(v, default=str,
                                                                                option=orjson.OPT_UTC_Z).decode()
                                 for k, v in doc.items()}).encode()
            else:
                assert self.message is not None
                raw = self.message(e).encode()
            out.append(Request(self.url(e), self._body(raw), self._headers(e)))
        return out
