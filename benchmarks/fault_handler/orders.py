"""Consumer of the fault run: apply each order once, with the faults the run injects.

The effect is one item per consumer and order in the effects table, whose ``effects``
attribute counts how often the order was applied: the run counts double effects from the
table, not from what the consumer believes it did.

Why the write is guarded: the runtime's idempotency record (Powertools) is written in two
steps, IN_PROGRESS before the handler and COMPLETE after it. A process killed between the
effect and COMPLETE leaves the record IN_PROGRESS; once the killed invocation's time is up the
record expires, and the redelivered message (or a re-published copy) runs the handler again.
No idempotency layer outside the effect can close that window, so the effect guards itself,
on the same business key: a conditional put (``attribute_not_exists``) makes the second run a
no-op, counted in ``reruns`` so the run can show the window was hit (at most once per kill).
With ``FAULT_GUARD_EFFECT=0`` the effect is an unconditional ``ADD effects 1`` instead, and a
second run reads ``effects = 2`` (``fault_run.py --unguarded``).

Injected faults, all deterministic for a given event and receive:

- poison: an order with ``"poison": true`` is rejected on every receive;
- transient: ``FAULT_TRANSIENT_RATE`` of the deliveries fail before the effect, chosen by a
  hash of the event id and the receive count, never on the last allowed receive
  (``FAULT_MAX_RECEIVE_COUNT``): a transient failure is one a retry clears;
- crash: when the file ``FAULT_CRASH_REQUEST`` names appears (holding a number ``n``), the
  ``n``-th effect after it writes ``FAULT_CRASH_MARKER`` and then hangs, for the fault run to
  ``SIGKILL`` the worker right after an effect, before its completion and its delete.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from event_fanout.runtime import EventBridgeEvent, fanout_consumer


class Order(BaseModel):
    """``detail`` of ``fault.orders`` / ``OrderPlaced``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    order_id: str
    customer_id: int
    amount: Decimal
    poison: bool = False


class PoisonOrderError(ValueError):
    """An order this consumer can never apply (it fails on every receive)."""


class TransientError(RuntimeError):
    """An injected failure of a dependency that the next receive does not see."""


#: Event id -> ``ApproximateReceiveCount`` of the batch being handled (the runtime passes the
#: handler the event only; the fault injection needs the receive count too).
_RECEIVES: dict[str, int] = {}
#: Effects left before the requested crash (None: no crash requested).
_CRASH_COUNTDOWN: int | None = None


@functools.cache
def _table(name: str) -> Any:
    """The effects table, built on first use (no AWS client at import)."""
    return boto3.resource("dynamodb").Table(name)


def _transient(event_id: str) -> bool:
    rate = float(os.environ.get("FAULT_TRANSIENT_RATE", "0.05"))
    receive = _RECEIVES.get(event_id, 1)
    if receive >= int(os.environ.get("FAULT_MAX_RECEIVE_COUNT", "5")):
        return False
    digest = hashlib.sha256(f"{event_id}:{receive}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < rate * 2**32


def _maybe_crash() -> None:
    """Hang after this effect if a crash was requested and its countdown is over."""
    global _CRASH_COUNTDOWN
    request = os.environ.get("FAULT_CRASH_REQUEST")
    if not request:
        return
    if _CRASH_COUNTDOWN is None:
        try:
            with open(request) as file:
                _CRASH_COUNTDOWN = int(file.read())
        except FileNotFoundError:
            return
        os.remove(request)
    _CRASH_COUNTDOWN -= 1
    if _CRASH_COUNTDOWN > 0:
        return
    with open(os.environ["FAULT_CRASH_MARKER"], "w") as file:
        file.write("after an effect")
    time.sleep(3600)  # killed here: after the effect, before COMPLETE and the delete


@fanout_consumer(name="FaultRunOrders")
def apply_order(event: EventBridgeEvent[Order]) -> None:
    """Apply the order once (see the module docstring for the faults)."""
    order = event.detail
    if order.poison:
        raise PoisonOrderError(f"order {order.order_id} cannot be applied")
    if _transient(event.id):
        raise TransientError(f"injected transient failure for {event.id}")
    consumer = os.environ["FAULT_CONSUMER"]
    table = _table(os.environ["EFFECTS_TABLE_NAME"])
    key = {"effectKey": f"{consumer}#{order.order_id}"}
    if os.environ.get("FAULT_GUARD_EFFECT", "1") == "0":
        table.update_item(
            Key=key,
            UpdateExpression="ADD effects :one SET eventId = :event, amount = :amount",
            ExpressionAttributeValues={":one": 1, ":event": event.id, ":amount": order.amount},
        )
    else:
        try:
            table.put_item(
                Item={**key, "effects": 1, "eventId": event.id, "amount": order.amount},
                ConditionExpression="attribute_not_exists(effectKey)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # A run killed after this effect and before its idempotency record completed.
            table.update_item(
                Key=key, UpdateExpression="ADD reruns :one", ExpressionAttributeValues={":one": 1}
            )
            return
    _maybe_crash()


def handler(event: dict[str, Any], context: Any) -> Any:
    """The Lambda entry point: note each record's receive count, then run the consumer."""
    _RECEIVES.clear()
    for record in event.get("Records", []):
        try:
            event_id = json.loads(record["body"])["id"]
        except (KeyError, TypeError, ValueError):
            continue
        _RECEIVES[event_id] = int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    return apply_order(event, context)
