"""The dead-letter queue: records of events an output could not deliver, and their replay."""
from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.dlq.record import DeadLetterRecord, build_record
from logpipe.dlq.writer import DeadLetterWriter

__all__ = ["DeadLetterQueueConfig", "DeadLetterRecord", "DeadLetterWriter", "build_record"]
