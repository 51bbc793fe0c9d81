"""What happened to each event an output was given.

An output's ``send`` may return a :class:`Delivery`: the events it could not
deliver, each either to *retry* (transient: a 429, a broken connection; the
batch stays unacknowledged and its input sends it again) or *rejected*
(permanent: a mapping error, a 404, a document no codec can serialize; the
engine hands it to the pipeline's dead-letter queue). Every event not named is
delivered. Returning ``None`` means everything was delivered, and raising
:class:`~logpipe.errors.DeliveryError` settles the whole batch by its
``retriable`` flag, so outputs written before outcomes existed keep working.

The engine combines the deliveries of all outputs event by event
(:func:`combine`): an event any output wants retried is retried, otherwise one
any output rejected is dead-lettered, otherwise it is delivered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable


class Status(str, Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One event's fate at one output."""

    status: Status
    reason: str = ""


DELIVERED = Outcome(Status.DELIVERED)


@dataclass(slots=True)
class Delivery:
    """The events of one ``send`` that were not delivered, by position in the list."""

    retry: dict[int, str] = field(default_factory=dict)
    rejected: dict[int, str] = field(default_factory=dict)
    #: Optional facts about a rejected event for its dead-letter record (``index``,
    #: ``document_id``, ``status``, ``action``), by position.
    details: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def all_delivered(cls) -> Delivery:
        return cls()

    @classmethod
    def all_retry(cls, count: int, reason: str) -> Delivery:
        return cls(retry=dict.fromkeys(range(count), reason))

    @classmethod
    def all_rejected(cls, count: int, reason: str) -> Delivery:
        return cls(rejected=dict.fromkeys(range(count), reason))

    def reject(self, position: int, reason: str, **details: Any) -> None:
        """Mark one event as permanently undeliverable (``details`` go to its dead letter)."""
        self.rejected[position] = reason
        if details:
            self.details[position] = details

    def retry_later(self, position: int, reason: str) -> None:
        """Mark one event as worth sending again later."""
        self.retry[position] = reason

    def outcome(self, position: int) -> Outcome:
        if position in self.retry:
            return Outcome(Status.RETRY, self.retry[position])
        if position in self.rejected:
            return Outcome(Status.REJECTED, self.rejected[position])
        return DELIVERED

    def outcomes(self, count: int) -> list[Outcome]:
        return [self.outcome(i) for i in range(count)]

    @property
    def complete(self) -> bool:
        """Whether every event was delivered."""
        return not self.retry and not self.rejected


@dataclass(slots=True)
class Rejection:
    """A rejected event and who rejected it (what a dead-letter entry is made of)."""

    position: int
    plugin_id: str
    plugin_type: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Combined:
    """All outputs' verdicts on one batch of events."""

    retry: dict[int, str] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)

    def add(self, delivery: Delivery, positions: Iterable[int] | None, plugin_id: str,
            plugin_type: str) -> None:
        """Fold one output's delivery in; ``positions`` maps its list back to the batch
        (None when the output was given the whole batch)."""
        index = list(positions) if positions is not None else None
        for pos, reason in delivery.retry.items():
            at = index[pos] if index is not None else pos
            self.retry.setdefault(at, f"{plugin_id}: {reason}")
        for pos, reason in delivery.rejected.items():
            at = index[pos] if index is not None else pos
            self.rejected.append(Rejection(at, plugin_id, plugin_type, reason,
                                           delivery.details.get(pos, {})))

    @property
    def needs_retry(self) -> bool:
        return bool(self.retry)

    def first_retry_reason(self) -> str:
        return next(iter(self.retry.values()), "")
