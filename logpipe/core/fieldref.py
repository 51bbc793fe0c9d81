"""Field references: ``[a][b]`` (Logstash style) and ``a.b`` name the same nested field.

References are parsed once and cached; the hot path works on tuples of keys.
"""
from __future__ import annotations

from functools import lru_cache

from logpipe.errors import ConfigError

Path = tuple[str, ...]


@lru_cache(maxsize=4096)
def parse(ref: str) -> Path:
    """Turn a field reference into a tuple of keys.

    ``[http][response][status_code]`` and ``http.response.status_code`` both give
    ``("http", "response", "status_code")``. A bare name such as ``@timestamp`` or
    ``message`` is one key. Brackets win over dots: ``[a.b]`` is the single key ``a.b``.
    """
    ref = ref.strip()
    if not ref:
        raise ConfigError("empty field reference")
    if ref.startswith("["):
        keys: list[str] = []
        i = 0
        n = len(ref)
        while i < n:
            if ref[i] != "[":
                raise ConfigError(f"bad field reference {ref!r}: expected '[' at {i + 1}")
            j = ref.find("]", i + 1)
            if j < 0:
                raise ConfigError(f"bad field reference {ref!r}: missing ']'")
            key = ref[i + 1:j]
            if not key:
                raise ConfigError(f"bad field reference {ref!r}: empty key")
            keys.append(key)
            i = j + 1
        return tuple(keys)
    if "[" in ref or "]" in ref:
        raise ConfigError(f"bad field reference {ref!r}")
    return tuple(part for part in ref.split(".")) if "." in ref else (ref,)


def render(path: Path) -> str:
    """The Logstash spelling of a path, for messages."""
    return "".join(f"[{k}]" for k in path)
