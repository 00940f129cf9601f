"""Coroutine handlers run to completion; generators and unawaited results never mark a key done."""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from runtime_test_helpers import BudgetChanged, budget_event, failed_ids, stdout_json_lines

from event_fanout.runtime import EventBridgeEvent, fanout_consumer
from event_fanout.runtime.testing import FakeLambdaContext, sqs_event, sqs_record

TABLE = "consumer-idempotency"


def stored_statuses(client: Any) -> list[str]:
    return [item["status"]["S"] for item in client.scan(TableName=TABLE)["Items"]]


def test_async_handler_is_awaited_before_its_key_is_completed(consumer_env: Any) -> None:
    effects: list[tuple[str, int]] = []

    @fanout_consumer
    async def handler(event: EventBridgeEvent[BudgetChanged]) -> None:
        await asyncio.sleep(0)  # the effect happens after a suspension point, as real I/O does
        effects.append((event.id, event.detail.campaign_id))

    first, second = budget_event(1), budget_event(2)
    response = handler(sqs_event(first, second, first), FakeLambdaContext())

    assert failed_ids(dict(response)) == []
    # One effect per key (on worker threads, the two keys in either order).
    assert sorted(effects) == sorted([(first["id"], 1), (second["id"], 2)])
    assert stored_statuses(consumer_env) == ["COMPLETED", "COMPLETED"]
    assert handler.model is EventBridgeEvent[BudgetChanged]


def test_async_handler_that_raises_fails_its_record_and_releases_its_key(
    consumer_env: Any,
) -> None:
    refuse = True
    effects: list[str] = []

    @fanout_consumer
    async def handler(event: EventBridgeEvent[BudgetChanged]) -> None:
        await asyncio.sleep(0)
        if refuse:
            raise RuntimeError("downstream refused")
        effects.append(event.id)

    event = budget_event()
    response = handler(sqs_event(sqs_record(event, message_id="m")), FakeLambdaContext())
    assert failed_ids(dict(response)) == ["m"]
    assert stored_statuses(consumer_env) == []

    refuse = False
    response = handler(sqs_event(event), FakeLambdaContext())
    assert failed_ids(dict(response)) == []
    assert effects == [event["id"]]


def test_partial_of_an_async_function_is_awaited(consumer_env: Any) -> None:
    effects: list[str] = []

    async def apply(target: list[str], event: EventBridgeEvent[dict[str, Any]]) -> None:
        await asyncio.sleep(0)
        target.append(event.id)

    handler = fanout_consumer(name="Partial", model=EventBridgeEvent[dict[str, Any]])(
        functools.partial(apply, effects)
    )
    event = budget_event()

    response = handler(sqs_event(event), FakeLambdaContext())

    assert failed_ids(dict(response)) == []
    assert effects == [event["id"]]


def test_fails_when_decorating_a_generator_function() -> None:
    def handler(event: EventBridgeEvent[dict[str, Any]]) -> Iterator[None]:
        yield None

    with pytest.raises(TypeError, match=r"handler is a generator function.*return None"):
        fanout_consumer(handler)  # type: ignore[arg-type]


def test_fails_when_decorating_an_async_generator_function() -> None:
    async def handler(event: EventBridgeEvent[dict[str, Any]]) -> AsyncIterator[None]:
        yield None

    with pytest.raises(TypeError, match=r"handler is an async generator function.*async def"):
        fanout_consumer(name="X")(handler)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["coroutine", "generator"])
def test_sync_handler_returning_an_unrun_coroutine_or_generator_fails_its_record(
    consumer_env: Any, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    effects: list[str] = []

    async def apply(event: EventBridgeEvent[dict[str, Any]]) -> None:
        effects.append(event.id)

    def steps(event: EventBridgeEvent[dict[str, Any]]) -> Iterator[None]:
        effects.append(event.id)
        yield None

    # A sync wrapper (lambda, decorator) hides the async or generator function from inspection.
    wrapped = apply if kind == "coroutine" else steps
    handler = fanout_consumer(name="Wrapped", model=EventBridgeEvent[dict[str, Any]])(
        lambda event: wrapped(event)  # type: ignore[arg-type,return-value]
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would be a bug here
        response = handler(
            sqs_event(sqs_record(budget_event(), message_id="m")), FakeLambdaContext()
        )

    assert failed_ids(dict(response)) == ["m"]
    assert effects == []
    assert stored_statuses(consumer_env) == []
    logs, _ = stdout_json_lines(capsys.readouterr().out)
    assert not any(line["message"] == "Event processed" for line in logs)
    (failure,) = [line for line in logs if line["message"].startswith("Handler failed")]
    assert f"returned a {kind}" in failure["exception"]
