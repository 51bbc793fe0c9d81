"""Settings of the ``beats`` input (Logstash's names where Logstash has the setting)."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from logpipe.inputs.beats import logstash as _logstash
from logpipe.inputs.beats.protocol import Limits, MiB
from logpipe.net.tls import TlsServerOptions


class BeatsConfig(TlsServerOptions):
    """Receive events from Beats (Lumberjack v2), optionally over TLS."""

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md)."""
        return _logstash.from_logstash(options)

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for every interface).")
    port: int = Field(5044, ge=0, le=65535, description="TCP port; 0 picks a free one (tests).")
    reuse_port: bool = Field(
        True, description="Set SO_REUSEPORT so several worker processes can listen on the same port "
                          "and the kernel spreads connections between them.")
    keepalive_interval: float = Field(
        5.0, gt=0,
        description="While a window waits for the pipeline (a slow output), send an ACK of 0 this "
                    "often so the Beat keeps waiting instead of timing out (Filebeat waits 30 s).")
    client_inactivity_timeout: float = Field(
        60.0, gt=0,
        description="Close a connection that sent nothing for this many seconds while none of its "
                    "windows is in flight.")
    max_connections: int = Field(
        1000, ge=1, description="Connections beyond this are closed as soon as they are accepted.")
    max_frame_bytes: int = Field(
        10 * MiB, ge=64,
        description="Largest frame accepted (one JSON event, one compressed block); a frame "
                    "claiming more closes the connection before anything is allocated.")
    max_decompressed_bytes: int = Field(
        128 * MiB, ge=64,
        description="Largest decompressed size of one compressed frame (guards against zip bombs).")
    max_window_size: int = Field(
        65536, ge=1, description="Largest event count a window may announce (Filebeat's "
                                 "bulk_max_size is 2048 by default).")
    max_window_bytes: int = Field(
        128 * MiB, ge=64, description="Largest total payload of one window held in memory.")
    max_pending_windows: int = Field(
        4, ge=1,
        description="Decoded windows a connection may have waiting for queue space before its "
                    "socket stops being read (Filebeat pipelines 2 by default).")
    backlog: int = Field(1024, ge=1, description="Listen backlog of the socket.")

    def limits(self) -> Limits:
        return Limits(max_frame_bytes=self.max_frame_bytes,
                      max_decompressed_bytes=self.max_decompressed_bytes,
                      max_window_size=self.max_window_size,
                      max_window_bytes=self.max_window_bytes)
