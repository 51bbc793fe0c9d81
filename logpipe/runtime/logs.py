"""Our own logs: JSON lines for machines, readable text on a terminal.

Records pass through a redaction step so that a URL with credentials or a
header value logged by mistake does not leak a secret into our own logs.
"""
from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

_SECRETS = re.compile(
    r"(?i)((?:password|passwd|secret|token|api[_-]?key|authorization)[\"']?\s*[:=]\s*[\"']?)([^\s\"',&]+)"
    r"|(://[^:/@\s]+:)([^@/\s]+)(@)"
    r"|(Bearer\s+)([A-Za-z0-9._~+/=-]+)")


def redact(text: str) -> str:
    """Hide credentials in free text: key=value secrets, URL passwords, bearer tokens."""
    if not text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1) + "***"
        if m.group(3) is not None:
            return m.group(3) + "***" + m.group(5)
        return m.group(6) + "***"

    return _SECRETS.sub(repl, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(doc).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup(level: str = "info", fmt: str = "auto") -> None:
    handler = logging.StreamHandler(sys.stderr)
    use_text = fmt == "text" or (fmt == "auto" and sys.stderr.isatty())
    handler.setFormatter(TextFormatter() if use_text else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "elastic_transport", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
