"""What the fault app deploys and the fault run relies on: names, limits, the effects table key.

A module of its own so that ``fault_run.py`` reads them without importing ``aws_cdk`` (starting
jsii's Node process costs seconds), while ``fault_app.py`` builds the stack from them.
"""

from __future__ import annotations

STACK_NAME = "EventFanoutFaultRun"
BUS_NAME = "fault-run"
EVENT_SOURCE = "fault.orders"
DETAIL_TYPE = "OrderPlaced"
#: The consumers, by construct id: whether each is FIFO.
CONSUMERS = {"Orders": False, "OrdersFifo": True}
FIFO_GROUP = "orders"
#: Short on purpose: a killed invocation's IN_PROGRESS idempotency records expire after it, and
#: the fault run restarts a killed worker only then.
FUNCTION_TIMEOUT_SECONDS = 3
MAX_RECEIVE_COUNT = 5
#: Partition key of the effects table: ``<consumer>#<orderId>``.
EFFECT_KEY = "effectKey"
