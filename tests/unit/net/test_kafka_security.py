"""Kafka client security settings: checked early, turned into aiokafka arguments, never leaked."""
from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from logpipe.net.kafka_security import KafkaSecurityConfig, client_kwargs, describe


def test_plaintext_by_default() -> None:
    assert client_kwargs(KafkaSecurityConfig()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_scram_passes_credentials() -> None:
    cfg = KafkaSecurityConfig(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                              sasl_plain_username="logpipe", sasl_plain_password="s3cret")
    assert client_kwargs(cfg) == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "logpipe", "sasl_plain_password": "s3cret"}


def test_password_never_appears_in_repr_dump_or_description() -> None:
    cfg = KafkaSecurityConfig(security_protocol="SASL_SSL", sasl_plain_username="logpipe",
                              sasl_plain_password="s3cret")
    assert "s3cret" not in repr(cfg)
    assert "s3cret" not in str(cfg.model_dump())
    assert "s3cret" not in cfg.model_dump_json()
    assert describe(cfg) == "SASL_SSL (PLAIN as logpipe)"


def test_sasl_without_credentials_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="needs sasl_plain_username and sasl_plain_password"):
        KafkaSecurityConfig(security_protocol="SASL_SSL", sasl_plain_username="logpipe")


def test_unknown_mechanism_is_rejected() -> None:
    with pytest.raises(ValidationError):
        KafkaSecurityConfig(security_protocol="SASL_SSL", sasl_mechanism="GSSAPI",
                            sasl_plain_username="u", sasl_plain_password="p")


def test_tls_files_without_tls_protocol_are_a_config_error(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ValidationError, match="security_protocol is PLAINTEXT"):
        KafkaSecurityConfig(ssl_cafile=str(ca))


def test_missing_tls_file_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ssl_cafile: no such file"):
        KafkaSecurityConfig(security_protocol="SSL", ssl_cafile=str(tmp_path / "absent.pem"))


def test_ssl_gives_a_verifying_context() -> None:
    kwargs = client_kwargs(KafkaSecurityConfig(security_protocol="SSL"))
    ctx = kwargs["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_hostname_check_can_be_turned_off() -> None:
    ctx = client_kwargs(KafkaSecurityConfig(security_protocol="SSL", ssl_check_hostname=False))["ssl_context"]
    assert not ctx.check_hostname
    assert ctx.verify_mode == ssl.CERT_REQUIRED
