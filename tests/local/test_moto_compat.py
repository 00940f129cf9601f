"""The moto compatibility fixes: each works against the real server, each guard is loud.

Behaviour is checked on a small stack of our own (tests/local/mini_app.py) deployed with the
real CDK CLI, so the fixes are tested independently of the reference stack.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest

from event_fanout.local import moto_compat
from event_fanout.local.cdk_cli import CdkApp, DeployError, bootstrap
from event_fanout.local.deploy import deploy
from event_fanout.local.deployed_stacks import resources_of_type
from event_fanout.local.moto_compat import (
    cloudformation_models,
    cloudformation_names,
    delivered_events,
    message_move_task,
    request_costs,
)
from event_fanout.local.runner import EventSourceRunner, discover_mappings
from event_fanout.local.server import LocalAws, LocalAwsError, port_is_free
from event_fanout.local.session import session_for
from event_fanout.local.verification import verify_deployed, verify_stack_tree

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
MINI_STACK = "EventFanoutCompatTest"


@pytest.fixture(scope="module")
def mini(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    app = CdkApp(
        stack_name=MINI_STACK,
        app=f"python {HERE / 'mini_app.py'}",
        output_dir=Path(tmp_path_factory.mktemp("mini-cdk-out")),
    )
    bootstrap(local_aws.environment, app)
    (stack,) = deploy(local_aws.environment, app)  # no nested stack in the mini app
    return stack.resources


def _resource(mini: dict[str, str], prefix: str) -> str:
    return next(v for k, v in mini.items() if k.startswith(prefix))


# -- behaviour against the running server -------------------------------------------------------


def test_rule_on_a_custom_bus_routes_with_numeric_filter(local_aws: LocalAws, mini: Any) -> None:
    session = session_for(local_aws.environment)
    events, sqs = session.client("events"), session.client("sqs")
    rules = events.list_rules(EventBusName="compat-bus")["Rules"]
    own = [r for r in rules if not r["Name"].startswith("Events-Archive-")]  # archive's own rule
    assert len(own) == 1  # event_bus_ref: the Ref resolved to the bus name
    queue_url = sqs.get_queue_url(QueueName=_resource(mini, "Queue4A7E").rsplit("/", 1)[-1])[
        "QueueUrl"
    ]
    events.put_events(
        Entries=[
            {
                "EventBusName": "compat-bus",
                "Source": "compat.test",
                "DetailType": "T",
                "Detail": json.dumps({"amount": amount}),
            }
            for amount in (10, 11)
        ]
    )
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    assert [b["detail"]["amount"] for b in bodies] == [11]  # > 10 only
    assert bodies[0]["account"] == "123456789012"  # event_account_field
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
    )


def test_archive_is_created_with_its_pattern(local_aws: LocalAws, mini: Any) -> None:
    events = session_for(local_aws.environment).client("events")
    bus_arn = events.describe_event_bus(Name="compat-bus")["Arn"]
    (archive,) = events.list_archives(EventSourceArn=bus_arn)["Archives"]
    assert len(archive["ArchiveName"]) <= 48  # generated_name_length
    assert archive["State"] == "ENABLED"  # archive_event_pattern: it parsed the pattern


def test_alarm_and_queue_policy_are_deployed(local_aws: LocalAws, mini: Any) -> None:
    session = session_for(local_aws.environment)
    alarm_name = _resource(mini, "DeadLetterAlarm")
    (alarm,) = session.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=_resource(mini, "Queue4A7E").rsplit("/", 1)[-1])["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    principals = [s["Principal"] for s in policy["Statement"]]
    assert {"Service": "events.amazonaws.com"} in principals


def test_a_composite_alarm_is_deployed_with_its_rule(local_aws: LocalAws, mini: Any) -> None:
    cloudwatch = session_for(local_aws.environment).client("cloudwatch")
    (composite,) = cloudwatch.describe_alarms(AlarmNames=[_resource(mini, "TroubleAlarm")])[
        "CompositeAlarms"
    ]
    dead_letters = _resource(mini, "DeadLetterAlarm")
    # The rule names the metric alarm by the ARN its model resolved (Fn::GetAtt Arn).
    assert composite["AlarmRule"] == (
        f'(ALARM("arn:aws:cloudwatch:{local_aws.environment["AWS_DEFAULT_REGION"]}:'
        f'123456789012:alarm:{dead_letters}"))'
    )
    assert composite["AlarmDescription"] == "any alarm of the stack"


def test_runner_moves_poison_to_dlq_and_redrive_brings_it_back(
    local_aws: LocalAws, mini: Any, tmp_path: Path
) -> None:
    session = session_for(local_aws.environment)
    events, sqs = session.client("events"), session.client("sqs")
    (mapping,) = discover_mappings(session, MINI_STACK, tmp_path)
    assert (mapping.batch_size, mapping.batching_window_seconds, mapping.max_concurrency) == (
        4,
        1,
        2,
    )
    events.put_events(
        Entries=[
            {
                "EventBusName": "compat-bus",
                "Source": "compat.test",
                "DetailType": "T",
                "Detail": json.dumps({"amount": 50 + i, "poison": i == 0}),
            }
            for i in range(5)
        ]
    )
    runner = EventSourceRunner(
        session, [mapping], retry_delay=0, batching_window=0.2, receive_wait_seconds=0
    )
    stats = runner.run_until_drained(timeout=60)[mapping.uuid]
    assert stats.succeeded == 5  # 4 events + the leftover of the filter test
    assert stats.failed == 2  # the poison event, max_receive_count=2
    dlq_url = sqs.get_queue_url(
        QueueName=_resource(mini, "DeadLetterQueue9F48").rsplit("/", 1)[-1]
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    assert (
        sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "1"
    )
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
    assert task["TaskHandle"] == handle and task["ApproximateNumberOfMessagesMoved"] == 1
    assert task["DestinationArn"] == mapping.queue_arn
    assert runner.queue_depth(mapping) == 1


def test_deploy_fails_loudly_when_resources_are_missing(
    local_aws: LocalAws, mini: Any, tmp_path: Path
) -> None:
    app = CdkApp(stack_name=MINI_STACK, output_dir=tmp_path)
    (tmp_path / f"{MINI_STACK}.template.json").write_text(
        json.dumps({"Resources": {"NotThere": {"Type": "AWS::SQS::Queue"}}})
    )
    with pytest.raises(DeployError, match=r"1 of 1 resources were not deployed:\n.*NotThere"):
        verify_deployed(session_for(local_aws.environment), app)


NESTED_RESOURCE_ID = "ConsumersShard1NestedStackConsumersShard1NestedStackResource248082CF"


def test_nested_stack_keeps_every_generated_queue(local_aws: LocalAws, tmp_path: Path) -> None:
    """A nested stack's name is ~100 characters: its unnamed queues must stay distinct."""
    session = session_for(local_aws.environment)
    s3, cloudformation = session.client("s3"), session.client("cloudformation")
    queues = {f"Queue{i}DeadLetterQueue578BFB2{i}": {"Type": "AWS::SQS::Queue"} for i in range(3)}
    child = {"Resources": queues}
    (tmp_path / "child.nested.template.json").write_text(json.dumps(child))
    s3.create_bucket(
        Bucket="compat-nested", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="compat-nested", Key="child.json", Body=json.dumps(child).encode())
    parent = {
        "Resources": {
            NESTED_RESOURCE_ID: {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    # The CLI's URL shape: path-style, on the S3 endpoint of the region.
                    "TemplateURL": "https://s3.eu-west-1.amazonaws.com/compat-nested/child.json"
                },
                "Metadata": {"aws:asset:path": "child.nested.template.json"},
            }
        }
    }
    (tmp_path / "CompatNested.template.json").write_text(json.dumps(parent))
    cloudformation.create_stack(StackName="CompatNested", TemplateBody=json.dumps(parent))
    try:
        stacks = verify_stack_tree(session, CdkApp("CompatNested", output_dir=tmp_path))
        # What the runner, the --aws demo and the deploy look for is found in nested stacks too.
        queues = resources_of_type(cloudformation, "CompatNested", "AWS::SQS::Queue")
    finally:
        cloudformation.delete_stack(StackName="CompatNested")
    assert len(stacks) == 2 and len(stacks[1].stack_name) > 80
    names = [url.rsplit("/", 1)[-1] for url in stacks[1].resources.values()]
    assert len(set(names)) == 3  # sqs_generated_queue_name: not one queue for three resources
    assert all(len(name) <= 80 for name in names)
    assert sorted(q["PhysicalResourceId"] for q in queues) == sorted(stacks[1].resources.values())


def test_unnamed_fifo_queue_deploys_with_a_fifo_name(local_aws: LocalAws) -> None:
    """A FIFO consumer's DLQ has no QueueName: CloudFormation names it ``...fifo``, moto did not."""
    session = session_for(local_aws.environment)
    cloudformation = session.client("cloudformation")
    template = {
        "Resources": {
            "OrdersDeadLetterQueue1A2B3C4D": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"FifoQueue": True, "ContentBasedDeduplication": True},
            }
        }
    }
    cloudformation.create_stack(StackName="CompatFifo", TemplateBody=json.dumps(template))
    try:
        (queue,) = resources_of_type(cloudformation, "CompatFifo", "AWS::SQS::Queue")
        name = queue["PhysicalResourceId"].rsplit("/", 1)[-1]
        attributes = session.client("sqs").get_queue_attributes(
            QueueUrl=queue["PhysicalResourceId"], AttributeNames=["FifoQueue"]
        )["Attributes"]
    finally:
        cloudformation.delete_stack(StackName="CompatFifo")
    assert name.endswith(".fifo") and len(name) <= 80
    assert attributes["FifoQueue"] == "true"


def test_generated_fifo_queue_name_keeps_its_suffix_within_the_limit() -> None:
    name = moto_compat.generated_queue_name("Stack-" + "X" * 90 + "-ABCDEFGHIJKL", fifo=True)
    assert len(name) == 80 and name.endswith("-ABCDEFGHIJKL.fifo")


def test_shortened_generated_name_keeps_its_suffix() -> None:
    stack = "Parent-" + "NestedStackResource" * 5 + "-1A2B3C4D5E6F"
    name = moto_compat.shorten_generated_name(f"{stack}-Queue4A7E-ABCDEFGHIJKL", 80)
    assert len(name) == 80 and name.endswith("-ABCDEFGHIJKL") and name.startswith("Parent-")
    assert moto_compat.shorten_generated_name("Short-Queue-ABC", 80) == "Short-Queue-ABC"


# -- guards -------------------------------------------------------------------------------------


def test_guard_rejects_a_changed_queue_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import Queue

    def changed(*args: Any, **kwargs: Any) -> None:
        """moto keeps the suffix of generated queue names upstream."""

    monkeypatch.setattr(Queue, "create_from_cloudformation_json", classmethod(changed))
    with pytest.raises(moto_compat.MotoCompatError, match="sqs_generated_queue_name"):
        cloudformation_names._check_sqs_generated_queue_name()


def test_guard_rejects_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(moto_compat.MotoCompatError, match=r"written against moto 5\.2\.5"):
        moto_compat.apply_all()


def test_guard_rejects_a_changed_function(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.models import Archive

    def changed(*args: Any, **kwargs: Any) -> None:
        """moto fixed it upstream."""

    monkeypatch.setattr(Archive, "create_from_cloudformation_json", classmethod(changed))
    with pytest.raises(moto_compat.MotoCompatError, match="archive_event_pattern"):
        cloudformation_names._check_archive_event_pattern()


def test_guard_rejects_a_model_moto_now_has(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudformation import parsing

    fake = type("UpstreamAlarm", (), {})
    monkeypatch.setattr(parsing, "get_model_map", lambda: {"AWS::CloudWatch::Alarm": fake})
    with pytest.raises(moto_compat.MotoCompatError, match="now has a CloudFormation model"):
        cloudformation_models._check_cloudwatch_alarm()


def test_guard_rejects_a_changed_input_template(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.utils import EventTemplateParser

    monkeypatch.setattr(EventTemplateParser, "DEFAULT_EVENT_INPUT_TEMPLATE", "{}")
    with pytest.raises(moto_compat.MotoCompatError, match="event_account_field"):
        delivered_events._check_event_account_field()


def test_guard_rejects_moto_implementing_message_move(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.responses import SQSResponse

    monkeypatch.setattr(SQSResponse, "start_message_move_task", lambda self: None, raising=False)
    with pytest.raises(moto_compat.MotoCompatError, match="now implements"):
        message_move_task._check_sqs_message_move_task()


def test_guard_rejects_a_changed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs import models

    monkeypatch.setattr(models, "unix_time_millis", lambda dt=None: 0.0)
    with pytest.raises(moto_compat.MotoCompatError, match="sqs_fast_clock"):
        request_costs._check_sqs_fast_clock()


def test_fast_clock_agrees_with_moto() -> None:
    from moto.core.utils import unix_time_millis

    assert request_costs._fast_unix_time_millis() == pytest.approx(unix_time_millis(), abs=50)


def test_all_checks_pass_on_the_pinned_moto() -> None:
    for fix in moto_compat.FIXES:
        fix.check()


# -- server lifecycle ---------------------------------------------------------------------------


def test_busy_port_is_reported(local_aws: LocalAws) -> None:
    assert not port_is_free(local_aws.port)
    with pytest.raises(LocalAwsError, match=f"port {local_aws.port} .* is busy"):
        LocalAws(port=local_aws.port).start()


def test_server_stops_cleanly() -> None:
    aws = LocalAws().start()
    process = aws.process
    assert process is not None and aws.is_healthy()
    aws.stop()
    assert process.returncode is not None
    assert port_is_free(aws.port)


def test_connections_are_reused_and_each_request_is_logged(local_aws: LocalAws) -> None:
    """Keep-alive is what makes the emulator cheap per call; the log is what a user reads."""
    connection = http.client.HTTPConnection("127.0.0.1", local_aws.port, timeout=10)
    for _ in range(2):
        connection.request(
            "POST",
            "/",
            body=json.dumps({"QueueNamePrefix": "log-probe"}),
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AmazonSQS.ListQueues",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261123/eu-west-1/sqs/"
                "aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert not response.will_close  # the same connection serves the next request
    connection.close()
    assert local_aws.log_path is not None
    assert "POST / 200 AmazonSQS.ListQueues" in local_aws.log_path.read_text().splitlines()


def test_guard_rejects_a_changed_retention_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import SQSBackend

    monkeypatch.setattr(SQSBackend, "is_message_valid_based_on_retention_period", lambda *a: True)
    with pytest.raises(moto_compat.MotoCompatError, match="sqs_retention_lookup"):
        request_costs._check_sqs_retention_lookup()


def test_retention_lookup_keeps_moto_semantics() -> None:
    from types import SimpleNamespace

    backend = SimpleNamespace(get_queue=lambda name: SimpleNamespace(message_retention_period="60"))
    now_ms = time.time() * 1000
    fresh = SimpleNamespace(sent_timestamp=now_ms - 30_000)
    expired = SimpleNamespace(sent_timestamp=now_ms - 61_000)
    assert request_costs._retention_from_queue(backend, "q", fresh)
    assert not request_costs._retention_from_queue(backend, "q", expired)


def test_guard_rejects_a_changed_input_template_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.utils import EventTemplateParser

    monkeypatch.setattr(EventTemplateParser, "parse", staticmethod(lambda *a: {}))
    with pytest.raises(moto_compat.MotoCompatError, match="events_input_path_cache"):
        request_costs._check_events_input_path_cache()


def test_counts_in_one_pass_give_moto_s_attributes() -> None:
    from moto.sqs.models import Queue, SQSBackend

    backend = SQSBackend("eu-west-1", "123456789012")
    standard = backend.create_queue("standard")
    fifo = backend.create_queue("ordered.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for i in range(40):
        backend.send_message("standard", f"m{i}", delay_seconds=60 if i % 4 == 0 else None)
    backend.receive_message("standard", 5, 0, 30)  # 5 in flight
    backend.send_message("ordered.fifo", "x", group_id="g")
    for queue in (standard, fifo):
        assert request_costs._attributes_counted_once(queue) == Queue.attributes.fget(queue)  # type: ignore[attr-defined]
    counts = request_costs._message_counts(standard)
    assert counts == {
        "ApproximateNumberOfMessages": 25,
        "ApproximateNumberOfMessagesDelayed": 10,
        "ApproximateNumberOfMessagesNotVisible": 5,
    }


def test_guard_rejects_a_changed_message_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import Queue

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(lambda self: 0))
    with pytest.raises(moto_compat.MotoCompatError, match="sqs_counts_in_one_pass"):
        request_costs._check_sqs_counts_in_one_pass()


def test_guard_rejects_a_changed_backend_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    monkeypatch.setattr(DomainDispatcherApplication, "get_backend_for_host", lambda s, h: None)
    with pytest.raises(moto_compat.MotoCompatError, match="server_backend_lookup"):
        request_costs._check_server_backend_lookup()


def test_backend_lookup_lists_moto_s_services_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import backends

    listing = backends.list_of_moto_modules
    monkeypatch.setattr(backends, "list_of_moto_modules", listing)  # restored afterwards
    request_costs._apply_server_backend_lookup()
    cached = backends.list_of_moto_modules
    assert cached() == tuple(listing())
    assert {"sqs", "events", "dynamodb", "cloudformation"} <= set(cached())
    assert cached() is cached()  # one listing for the life of the server


def test_a_fifo_group_is_redelivered_from_its_head_after_a_receive_times_out(
    local_aws: LocalAws,
) -> None:
    """fifo_redelivery_order: what SQS does; moto 5.2.5 skipped the head of the group."""
    sqs = session_for(local_aws.environment).client("sqs")
    url = sqs.create_queue(
        QueueName="compat-order.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    try:
        for index in range(15):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{index}", MessageGroupId="g")
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)
        assert [m["Body"] for m in first["Messages"]] == [f"m{i}" for i in range(10)]
        time.sleep(1.2)  # the receive times out: the messages are visible again
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        assert [m["Body"] for m in again["Messages"]] == [f"m{i}" for i in range(10)]
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_guard_rejects_a_changed_receive(monkeypatch: pytest.MonkeyPatch) -> None:
    from event_fanout.local.moto_compat import fifo_order

    monkeypatch.setattr(fifo_order, "_RECEIVE_FINGERPRINT", "0" * 16)
    with pytest.raises(moto_compat.MotoCompatError, match="fifo_redelivery_order"):
        fifo_order.FIXES[0].check()


@pytest.mark.parametrize(
    ("constant", "fix"),
    [
        ("_RESOLVE_FINGERPRINT", "update_previous_parameters"),
        ("_NESTED_UPDATE_FINGERPRINT", "nested_stack_update"),
    ],
)
def test_guard_rejects_a_changed_stack_update(
    monkeypatch: pytest.MonkeyPatch, constant: str, fix: str
) -> None:
    from event_fanout.local.moto_compat import stack_updates

    monkeypatch.setattr(stack_updates, constant, "0" * 16)
    (checked,) = [f for f in stack_updates.FIXES if f.name == fix]
    with pytest.raises(moto_compat.MotoCompatError, match=fix):
        checked.check()


def test_guard_rejects_a_changed_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.models import Replay

    from event_fanout.local.moto_compat import replay_window

    def changed(self: Any, archive: Any) -> None:
        """moto honours FilterArns and the window upstream."""

    monkeypatch.setattr(Replay, "replay_events", changed)
    with pytest.raises(moto_compat.MotoCompatError, match="replay_filter_and_window"):
        replay_window._check()


def test_guard_rejects_moto_implementing_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import backends

    modules = [*backends.list_of_moto_modules(), "schemas"]
    monkeypatch.setattr(backends, "list_of_moto_modules", lambda: iter(modules))
    with pytest.raises(moto_compat.MotoCompatError, match="eventschemas_registry"):
        cloudformation_models._check_eventschemas_registry()


def test_guard_rejects_moto_modelling_composite_alarms(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudformation import parsing

    models = {**parsing.get_model_map(), "AWS::CloudWatch::CompositeAlarm": object}
    monkeypatch.setattr(parsing, "get_model_map", lambda: models)
    with pytest.raises(moto_compat.MotoCompatError, match="cloudwatch_composite_alarm"):
        cloudformation_models._check_cloudwatch_composite_alarm()


def test_guard_rejects_moto_implementing_query_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.logs.models import LogsBackend

    monkeypatch.setattr(LogsBackend, "put_query_definition", lambda *a: None, raising=False)
    with pytest.raises(moto_compat.MotoCompatError, match="logs_query_definition"):
        cloudformation_models._check_logs_query_definition()
