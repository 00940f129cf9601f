"""Structured logs and embedded-format metrics of the consumer runtime.

Built on Powertools' Logger and Metrics so log lines are the JSON CloudWatch Logs Insights
expects and metrics cost no API call (CloudWatch extracts them from the log line, EMF).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from event_fanout.runtime.constants import (
    ENV_POWERTOOLS_SERVICE_NAME,
    METRIC_DEAD_LETTERED,
    METRIC_DIMENSION_CONSUMER,
    METRIC_DUPLICATE,
    METRIC_FAILED,
    METRIC_MALFORMED,
    METRIC_PAYLOAD_MISMATCH,
    METRIC_PROCESSED,
)
from event_fanout.runtime.settings import ConsumerSettings

__all__ = ["BatchTally", "emit_batch_metrics", "logger", "record_log_keys"]


class _CurrentStdout:
    """A stream that writes to whatever ``sys.stdout`` is at write time.

    Powertools binds its handler to the stream object it sees at import; resolving it per write
    keeps the output visible to test capture and to the local runner when they swap stdout.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


#: The runtime's logger. Consumers log through it so their lines carry the same keys
#: (consumer, event_id, correlation_id, message_id) as the runtime's own.
logger = Logger(
    service=os.environ.get(ENV_POWERTOOLS_SERVICE_NAME) or "event-fanout",
    stream=_CurrentStdout(),  # type: ignore[arg-type]
)


@dataclass(slots=True)
class BatchTally:
    """Outcome counts of one invocation, flushed as one EMF blob instead of one per record."""

    processed: int = 0
    duplicate: int = 0
    failed: int = 0
    malformed: int = 0
    payload_mismatch: int = 0
    #: Subset of ``failed``: FIFO records the runtime moved to the DLQ itself on their last
    #: receive (reported handled to SQS, so their group carries on, but failed for the alarms).
    dead_lettered: int = 0

    def add(self, other: BatchTally) -> None:
        """Add ``other``'s counts (a record's, counted on its own thread) to these."""
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@contextmanager
def record_log_keys(*, thread_local: bool, **keys: Any) -> Iterator[None]:
    """Add ``keys`` to the log lines written inside the block.

    Records on worker threads (``max_workers`` above 1) use Powertools' thread-local keys: its
    ``append_context_keys`` changes the formatter every thread shares, so one record's event id
    would land on another's lines. The batch's own keys stay shared: they are the same for all.
    """
    if not thread_local:
        with logger.append_context_keys(**keys):
            yield
        return
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(keys.keys())


def emit_batch_metrics(settings: ConsumerSettings, tally: BatchTally) -> None:
    """Print the invocation's counts as one CloudWatch embedded-metric-format line.

    Zero counts are emitted too, so dashboards and alarms see 0 rather than missing data.

    Parameters
    ----------
    settings
        Supplies the namespace, the ``service`` dimension and the ``consumer`` dimension.
    tally
        The counts to publish.

    Examples
    --------
    >>> s = ConsumerSettings.from_env("Audit", {"IDEMPOTENCY_TABLE_NAME": "t"})
    >>> emit_batch_metrics(s, BatchTally(processed=2))  # doctest: +ELLIPSIS
    {"_aws":{...,"CloudWatchMetrics":[{"Namespace":"EventFanout",...

    """
    # The fan-out's name, not POWERTOOLS_SERVICE_NAME (the logs' service, the user's to change):
    # the failed-records alarm is written for these dimensions.
    metrics = Metrics(
        namespace=settings.metrics_namespace,
        service=settings.metrics_service or settings.service_name,
    )
    metrics.add_dimension(name=METRIC_DIMENSION_CONSUMER, value=settings.consumer_name)
    for name, value in (
        (METRIC_PROCESSED, tally.processed),
        (METRIC_DUPLICATE, tally.duplicate),
        (METRIC_FAILED, tally.failed),
        (METRIC_MALFORMED, tally.malformed),
        (METRIC_PAYLOAD_MISMATCH, tally.payload_mismatch),
        (METRIC_DEAD_LETTERED, tally.dead_lettered),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()
