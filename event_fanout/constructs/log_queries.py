"""Saved CloudWatch Logs Insights queries over a fan-out's consumers: trace one event, triage.

The runtime writes one JSON line per record with ``consumer``, ``event_id``,
``correlation_id``, ``duration_ms`` (and ``replay_name`` for replayed events); failures are
ERROR lines with the exception or the reason. These queries read those fields across every
consumer of a stack at once, under ``event-fanout/<fan-out path>/`` in the console's saved
queries. Like the dashboards, there is one set per stack holding consumers: a query names log
groups, and another stack's would be cross-stack references.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import jsii
from aws_cdk import IStableListProducer, Lazy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from event_fanout.constructs.stack_place import place_in

if TYPE_CHECKING:
    from event_fanout.constructs.consumer import FanoutConsumer

__all__ = ["QUERIES", "FanoutLogQueries"]

#: What the "follow one event" query asks for: paste an event id or a correlation id there.
ID_PLACEHOLDER: Final = "PASTE-AN-EVENT-OR-CORRELATION-ID"

#: Query name -> Logs Insights query.
QUERIES: Final[dict[str, str]] = {
    "follow-one-event": (
        "fields @timestamp, consumer, message, event_id, correlation_id, replay_name, @log\n"
        f"| filter event_id = '{ID_PLACEHOLDER}' or correlation_id = '{ID_PLACEHOLDER}'\n"
        "| sort @timestamp asc\n"
        "| limit 500"
    ),
    "failures-by-reason": (
        "fields coalesce(reason, exception_name, message) as why\n"
        "| filter level = 'ERROR'\n"
        "| stats count(*) as failures by consumer, why\n"
        "| sort failures desc"
    ),
    "slowest-records": (
        "fields @timestamp, consumer, event_id, correlation_id, duration_ms, message\n"
        "| filter ispresent(duration_ms)\n"
        "| sort duration_ms desc\n"
        "| limit 50"
    ),
}


@jsii.implements(IStableListProducer)
class _LogGroupNames:
    """The log groups of a stack's consumers, known only once every consumer is added."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def produce(self) -> list[str] | None:
        return list(self.names)


def log_group_name(function: lambda_.Function) -> str:
    """The function's log group: its ``LoggingConfig``'s, else Lambda's ``/aws/lambda/<name>``.

    Not ``function.log_group``: for a function without a log group of its own that property
    adds a ``LogRetention`` custom resource (and its Lambda) to create one.
    """
    cfn = function.node.default_child
    config = getattr(cfn, "logging_config", None)
    named = getattr(config, "log_group", None)
    if isinstance(named, str):
        return named
    return f"/aws/lambda/{function.function_name}"


class FanoutLogQueries:
    """The saved queries of one fan-out; :meth:`add_consumer` adds a consumer's log group."""

    def __init__(self, fanout: Construct) -> None:
        self._fanout = fanout
        self._by_stack: dict[str, _LogGroupNames] = {}

    def add_consumer(self, consumer: FanoutConsumer) -> None:
        """Include the consumer's function's log group in its stack's queries."""
        function = consumer.function
        if not isinstance(function, lambda_.Function):
            return  # an imported function: its log group is not this app's to name
        self._names_of(Stack.of(consumer)).names.append(log_group_name(function))

    def _names_of(self, stack: Stack) -> _LogGroupNames:
        if stack.node.path in self._by_stack:
            return self._by_stack[stack.node.path]
        names = _LogGroupNames()
        self._by_stack[stack.node.path] = names
        place = place_in(self._fanout, stack)
        folder = f"event-fanout/{self._fanout.node.path}" + (
            f"/{place.shard}" if place.shard else ""
        )
        for name, query in QUERIES.items():
            logs.CfnQueryDefinition(
                place.scope,
                f"{place.id_prefix}Query{''.join(part.title() for part in name.split('-'))}",
                name=f"{folder}/{name}",
                query_string=query,
                log_group_names=Lazy.list(names),
            )
        return names
