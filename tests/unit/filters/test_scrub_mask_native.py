"""The native mask search (``logpipe_native.MaskFinder``) against Python's ``re``.

An ASCII text that the scrubber masks is searched with PCRE2 instead of ``re``,
and without the two RE2 searches that narrow the expression for ``re`` (a secret
name, a run of digits). These tests hold it to ``re``: the matches of every
selection's expression, the masked text and the counts, over texts built from
the pieces the masks look for and the characters at their edges (the ASCII
separators Python counts as space, quotes, ``%40``, digits around a card).
"""
from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.filters.scrub import ScrubConfig
from logpipe.filters.scrub.patterns import TextMasker

native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))

PIECES = ["password", "Pass-Word", "api_key", "TOKEN", "secret", "bearer", "Bearer ", "BEARER\t",
          "basic ", "eyJ", "eyJhbGciOi.eyJzdWIi.sig", "AKIA", "ASIA", "AKIAABCDEFGHIJKLMNOP",
          "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "1700000000000",
          "20250615115930", "@", "%40", "a.b@mail.test", "x%40y.io", "=", ": ", ":", "&", "#", ";",
          ",", "'", '"', " ", "\t", "\n", "\x1c", "\x1f", "\x0b", "a", "Z", "0", "9", "_", "-", ".",
          "/", "+", "~", "?", "k", "K", "s", "tk_85c28fa8", "token=", "password: "]

texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def masker(native_on: bool, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> TextMasker:
    config = ScrubConfig(**settings)
    if native_on:
        monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    else:
        monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    made = TextMasker(config.kinds, config.secret_params, lambda address: f"h({address})")
    assert made._native is native_on
    return made


@pytest.fixture
def both(monkeypatch: pytest.MonkeyPatch) -> tuple[TextMasker, TextMasker]:
    return masker(True, monkeypatch), masker(False, monkeypatch)


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_the_native_search_finds_what_re_finds(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        on = masker(True, monkeypatch)
    # Every alternative, as the loose selection of an ASCII text may take them all.
    sel = (1 << len(on._order)) - 1
    regex = on._regex(sel)
    assert regex is not None
    expected = [(m.lastgroup, m.start(), m.end(), *m.span(m.lastgroup or "")) for m in regex.finditer(text)]
    assert on._spans(text, sel) == expected


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_masked_texts_and_counts_are_those_of_re(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        on, off = masker(True, monkeypatch), masker(False, monkeypatch)
    counts_on: dict[str, int] = {}
    counts_off: dict[str, int] = {}
    assert on(text, counts_on) == off(text, counts_off)
    # the kinds in the order of their first mask, as a report field lists them
    assert list(counts_on.items()) == list(counts_off.items())


def test_a_few_known_masks(both: tuple[TextMasker, TextMasker]) -> None:
    on, off = both
    cases = {
        "login password=hunter2&next=/": "login password=[REDACTED:secret]&next=/",
        "auth header Bearer abc.def": "auth header Bearer [REDACTED:bearer]",
        "card 4111 1111 1111 1111 ok": "card [REDACTED:card] ok",
        "not a card 4111 1111 1111 1112": "not a card 4111 1111 1111 1112",
        "at 1700000000000000 ms": "at 1700000000000000 ms",
        "mail to Bob@Mail.Test now": "mail to h(bob@mail.test) now",
        "q?email=a%40b.io": "q?email=h(a@b.io)",
        "api_key=\"x y\" then": "api_key=\"[REDACTED:secret]\" then",
    }
    for text, masked in cases.items():
        assert on(text, {}) == masked
        assert off(text, {}) == masked


def test_text_outside_ascii_goes_to_re(both: tuple[TextMasker, TextMasker]) -> None:
    """The Kelvin sign is a ``k`` to ``re``'s caseless match: such text is re's to search."""
    on, off = both
    text = "to\u212aen=abc and caf\u00e9 a@b.io"
    assert not text.isascii()
    assert on(text, {}) == off(text, {}) == "to\u212aen=[REDACTED:secret] and caf\u00e9 h(a@b.io)"


def test_secret_names_outside_ascii_keep_re(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    config = ScrubConfig(secret_params=["cl\u00e9"])
    made = TextMasker(config.kinds, config.secret_params, lambda address: address)
    assert made._native is False
    assert made("cl\u00c9=abc", {}) == "cl\u00c9=[REDACTED:secret]"


def test_pcre2_giving_up_falls_back_to_re(both: tuple[TextMasker, TextMasker],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    on, off = both
    text = "password=abc and a@b.io"
    sel = on._selection(text, on.kinds, True)

    tried: list[str] = []

    class GivesUp:
        def spans(self, text: str) -> list[Any]:
            tried.append("spans")
            raise ValueError("match limit exceeded")

        def mask(self, text: str, email: Any, counts: dict[str, int]) -> str:
            tried.append("mask")
            raise ValueError("match limit exceeded")

    on._finders[sel] = (GivesUp(), [])
    assert on(text, {}) == off(text, {}) == "password=[REDACTED:secret] and h(a@b.io)"
    assert tried == ["mask"]  # re answers at once: PCRE2 is not run to its limit twice


def test_the_finder_refuses_what_it_cannot_answer() -> None:
    finder = native.MaskFinder(r"(?P<a>x)|(?P<b>y)", [1, 2])
    assert finder.spans("xay") == [(0, 0, 1, 0, 1), (1, 2, 3, 2, 3)]
    with pytest.raises(ValueError):
        finder.spans("x\u00e9")
    with pytest.raises(ValueError):
        native.MaskFinder(r"(?P<a>x)", [2])


def test_the_native_mask_writes_the_replacements_and_counts() -> None:
    finder = native.MaskFinder(r"(?P<secret_p>pw=)(?P<secret>\S+)|(?P<card>[0-9]{13,16})|(?P<email>\w+@\w+\.io)",
                               [2, 3, 4], ["secret", "card", "email"])
    counts = {"card": 1}
    out = finder.mask("pw=x 4111111111111111 1700000000000 a@b.io c@d.io", lambda a: f"<{a}>", counts)
    assert out == "pw=[REDACTED:secret] [REDACTED:card] 1700000000000 <a@b.io> <c@d.io>"
    assert list(counts.items()) == [("card", 2), ("secret", 1), ("email", 2)]
    untouched = "nothing 1234567890123"  # fails the Luhn check
    assert finder.mask(untouched, lambda a: a, counts) is untouched
    with pytest.raises(ValueError):
        finder.mask("pw=\u00e9", lambda a: a, {})
    with pytest.raises(ValueError):
        native.MaskFinder(r"(?P<a>x)", [1]).mask("x", lambda a: a, {})
    with pytest.raises(ValueError):
        native.MaskFinder(r"(?P<a>x)|(?P<b>y)", [1, 2], ["a"])
