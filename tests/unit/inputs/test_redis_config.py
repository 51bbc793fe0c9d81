"""Redis input settings that would silently weaken a guarantee are refused up front."""
from __future__ import annotations

import socket

import pytest
from pydantic import ValidationError

from logpipe.core.plugin import PluginContext
from logpipe.inputs.redis import RedisInput, RedisInputConfig
from logpipe.inputs.redis.connection import where


def test_reliable_is_for_lists_only() -> None:
    with pytest.raises(ValidationError, match="reliable applies to data_type: list only"):
        RedisInputConfig(key="logs", data_type="channel", reliable=True)


def test_tls_files_without_tls_are_refused() -> None:
    with pytest.raises(ValidationError, match="ssl is false"):
        RedisInputConfig(key="logs", data_type="list", ssl_ca_certs="/etc/ca.pem")
    RedisInputConfig(key="logs", data_type="list", url="rediss://cache:6380/0", ssl_ca_certs="/etc/ca.pem")


def test_password_and_url_credentials_stay_out_of_logs() -> None:
    cfg = RedisInputConfig(key="logs", data_type="list", url="redis://app:hunter2@cache:6380/2",
                           password="hunter2")
    assert "hunter2" not in where(cfg)
    assert where(cfg) == "redis://cache:6380/2"
    assert "hunter2" not in repr(cfg.password)


def test_processing_list_is_per_worker_process() -> None:
    cfg = RedisInputConfig(key="logs", data_type="list", reliable=True, consumer_id="pod-a")
    alone = RedisInput(cfg, id="r", context=PluginContext(worker_index=0, worker_count=1))
    second = RedisInput(cfg, id="r", context=PluginContext(worker_index=1, worker_count=4))
    assert alone.consumer_id == "pod-a"
    assert second.consumer_id == "pod-a-1"
    default = RedisInput(RedisInputConfig(key="logs", data_type="list"), id="r",
                         context=PluginContext(worker_index=3, worker_count=4))
    assert default.consumer_id == f"{socket.gethostname()}-3"
