"""``${VAR}`` and ``${VAR:-default}`` substitution from the environment.

Applied to every string in a pipeline file after YAML parsing, so substitution
can never change the structure of the document.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from logpipe.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute(text: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if "${" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ConfigError(f"environment variable {name} is not set and has no default")
            return default
        return value

    return _VAR.sub(repl, text)


def substitute_tree(value: Any, path: tuple[Any, ...], on_error: Callable[[ConfigError, tuple[Any, ...]], ConfigError],
                    env: Mapping[str, str] | None = None) -> Any:
    """Substitute in every string of a nested structure; errors get located."""
    if isinstance(value, str):
        try:
            return substitute(value, env)
        except ConfigError as err:
            raise on_error(err, path) from None
    if isinstance(value, dict):
        return {k: substitute_tree(v, path + (k,), on_error, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_tree(v, path + (i,), on_error, env) for i, v in enumerate(value)]
    return value
