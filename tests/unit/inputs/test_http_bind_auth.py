"""The http input fails closed: reachable from the network means authenticated, unless
the operator says otherwise in so many words."""
from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from logpipe.config import load_text
from logpipe.errors import ConfigError
from logpipe.inputs.http import HttpInput
from logpipe.inputs.http.config import HttpConfig, is_loopback


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False),
    ("192.168.1.2", False), ("logpipe.svc.cluster.local", False), ("::ffff:10.0.0.1", False),
])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "my-node.example"])
def test_a_network_address_without_auth_is_refused(host: str) -> None:
    with pytest.raises(ValidationError) as info:
        HttpConfig.model_validate({"host": host})
    assert "no client authentication" in str(info.value) and "allow_unauthenticated" in str(info.value)


@pytest.mark.parametrize("options", [
    {"auth_token": "t0k3n"},
    {"user": "shipper", "password": "pw"},
    {"allow_unauthenticated": True},
])
def test_a_network_address_with_auth_or_explicit_consent_is_accepted(options: dict[str, object]) -> None:
    assert HttpConfig.model_validate({"host": "0.0.0.0", **options}).host == "0.0.0.0"


def test_required_client_certificates_count_as_authentication() -> None:
    base = {"host": "0.0.0.0", "ssl_enabled": True, "ssl_certificate": "s.pem", "ssl_key": "s.key",
            "ssl_certificate_authorities": ["ca.pem"]}
    assert HttpConfig.model_validate({**base, "ssl_client_authentication": "required"}).authenticates
    with pytest.raises(ValidationError):
        HttpConfig.model_validate({**base, "ssl_client_authentication": "optional"})  # a client may skip it


def test_loopback_needs_no_auth() -> None:
    assert not HttpConfig.model_validate({"host": "127.0.0.1"}).authenticates


@pytest.mark.parametrize("field", ["auth_token", "password"])
def test_an_empty_secret_is_refused_rather_than_matching_an_empty_header(field: str) -> None:
    options: dict[str, object] = {field: "  "}
    if field == "password":
        options["user"] = "shipper"
    with pytest.raises(ValidationError) as info:
        HttpConfig.model_validate(options)
    assert "must not be empty" in str(info.value)


def test_the_pipeline_file_names_the_problem_and_nothing_listens() -> None:
    text = "inputs: [{type: http, host: 0.0.0.0, port: 0, auth_token: '${NO_SUCH_TOKEN_VAR:-}'}]\n" \
           "outputs: [{type: blackhole}]\n"
    with pytest.raises(ConfigError) as info:
        load_text(text, source="p.yaml")
    assert "auth_token" in str(info.value)
    text = "inputs: [{type: http, host: 0.0.0.0, port: 0}]\noutputs: [{type: blackhole}]\n"
    with pytest.raises(ConfigError) as info:
        load_text(text, source="p.yaml")
    assert "allow_unauthenticated" in str(info.value)


def test_with_consent_it_listens_on_every_interface() -> None:
    async def scenario() -> int | None:
        cfg = HttpConfig.model_validate({"host": "0.0.0.0", "port": 0, "allow_unauthenticated": True})
        plugin = HttpInput(cfg, id="open")
        await plugin.start()
        try:
            return plugin.bound_port
        finally:
            await plugin.stop()

    assert asyncio.run(scenario())
