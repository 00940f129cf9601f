"""The orders app's integration tests: the deployed app on the local emulator, per test reset.

Only the public fixtures of cdk-event-fanout's pytest plugin are used (``fanout_app``).
"""

from __future__ import annotations

from event_fanout.testing.local_app import FanoutApp

ORDER = {"source": "shop.orders", "detail_type": "OrderPlaced"}


def test_an_order_reaches_every_consumer_once_a_cancellation_only_the_audit(
    fanout_app: FanoutApp,
) -> None:
    fanout_app.publish(**ORDER, detail={"orderId": "o-1", "amount": 12})
    fanout_app.publish(
        source="shop.orders", detail_type="OrderCancelled", detail={"orderId": "o-1"}
    )
    fanout_app.drain()
    for name in ("Billing", "Shipping", "DailyTotals"):
        consumer = fanout_app.consumer(name)
        assert (consumer.routed, consumer.processed, consumer.failed) == (1, 1, 0), name
    audit = fanout_app.consumer("Audit")  # every shop.orders event, whatever its type
    assert (audit.routed, audit.processed) == (2, 2)


def test_a_bad_order_ends_in_billings_dead_letter_queue_only(fanout_app: FanoutApp) -> None:
    fanout_app.publish(**ORDER, detail={"orderId": "o-bad", "amount": -5})
    fanout_app.drain()
    billing = fanout_app.consumer("Billing")
    assert billing.processed == 0 and billing.failed == 3  # its max_receive_count
    assert billing.in_dlq == 1
    assert billing.dlq_messages[0]["detail"]["orderId"] == "o-bad"
    assert fanout_app.consumer("Shipping").processed == 1  # the other consumers go on
    assert fanout_app.consumer("Billing").in_dlq == 1


def test_one_alarm_to_page_on_watches_every_consumer_alarm_of_its_stack(
    fanout_app: FanoutApp,
) -> None:
    cloudwatch = fanout_app.session.client("cloudwatch")
    alarms = cloudwatch.describe_alarms()
    consumer_alarms = {a["AlarmArn"] for a in alarms["MetricAlarms"]}
    composites = alarms["CompositeAlarms"]
    # trouble_alarm=True: one per stack holding consumers, the nested shard's included.
    assert len(composites) == 2
    for composite in composites:
        named = {arn for arn in consumer_alarms if f'ALARM("{arn}")' in composite["AlarmRule"]}
        assert named, composite["AlarmRule"]
