"""The ledger: what was sent, against what Elasticsearch and the dead-letter queue hold.

Every generated record carries ``<run>-<seq>`` (the nginx request id, or
``trace.id`` in JSON app logs; see ``logpipe.generate.traffic``; the model's
uvicorn lines have no id and are switched off here), so any copy
of it, however it was parsed, enriched or wrapped, can be recognised by
searching its serialized form for that pattern. The check reads back:

- Elasticsearch, by id and by count: a point-in-time scan of the index
  (every ``_id`` with the run keys found in its source), checked against
  ``_count`` so a scan that missed documents cannot pass;
- the dead-letter topic, read from the beginning of every partition to its
  end without a consumer group.

and reports, per key: lost (sent, found nowhere), duplicated (more than one
document in Elasticsearch), misplaced (both indexed and dead-lettered, found
under an unexpected id or index, or never sent at all) and unaccountable
documents (no key, or several). A balanced ledger has
``sent == indexed + dead_lettered`` with all of those empty.
"""
from __future__ import annotations

import re
import secrets
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import aiohttp
import orjson

from logpipe.generate.traffic import Record, TrafficModel
from tests.reliability.kafka_tools import read_to_end

#: Source fields the scan reads; between them they hold the key of every generated shape.
KEY_FIELDS = ["message", "trace.id", "labels", "key", "event.original"]


def new_run_id(prefix: str) -> str:
    """A fresh run id: ``prefix`` and ten random lower-case letters.

    No digits, because a key is ``<run>-<seq>`` and the pipelines under test scrub card
    numbers (13 to 19 digits, dashes allowed, Luhn-valid): a run id ending in nine or ten
    digits would make about one key in ten look like a card, and those documents would be
    indexed with their key masked, i.e. counted as lost.
    """
    return prefix + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


def key_pattern(run_id: str) -> re.Pattern[bytes]:
    """What finds the keys of ``run_id`` in serialized documents (group 1: the sequence)."""
    return re.compile(re.escape(run_id).encode() + rb"-(\d+)(?!\d)")


@dataclass
class EsDoc:
    index: str
    doc_id: str
    #: The source fields the scan read, serialized; keys are found in it by the ledger.
    raw: bytes


@dataclass
class DlqRecord:
    partition: int
    offset: int
    keys: set[int]
    reason: str
    record: dict[str, Any]


@dataclass
class Balance:
    """The outcome of a ledger check; ``problems()`` is empty when it balances."""

    sent: int
    indexed: int
    dead_lettered: int
    es_documents: int
    es_count: int
    lost: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    dlq_duplicates: list[int] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    #: Documents with no key of this run, when the scenario expects some (attack traffic).
    foreign: int = 0

    def problems(self, *, allow_dlq_duplicates: bool = False) -> list[str]:
        out = []
        if self.lost:
            out.append(f"{len(self.lost)} lost (e.g. {self.lost[:10]})")
        if self.duplicates:
            out.append(f"{len(self.duplicates)} duplicated in Elasticsearch (e.g. {self.duplicates[:10]})")
        if self.dlq_duplicates and not allow_dlq_duplicates:
            out.append(f"{len(self.dlq_duplicates)} dead-lettered twice (e.g. {self.dlq_duplicates[:10]})")
        if self.misplaced:
            out.append(f"{len(self.misplaced)} misplaced (e.g. {self.misplaced[:5]})")
        if self.es_count != self.es_documents:
            out.append(f"_count says {self.es_count} documents but the scan saw {self.es_documents}")
        if self.sent != self.indexed + self.dead_lettered:
            out.append(f"sent {self.sent} != indexed {self.indexed} + dead-lettered {self.dead_lettered}")
        return out

    def assert_balanced(self, **kwargs: Any) -> None:
        problems = self.problems(**kwargs)
        assert not problems, "ledger does not balance: " + "; ".join(problems) + f" ({self.summary()})"

    def summary(self) -> dict[str, Any]:
        return {"sent": self.sent, "indexed": self.indexed, "dead_lettered": self.dead_lettered,
                "duplicates": len(self.duplicates), "lost": len(self.lost),
                "misplaced": len(self.misplaced), "dlq_duplicates": len(self.dlq_duplicates),
                "reasons": dict(self.reasons), **({"foreign": self.foreign} if self.foreign else {})}


class Ledger:
    """Generates keyed records and accounts for them."""

    def __init__(self, run_id: str, *, seed: int = 11) -> None:
        if re.search(r"[0-9]$", run_id):
            raise ValueError(f"run id {run_id!r} ends in a digit: with the sequence number its keys "
                             "can look like card numbers and be scrubbed (use new_run_id)")
        self.run_id = run_id
        # uvicorn access lines carry no request id, so they cannot be accounted for: none here.
        self.model = TrafficModel(seed=seed, run_id=run_id, uvicorn_share=0.0)
        self.sent: set[int] = set()
        #: key -> the document id it must have (when the scenario knows it, e.g. Kafka coordinates)
        self.expected_ids: dict[int, str] = {}
        self._pattern = key_pattern(run_id)

    # --- sending side ------------------------------------------------------------------
    def records(self, n: int) -> list[Record]:
        """The next ``n`` records; they count as sent once ``mark_sent`` says so."""
        return self.model.take(n)

    def mark_sent(self, seqs: Iterable[int]) -> None:
        self.sent.update(seqs)

    def keys(self, raw: bytes) -> set[int]:
        return {int(m) for m in self._pattern.findall(raw)}

    # --- reading back ------------------------------------------------------------------
    async def check(self, es_url: str, index: str, *, dlq: tuple[str, str] | None = None,
                    expected_index: Callable[[int], str] | None = None,
                    dlq_reasons: set[str] | None = None, foreign_ok: bool = False) -> Balance:
        """Read Elasticsearch (and the DLQ topic ``(bootstrap, topic)``) and balance the books.

        ``foreign_ok``: documents without any key of this run are counted as foreign
        instead of misplaced (attack traffic that happened to be valid).
        """
        docs, count = await scan_index(es_url, index)
        records = await read_topic(dlq[0], dlq[1], self) if dlq is not None else []
        return self.balance(docs, count, records, expected_index=expected_index, dlq_reasons=dlq_reasons,
                            foreign_ok=foreign_ok)

    def balance(self, docs: list[EsDoc], es_count: int, records: list[DlqRecord], *,
                expected_index: Callable[[int], str] | None = None,
                dlq_reasons: set[str] | None = None, foreign_ok: bool = False) -> Balance:
        misplaced: list[str] = []
        in_es: Counter[int] = Counter()
        foreign = 0
        for doc in docs:
            keys = self.keys(doc.raw)
            if not keys and foreign_ok:
                foreign += 1
                continue
            if len(keys) != 1:
                misplaced.append(f"document {doc.doc_id} in {doc.index} carries keys {sorted(keys)}")
                continue
            (key,) = keys
            in_es[key] += 1
            want = self.expected_ids.get(key)
            if want is not None and doc.doc_id != want:
                misplaced.append(f"{key} indexed as {doc.doc_id}, expected {want}")
            if expected_index is not None and doc.index != expected_index(key):
                misplaced.append(f"{key} indexed in {doc.index}, expected {expected_index(key)}")
        in_dlq: Counter[int] = Counter()
        reasons: Counter[str] = Counter()
        for rec in records:
            if len(rec.keys) != 1:
                misplaced.append(f"DLQ record {rec.partition}@{rec.offset} carries keys {sorted(rec.keys)}")
                continue
            (key,) = rec.keys
            in_dlq[key] += 1
            reasons[rec.reason] += 1
            if dlq_reasons is not None and rec.reason not in dlq_reasons:
                misplaced.append(f"{key} dead-lettered for {rec.reason!r}, expected one of {sorted(dlq_reasons)}")
        both = set(in_es) & set(in_dlq)
        misplaced.extend(f"{key} both indexed and dead-lettered" for key in sorted(both))
        unknown = (set(in_es) | set(in_dlq)) - self.sent
        misplaced.extend(f"{key} was never sent" for key in sorted(unknown))
        lost = sorted(self.sent - set(in_es) - set(in_dlq))
        return Balance(
            sent=len(self.sent), indexed=len(set(in_es) & self.sent),
            dead_lettered=len((set(in_dlq) - both) & self.sent),
            es_documents=len(docs), es_count=es_count, lost=lost,
            duplicates=sorted(k for k, n in in_es.items() if n > 1),
            dlq_duplicates=sorted(k for k, n in in_dlq.items() if n > 1),
            misplaced=misplaced, reasons=reasons, foreign=foreign)


# --- Elasticsearch -----------------------------------------------------------------------
async def _es(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    data = orjson.dumps(body) if body is not None else None
    async with session.request(method, url, data=data, headers={"content-type": "application/json"}) as r:
        raw = await r.read()
        if r.status >= 300:
            raise AssertionError(f"{method} {url}: HTTP {r.status}: {raw[:500]!r}")
        return orjson.loads(raw) if raw else None


async def scan_index(es_url: str, index: str, page: int = 5000,
                     fields: list[str] | None = None) -> tuple[list[EsDoc], int]:
    """Every document of ``index`` (id, concrete index, source fields) and the index's ``_count``.

    ``fields`` adds source fields to read besides those that hold the keys.
    """
    base = es_url.rstrip("/")
    async with aiohttp.ClientSession() as session:
        await _es(session, "POST", f"{base}/{index}/_refresh")
        count = (await _es(session, "POST", f"{base}/{index}/_count"))["count"]
        pit = (await _es(session, "POST", f"{base}/{index}/_pit?keep_alive=2m"))["id"]
        docs: list[EsDoc] = []
        after: list[Any] | None = None
        try:
            while True:
                body: dict[str, Any] = {"size": page, "pit": {"id": pit, "keep_alive": "2m"},
                                        "sort": [{"_shard_doc": "asc"}], "track_total_hits": False,
                                        "_source": KEY_FIELDS + (fields or [])}
                if after is not None:
                    body["search_after"] = after
                result = await _es(session, "POST", f"{base}/_search", body)
                pit = result.get("pit_id", pit)
                hits = result["hits"]["hits"]
                if not hits:
                    break
                for hit in hits:
                    docs.append(EsDoc(hit["_index"], hit["_id"], orjson.dumps(hit.get("_source"))))
                after = hits[-1]["sort"]
        finally:
            await _es(session, "DELETE", f"{base}/_pit", {"id": pit})
    return docs, int(count)


async def read_topic(bootstrap: str, topic: str, ledger: Ledger) -> list[DlqRecord]:
    """Every record of the dead-letter topic, decoded, oldest first per partition."""
    return [_dlq_record(m, ledger) for m in await read_to_end(bootstrap, topic)]


def _dlq_record(message: Any, ledger: Ledger) -> DlqRecord:
    try:
        record = orjson.loads(message.value)
    except orjson.JSONDecodeError:
        record = {"raw": message.value.decode("utf-8", "replace")}
    event = record.get("event")
    raw = orjson.dumps(event) if event is not None else orjson.dumps(record.get("event_truncated"))
    reason = str((record.get("error") or {}).get("type", "unknown"))
    return DlqRecord(message.partition, message.offset, ledger.keys(raw), reason, record)
