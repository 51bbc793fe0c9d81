"""How many workers ``logpipe run`` starts when not told."""
from __future__ import annotations

import os

import pytest

from logpipe.commands.run import default_workers
from logpipe.config.loader import load_text
from logpipe.errors import ConfigError

CPUS = os.cpu_count() or 1


@pytest.mark.parametrize("inputs, expected", [
    ("[{type: beats, port: 0}, {type: kafka, topics: [t]}]", CPUS),
    ("[{type: redis, key: q, data_type: list}]", CPUS),
    ("[{type: beats, port: 0, reuse_port: false}]", 1),
    ("[{type: redis, key: q, data_type: channel}]", 1),
    ("[{type: generator, count: 0}]", 1),
    ("[{type: stdin}, {type: beats, port: 0}]", 1),
])
def test_cpu_count_only_when_every_input_shares_its_traffic(inputs: str, expected: int) -> None:
    try:
        spec = load_text(f"inputs: {inputs}\noutputs: [{{type: blackhole}}]")
    except ConfigError as err:
        if "cannot be loaded" not in str(err):
            raise
        pytest.skip(f"input plugin not available: {err}")
    assert default_workers(spec) == expected
