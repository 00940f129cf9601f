"""One X-Ray subsegment per record, when the consumer's function traces (``tracing=True``).

Each record's subsegment is annotated with what a trace search needs: the event id, the
correlation id, the consumer and the outcome (``processed``, ``duplicate``, ``failed``), so
X-Ray's "annotation.correlation_id = ..." finds one event's path through every consumer.
Powertools' Tracer (and the X-Ray SDK under it) is imported on the first traced record only:
a consumer without tracing starts exactly as before.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["RecordTrace", "record_trace", "reset_tracer"]


class _Subsegment(Protocol):
    def put_annotation(self, key: str, value: Any) -> None: ...


class _Provider(Protocol):
    def in_subsegment(self, name: str) -> contextlib.AbstractContextManager[_Subsegment]: ...


class RecordTrace:
    """The subsegment of one record (or nothing, when tracing is off)."""

    def __init__(self, subsegment: _Subsegment | None) -> None:
        self._subsegment = subsegment

    def annotate(self, **annotations: str | None) -> None:
        """Annotate the record's subsegment; values that are None are left out."""
        if self._subsegment is None:
            return
        for key, value in annotations.items():
            if value is not None:
                self._subsegment.put_annotation(key, value)


@functools.cache
def _provider(service: str) -> _Provider:
    from aws_lambda_powertools import Tracer

    provider: _Provider = Tracer(service=service).provider
    return provider


def reset_tracer() -> None:
    """Forget the tracer (tests that replace the provider)."""
    _provider.cache_clear()


@contextlib.contextmanager
def record_trace(enabled: bool, service: str, consumer: str) -> Iterator[RecordTrace]:
    """A subsegment around one record's handling when ``enabled``; its outcome annotated.

    The outcome is ``failed`` when the block raises (the exception propagates unchanged).
    """
    if not enabled:
        yield RecordTrace(None)
        return
    with _provider(service).in_subsegment(f"## {consumer} record") as subsegment:
        trace = RecordTrace(subsegment)
        trace.annotate(consumer=consumer)
        try:
            yield trace
        except BaseException:
            trace.annotate(outcome="failed")
            raise
