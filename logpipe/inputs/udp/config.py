"""Settings of the ``udp`` input (Logstash's names)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.plugin import PluginConfig


class UdpConfig(PluginConfig):
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for every interface).")
    port: int = Field(ge=0, le=65535, description="UDP port (0: any free port, for tests).")
    codec: CodecSetting = codec_field("plain", "How each datagram becomes events (plain: one event each).")
    buffer_size: int = Field(65536, ge=64, le=65535,
                             description="Largest datagram read whole; longer ones are cut and tagged "
                                         "_udp_datagram_truncated.")
    receive_buffer_bytes: int | None = Field(
        None, ge=4096, description="Socket receive buffer (SO_RCVBUF); unset keeps the system default.")
    workers: int = Field(1, ge=1, le=64,
                         description="Sockets sharing the port (SO_REUSEPORT); the kernel spreads senders.")
    queue_size: int = Field(2000, ge=1, description="Datagrams held while the pipeline is full; "
                                                    "beyond this they are dropped and counted.")
    source_ip_fieldname: str | None = Field(
        None, description="Field for the sender's address (default: [host][ip], or host without ECS).")
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description="Field names of the sender.")
    reuse_port: bool = Field(True, description="SO_REUSEPORT so worker processes share the port.")

    def sender_field(self) -> str:
        if self.source_ip_fieldname:
            return self.source_ip_fieldname
        return "host" if self.ecs_compatibility == "disabled" else "[host][ip]"
