"""Request authentication: a bearer token, basic credentials, or both accepted.

Comparisons use ``hmac.compare_digest`` so the time taken does not reveal how
much of a guess was right. Credentials are never logged or copied to events.
"""
from __future__ import annotations

import base64
import binascii
import hmac

from pydantic import SecretStr


class Authenticator:
    def __init__(self, token: SecretStr | None, user: str | None, password: SecretStr | None) -> None:
        self._token = token.get_secret_value().encode() if token is not None else None
        self._basic = (f"{user}:{password.get_secret_value()}".encode()
                       if user is not None and password is not None else None)

    @property
    def enabled(self) -> bool:
        return self._token is not None or self._basic is not None

    @property
    def challenge(self) -> str:
        """The WWW-Authenticate value of a 401."""
        return 'Basic realm="logpipe"' if self._basic is not None else 'Bearer realm="logpipe"'

    def check(self, header: str | None) -> bool:
        if not self.enabled:
            return True
        if not header:
            return False
        scheme, _, credentials = header.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and self._token is not None:
            return hmac.compare_digest(credentials.encode("utf-8", "surrogatepass"), self._token)
        if scheme == "basic" and self._basic is not None:
            try:
                given = base64.b64decode(credentials, validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(given, self._basic)
        return False
