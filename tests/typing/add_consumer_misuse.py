"""Calls mypy --strict must reject: each line's ``type: ignore`` names the error it expects.

scripts/test.sh type-checks this file with the library (``warn_unused_ignores`` is on under
strict): if the signatures stopped rejecting a call, its ignore would be unused, an error.
"""

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from event_fanout import EventFanout, FanoutConsumer


def fn(scope: Construct) -> lambda_.Function:
    return lambda_.Function(
        scope,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
    )


stack = Stack(App(), "Typed")
fanout = EventFanout(stack, "Fanout")
PATTERN = events.EventPattern(source=["a"])
WINDOW = Duration.seconds(2)

fanout.add_consumer("Correct", handler=fn, event_pattern=PATTERN, max_batching_window=WINDOW)
# fmt: off
fanout.add_consumer("Misspelled", handler=fn, event_pattern=PATTERN, batch_sise=10)  # type: ignore[call-arg]
fanout.add_consumer("WrongType", handler=fn, event_pattern=PATTERN, max_batching_window=2)  # type: ignore[arg-type]
fanout.add_consumer("WrongEventType", handler=fn, event_type="OrderPlaced")  # type: ignore[arg-type]
FanoutConsumer(stack, "Alone", event_bus=fanout.event_bus, handler=fn(stack), event_pattern=PATTERN, retry_attemps=3)  # type: ignore[call-arg]  # noqa: E501
# fmt: on
