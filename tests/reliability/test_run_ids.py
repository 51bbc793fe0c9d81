"""Run ids must survive the pipelines' scrubbing, or their records count as lost.

A ledger key is ``<run>-<seq>``. The pipelines under test scrub card numbers
(13 to 19 digits, dashes allowed, Luhn-valid), so a run id ending in a run of
digits turns about one key in ten into a "card", which gets masked in Elasticsearch.
"""
from __future__ import annotations

import pytest

from logpipe.filters.scrub import Scrubber, scrub_event
from tests.reliability.ledger import Ledger, key_pattern, new_run_id


def _surviving(run_id: str, count: int) -> int:
    """How many of ``count`` keys of ``run_id`` a default scrubber leaves readable."""
    scrubber = Scrubber(key=b"k" * 32)
    pattern = key_pattern(run_id)
    kept = 0
    for seq in range(count):
        key = f"{run_id}-{seq}"
        doc = scrub_event({"message": f"GET / 200 0.010 {key}", "http": {"request": {"id": key}}}, scrubber)
        seen = {int(m) for m in pattern.findall(f"{doc['message']} {doc['http']['request']['id']}".encode())}
        kept += seen == {seq}
    return kept


def test_a_digit_heavy_run_id_loses_keys_to_the_card_scrubber() -> None:
    # The shape that once failed a run: ten hex digits that happened to be decimal.
    assert _surviving("gmr5183920174", 400) < 400


def test_generated_run_ids_are_letters_and_keep_every_key() -> None:
    for _ in range(20):
        run_id = new_run_id("gmr")
        assert run_id.startswith("gmr") and run_id[3:].isalpha() and len(run_id) == 13
        assert _surviving(run_id, 400) == 400


def test_the_ledger_refuses_run_ids_ending_in_a_digit() -> None:
    with pytest.raises(ValueError, match="card"):
        Ledger("gmr0123456789")
    assert Ledger(new_run_id("rel")).run_id.startswith("rel")
