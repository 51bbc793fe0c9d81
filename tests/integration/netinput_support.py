"""Shared pieces of the beats and http input tests: pipelines, test outputs, certificates."""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest

from logpipe.config import load_text
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Output, PluginConfig

T = TypeVar("T")


class CaptureOutput(Output):
    """Keeps every event it is sent (for checks on @metadata, which files never show)."""

    Config = PluginConfig
    instances: list[CaptureOutput] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[Event] = []
        CaptureOutput.instances.append(self)

    async def send(self, events: list[Event]) -> None:
        self.events.extend(events)


class GateConfig(PluginConfig):
    fail: bool = False


class GateOutput(Output):
    """Holds every batch until ``release()``: a stand-in for a stalled Elasticsearch."""

    Config = GateConfig
    instances: list[GateOutput] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.waiting = 0
        self.events: list[Event] = []
        GateOutput.instances.append(self)

    def release(self) -> None:
        self.gate.set()

    async def send(self, events: list[Event]) -> None:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        if self.config.fail:  # type: ignore[attr-defined]
            raise RuntimeError("the output refused the batch")
        self.events.extend(events)


def register_test_outputs() -> None:
    registry.register("output", "capture", CaptureOutput)
    registry.register("output", "gate", GateOutput)
    CaptureOutput.instances.clear()
    GateOutput.instances.clear()


def run(coro: Coroutine[Any, Any, T], loop: str = "uvloop") -> T:
    """Run a scenario on uvloop, as ``logpipe run`` does, or on the standard loop."""
    factory = None
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency on Unix
            pytest.skip("uvloop is not installed")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


@asynccontextmanager
async def running(yaml_text: str, *, grace: float = 15.0) -> AsyncIterator[Pipeline]:
    pipeline = Pipeline(load_text(yaml_text, source="test.yaml"))
    await pipeline.start()
    try:
        yield pipeline
    finally:
        if not pipeline.stopping.is_set():
            await pipeline.shutdown(grace)


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll a condition on the running loop (a wait for a state, not a sleep standing in for one)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        await asyncio.sleep(0.01)


# --- certificates ------------------------------------------------------------------
class Certs:
    """A throwaway CA with a server certificate (127.0.0.1, localhost) and client certificates."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        self.dir = directory
        now = dt.datetime.now(dt.timezone.utc)

        def name(cn: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        def write_key(key: ec.EllipticCurvePrivateKey, file: str) -> Path:
            path = directory / file
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
            return path

        def write_cert(cert: x509.Certificate, file: str) -> Path:
            path = directory / file
            path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            return path

        def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
            key = ec.generate_private_key(ec.SECP256R1())
            cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                 key_encipherment=False, data_encipherment=False,
                                                 key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                 encipher_only=False, decipher_only=False), critical=True)
                    .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                    .sign(key, hashes.SHA256()))
            return key, cert

        def issue(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, cn: str, *,
                  server: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                      critical=False)
                       .add_extension(x509.ExtendedKeyUsage(
                           [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False))
            if server:
                builder = builder.add_extension(x509.SubjectAlternativeName([
                    x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            return key, builder.sign(ca_key, hashes.SHA256())

        ca_key, ca_cert = make_ca("logpipe test CA")
        self.ca = write_cert(ca_cert, "ca.pem")
        key, cert = issue(ca_key, ca_cert, "localhost", server=True)
        self.server_cert, self.server_key = write_cert(cert, "server.pem"), write_key(key, "server.key")
        key, cert = issue(ca_key, ca_cert, "shipper-1", server=False)
        self.client_cert, self.client_key = write_cert(cert, "client.pem"), write_key(key, "client.key")
        other_key, other_ca = make_ca("some other CA")
        self.other_ca = write_cert(other_ca, "other-ca.pem")
        key, cert = issue(other_key, other_ca, "intruder", server=False)
        self.rogue_cert, self.rogue_key = write_cert(cert, "rogue.pem"), write_key(key, "rogue.key")

    def server_options(self, client_auth: str = "none") -> str:
        """YAML flow-mapping entries enabling TLS on an input."""
        return (f"ssl_enabled: true, ssl_certificate: '{self.server_cert}', ssl_key: '{self.server_key}', "
                f"ssl_certificate_authorities: ['{self.ca}'], ssl_client_authentication: {client_auth}")
