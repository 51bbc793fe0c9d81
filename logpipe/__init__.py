"""logpipe: a log-processing pipeline that replaces Logstash.

The package root re-exports the small public surface that plugin authors use
(see docs/plugin-contract.md); everything else lives in private-by-convention
submodules. tests/unit/test_public_api.py pins this list. Names load on first
use, so importing ``logpipe.errors`` (the command line does) stays cheap.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "ConfigError": "logpipe.errors",
    "DeadLetter": "logpipe.core.services",
    "DecodeError": "logpipe.errors",
    "Delivery": "logpipe.core.outcome",
    "DeliveryError": "logpipe.errors",
    "Event": "logpipe.core.event",
    "Filter": "logpipe.core.plugin",
    "Input": "logpipe.core.plugin",
    "InputContext": "logpipe.core.plugin",
    "LogpipeError": "logpipe.errors",
    "Outcome": "logpipe.core.outcome",
    "Output": "logpipe.core.plugin",
    "PluginConfig": "logpipe.core.plugin",
    "PluginContext": "logpipe.core.plugin",
    "PluginNotFound": "logpipe.errors",
    "Status": "logpipe.core.outcome",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from logpipe.core.event import Event
    from logpipe.core.outcome import Delivery, Outcome, Status
    from logpipe.core.plugin import (Filter, Input, InputContext, Output, PluginConfig,
                                     PluginContext)
    from logpipe.core.services import DeadLetter
    from logpipe.errors import (ConfigError, DecodeError, DeliveryError, LogpipeError,
                                PluginNotFound)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'logpipe' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
