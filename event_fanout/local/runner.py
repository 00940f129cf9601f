"""Play Lambda's SQS event source mappings locally: the deployed handler code, in-process.

moto deploys functions and mappings but cannot run Python without Docker. The runner reads
each deployed mapping (queue, batch size, batching window, maximum concurrency, partial batch
responses) and its function (handler, environment, timeout, memory, code and layer zips from
the emulator), then does what Lambda's poller does: receive a batch, invoke the handler with a
Lambda-shaped SQS event and context, delete the records that succeeded, and leave the ones in
``batchItemFailures`` (or the whole batch, if the handler raised or ran past its timeout) for
redelivery, so the deployed redrive policy moves poison messages to the dead-letter queue.

Concurrency: with ``concurrency`` 1 (the default) every invocation runs in this process, one at
a time across all mappings (each with its own function's environment). With ``concurrency`` N,
each mapping runs up to N batches at once, never more than its ``MaximumConcurrency``, each in an
execution environment of its own (a worker process per concurrent invocation, reused while
warm); an invocation there that runs past the function's timeout is killed, as Lambda does.

Differences from Lambda, on purpose:

- Lambda scales an uncapped mapping as far as the account allows; here ``concurrency`` caps it.
- Failed records are made visible again after ``retry_delay`` seconds (ChangeMessageVisibility)
  instead of waiting out the queue's visibility timeout (minutes): receive counts climb, and
  messages reach the DLQ after ``max_receive_count`` receives, in seconds.
- In this process (``concurrency`` 1) a handler that runs past the function's timeout is not
  killed; its batch counts as failed all the same.
- ``batching_window`` can shorten every mapping's batching window (the tests and the fault run
  use a fraction of a second): with one poller for all mappings, waiting out a 2-second window
  on a half-full batch stalls every other consumer. The window shapes batches, not what is
  delivered, so routing, effects, duplicates and DLQ counts are the same.
- Modules already imported here (``event_fanout``, Powertools, boto3) come from this
  virtualenv rather than from the layers; layers from other accounts (the AWS-published
  Powertools layer) are satisfied that way.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from event_fanout.local.deployed_stacks import EVENT_SOURCE_MAPPING_TYPE, resources_of_type
from event_fanout.local.execution_environments import ExecutionEnvironments
from event_fanout.local.invocation import (
    DeployedFunction,
    Outcome,
    code_on_path,
    environment,
    invoke_handler,
    load_handler,
)
from event_fanout.local.session import AwsSession
from event_fanout.local.timeline import RunTimeline

__all__ = [
    "DeployedFunction",
    "DeployedMapping",
    "EventSourceRunner",
    "MappingStats",
    "discover_mappings",
    "emf_metric_data",
    "emf_metrics",
    "sqs_event_record",
]

#: Longest a poll waits for the first message (SQS long polling).
RECEIVE_WAIT_SECONDS = 1
#: With execution environments busy and nothing received, how long a round waits for a result.
_SETTLE_WAIT_SECONDS = 0.2


@dataclass(frozen=True)
class DeployedMapping:
    """A deployed SQS event source mapping and the function it feeds."""

    uuid: str
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int | None
    partial_batch_responses: bool
    function: DeployedFunction

    @property
    def queue_name(self) -> str:
        """The source queue's name (the last part of its ARN)."""
        return self.queue_arn.rsplit(":", 1)[-1]


@dataclass
class MappingStats:
    """What one mapping did: SQS records in and out, and the runtime's own EMF counts."""

    invocations: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0
    batch_errors: int = 0
    message_ids: set[str] = field(default_factory=set)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def distinct_messages(self) -> int:
        """Distinct SQS messages received (each delivered event is one message)."""
        return len(self.message_ids)


def sqs_event_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """Turn a ``ReceiveMessage`` result into the record Lambda's SQS poller sends."""
    region = queue_arn.split(":")[3]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass(frozen=True)
class _Batch:
    """A received batch on its way through an invocation."""

    mapping: DeployedMapping
    messages: list[dict[str, Any]]
    #: Records failed by fault injection: not passed to the handler.
    injected: frozenset[str]
    #: The event the handler gets (the other records).
    event: dict[str, Any]

    @property
    def invoked_ids(self) -> frozenset[str]:
        """The ids of the records passed to the handler."""
        return frozenset(record["messageId"] for record in self.event["Records"])


class EventSourceRunner:
    """Poll every deployed mapping of a stack and invoke its function.

    Parameters
    ----------
    session:
        Clients on the emulator.
    mappings:
        The mappings to play (see :func:`discover_mappings`).
    retry_delay:
        Seconds before a failed record is visible again (see the module docstring).
    log_dir:
        Where each function's stdout (its logs and EMF metrics) is written.
    transient_failure:
        Fault injection: records it returns True for fail this delivery as if the handler had
        hit a transient error (they are not passed to the handler and are retried later).
    invocation_env:
        Added to each function's environment for the invocation, so the handlers' own boto3
        clients reach the emulator (``AWS_ENDPOINT_URL``, credentials, region).
    batching_window:
        Seconds to gather a batch, at most each mapping's own window (None: the mapping's own).
    receive_wait_seconds:
        SQS long-poll wait for the first message of a batch (0 returns at once).
    concurrency:
        The most batches of one mapping that run at once, never more than the mapping's
        ``MaximumConcurrency``. 1 (the default) runs every invocation in this process, one
        at a time; above 1 each runs in an execution environment of its own (a worker
        process per concurrent invocation, see :mod:`~event_fanout.local.execution_environments`).
        Use :meth:`close` (or ``with``) to stop the environments.
    metrics_to_cloudwatch:
        Put the runtime's metrics (its embedded-metric-format log lines) into the emulator's
        CloudWatch, as CloudWatch Logs does in AWS, so ``event-fanout status`` and the
        failed-records alarms' metric see them.
    timeline:
        Sampled after each round (queue depth, oldest message age, the runtime's counts), for
        ``event-fanout local run --report`` (see :mod:`~event_fanout.local.timeline`).

    """

    def __init__(
        self,
        session: AwsSession,
        mappings: list[DeployedMapping],
        *,
        retry_delay: int = 1,
        log_dir: Path | None = None,
        invocation_env: Mapping[str, str] | None = None,
        transient_failure: Callable[[dict[str, Any]], bool] | None = None,
        batching_window: float | None = None,
        receive_wait_seconds: int = RECEIVE_WAIT_SECONDS,
        concurrency: int = 1,
        metrics_to_cloudwatch: bool = False,
        timeline: RunTimeline | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.session = session
        self.batching_window = batching_window
        self.receive_wait_seconds = receive_wait_seconds
        self.mappings = mappings
        self.retry_delay = retry_delay
        self.log_dir = log_dir
        self.invocation_env = dict(invocation_env or session.env)
        self.concurrency = concurrency
        self.metrics_to_cloudwatch = metrics_to_cloudwatch
        self.timeline = timeline
        self._cloudwatch: Any = session.client("cloudwatch") if metrics_to_cloudwatch else None
        self.stats: dict[str, MappingStats] = {m.uuid: MappingStats() for m in mappings}
        self._sqs = session.client("sqs")
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._environments: dict[str, ExecutionEnvironments[_Batch]] = {}
        self.transient_failure = transient_failure
        self.injected_failures = 0

    def __enter__(self) -> EventSourceRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the execution environments (a running invocation is killed, its batch retried)."""
        for environments in self._environments.values():
            environments.close()
        self._environments.clear()

    def concurrency_of(self, mapping: DeployedMapping) -> int:
        """How many batches of ``mapping`` run at once: ``concurrency``, at most its cap."""
        cap = mapping.max_concurrency
        return min(self.concurrency, cap) if cap else self.concurrency

    # -- polling ------------------------------------------------------------------------------

    def receive_batch(self, mapping: DeployedMapping) -> list[dict[str, Any]]:
        """Gather up to ``batch_size`` messages, waiting at most the batching window."""
        messages: list[dict[str, Any]] = []
        window = float(mapping.batching_window_seconds)
        if self.batching_window is not None:
            window = min(window, self.batching_window)
        deadline = time.monotonic() + window
        # While invocations run, a long poll would hold up their results.
        first_wait = 0 if self.running() else self.receive_wait_seconds
        while len(messages) < mapping.batch_size:
            response = self._sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
                WaitTimeSeconds=first_wait if not messages else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            messages.extend(received)
            if not received and (not messages or time.monotonic() >= deadline):
                break
            if not received:
                time.sleep(0.05)
        return messages

    def poll_once(self, mapping: DeployedMapping) -> int:
        """Receive one batch and invoke the function with it; return the batch size.

        With ``concurrency`` 1 the invocation runs here and its records are deleted or left
        for redelivery before this returns. Otherwise it starts in a free execution environment
        of the mapping (call only when :meth:`free_environments` is above 0) and :meth:`settle`
        finishes it.
        """
        messages = self.receive_batch(mapping)
        if not messages:
            return 0
        if self.timeline is not None:
            self.timeline.received(mapping.uuid, messages)
        records = [sqs_event_record(m, mapping.queue_arn) for m in messages]
        injected = frozenset(
            r["messageId"] for r in records if self.transient_failure and self.transient_failure(r)
        )
        self.injected_failures += len(injected)
        event = {"Records": [r for r in records if r["messageId"] not in injected]}
        batch = _Batch(mapping, messages, injected, event)
        if not event["Records"]:
            self._finish(batch, set(injected))
        elif self.concurrency == 1:
            self._finish(batch, injected | self.invoke(mapping, event))
        else:
            self._environments_of(mapping).start(batch, event)
        return len(messages)

    def free_environments(self, mapping: DeployedMapping) -> int:
        """How many more batches of ``mapping`` can start now."""
        if self.concurrency == 1:
            return 1
        return self.concurrency_of(mapping) - self._environments_of(mapping).running

    def running(self) -> int:
        """Invocations running in execution environments now."""
        return sum(environments.running for environments in self._environments.values())

    def settle(self, timeout: float = 0.0) -> int:
        """Finish the invocations that are done, waiting up to ``timeout`` s for one; count them.

        Each finished batch's records are deleted or left for redelivery, as in :meth:`poll_once`.
        """
        connections = [c for e in self._environments.values() for c in e.connections()]
        if not connections:
            return 0
        ready = wait(connections, timeout=timeout)
        finished = 0
        for environments in list(self._environments.values()):
            for batch, outcome in environments.finished(ready):
                failed = self._judge(batch.mapping, outcome, batch.invoked_ids)
                self._finish(batch, batch.injected | failed)
                finished += 1
        return finished

    def _finish(self, batch: _Batch, failed_ids: set[str] | frozenset[str]) -> None:
        """Delete the batch's succeeded records; make the failed ones visible again later."""
        mapping, messages = batch.mapping, batch.messages
        stats = self.stats[mapping.uuid]
        stats.records += len(messages)
        stats.message_ids.update(m["MessageId"] for m in messages)
        succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        stats.succeeded += len(succeeded)
        stats.failed += len(failed)
        self._delete(mapping, succeeded)
        self._retry_later(mapping, failed)

    def _delete(self, mapping: DeployedMapping, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )

    def _retry_later(self, mapping: DeployedMapping, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self._sqs.change_message_visibility_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay,
                    }
                    for i, m in enumerate(chunk)
                ],
            )

    def queue_depth(self, mapping: DeployedMapping) -> int:
        """Messages still in the source queue (visible, in flight or delayed)."""
        return sum(int(value) for value in self._depth_attributes(mapping).values())

    def _depth_attributes(self, mapping: DeployedMapping) -> dict[str, str]:
        response = self._sqs.get_queue_attributes(
            QueueUrl=mapping.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )
        attributes: dict[str, str] = response["Attributes"]
        return attributes

    def sample(self, *, force: bool = False) -> None:
        """Add a sample of every mapping to the timeline, if one is due (or ``force``)."""
        if self.timeline is None or not (force or self.timeline.due()):
            return
        for mapping in self.mappings:
            self.timeline.record(
                mapping.uuid, self._depth_attributes(mapping), self.stats[mapping.uuid].metrics
            )

    def run_until_drained(
        self,
        *,
        timeout: float = 300,
        on_batch: Callable[[DeployedMapping, int], None] | None = None,
    ) -> dict[str, MappingStats]:
        """Poll every mapping round-robin until all source queues are empty.

        Raises :class:`TimeoutError` if they are not empty within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        self.sample(force=True)
        while True:
            waiting = [m for m in self.mappings if self.queue_depth(m) > 0]
            if not waiting and not self.running():
                self.sample(force=True)
                return self.stats
            # An empty queue is not polled: its long poll would hold up the round for nothing.
            self._round(waiting, on_batch)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the consumer queues did not drain within {timeout:.0f} s")

    def run_forever(
        self, *, on_batch: Callable[[DeployedMapping, int], None] | None = None
    ) -> None:
        """Poll every mapping round-robin until interrupted (``KeyboardInterrupt``)."""
        self.sample(force=True)
        while True:
            self._round(self.mappings, on_batch)

    def _round(
        self,
        mappings: list[DeployedMapping],
        on_batch: Callable[[DeployedMapping, int], None] | None,
    ) -> None:
        """One poll per free execution environment of each mapping, then settle what finished.

        With ``concurrency`` 1 that is one batch per mapping, run at once.
        """
        received = 0
        for mapping in mappings:
            for _ in range(self.free_environments(mapping)):
                count = self.poll_once(mapping)
                if count and on_batch is not None:
                    on_batch(mapping, count)
                received += count
                if not count:
                    break
        # Nothing new to start: wait for a running invocation instead of polling again.
        self.settle(timeout=0 if received else _SETTLE_WAIT_SECONDS)
        self.sample()

    # -- invoking -----------------------------------------------------------------------------

    def invoke(self, mapping: DeployedMapping, event: dict[str, Any]) -> set[str]:
        """Invoke the mapping's function here with ``event``; return the ids of failed records."""
        function = mapping.function
        with environment(self._function_env(function)), code_on_path(function):
            outcome = invoke_handler(function, lambda: self._handler(function), event)
        return self._judge(
            mapping, outcome, frozenset(record["messageId"] for record in event["Records"])
        )

    def _function_env(self, function: DeployedFunction) -> dict[str, str]:
        """The environment Lambda gives the function's invocations."""
        return {
            **function.environment,
            **self.invocation_env,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_seconds),
            "_HANDLER": function.handler,
        }

    def _environments_of(self, mapping: DeployedMapping) -> ExecutionEnvironments[_Batch]:
        if mapping.uuid not in self._environments:
            self._environments[mapping.uuid] = ExecutionEnvironments(
                mapping.function,
                self._function_env(mapping.function),
                self.concurrency_of(mapping),
            )
        return self._environments[mapping.uuid]

    def _judge(
        self, mapping: DeployedMapping, outcome: Outcome, invoked_ids: frozenset[str]
    ) -> set[str]:
        """The failed records of an invocation, as Lambda's poller reads its outcome."""
        stats = self.stats[mapping.uuid]
        stats.invocations += 1
        self._record_output(mapping, outcome.output)
        if outcome.error is not None or outcome.seconds > mapping.function.timeout_seconds:
            # An error, or past the timeout (Lambda would have stopped it): all retried.
            stats.batch_errors += 1
            return set(invoked_ids)
        return self._failed_ids(mapping, outcome.response, set(invoked_ids))

    def _failed_ids(self, mapping: DeployedMapping, response: Any, all_ids: set[str]) -> set[str]:
        """Lambda's reading of a partial batch response: anything malformed fails all."""
        if not mapping.partial_batch_responses:
            return set()
        if response is None:
            return set()
        if not isinstance(response, dict):
            return all_ids
        failures = response.get("batchItemFailures") or []
        ids: set[str] = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in all_ids:
                return all_ids
            ids.add(identifier)
        return ids

    def _handler(self, function: DeployedFunction) -> Callable[..., Any]:
        """The function's handler, imported once per function."""
        key = f"{function.name}:{function.handler}"
        if key not in self._handlers:
            self._handlers[key] = load_handler(function)
        return self._handlers[key]

    def _record_output(self, mapping: DeployedMapping, output: str) -> None:
        stats = self.stats[mapping.uuid]
        for line in output.splitlines():
            for name, value in emf_metrics(line).items():
                stats.metrics[name] = stats.metrics.get(name, 0) + value
            if self._cloudwatch is not None:
                for namespace, data in emf_metric_data(line).items():
                    for start in range(0, len(data), 1000):
                        self._cloudwatch.put_metric_data(
                            Namespace=namespace, MetricData=data[start : start + 1000]
                        )
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with (self.log_dir / f"{mapping.function.name}.log").open("a") as log:
                log.write(output)


def emf_metric_data(line: str) -> dict[str, list[dict[str, Any]]]:
    """Namespace -> ``PutMetricData`` data of one embedded-metric-format line (else empty).

    What CloudWatch Logs extracts from the line in AWS: each metric of each directive, with the
    directive's dimensions' values and the line's timestamp.
    """
    if not line.startswith("{") or '"_aws"' not in line:
        return {}
    try:
        blob = json.loads(line)
    except json.JSONDecodeError:
        return {}
    envelope = blob.get("_aws", {})
    timestamp = envelope.get("Timestamp")
    data: dict[str, list[dict[str, Any]]] = {}
    for directive in envelope.get("CloudWatchMetrics", []):
        for dimension_set in directive.get("Dimensions", [[]]):
            dimensions = [
                {"Name": name, "Value": str(blob[name])} for name in dimension_set if name in blob
            ]
            for metric in directive.get("Metrics", []):
                values = blob.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if not isinstance(value, int | float):
                        continue
                    datum: dict[str, Any] = {
                        "MetricName": metric["Name"],
                        "Dimensions": dimensions,
                        "Value": float(value),
                        "Unit": metric.get("Unit", "None"),
                    }
                    if isinstance(timestamp, int | float):
                        datum["Timestamp"] = timestamp / 1000
                    data.setdefault(directive.get("Namespace", "aws-embedded-metrics"), []).append(
                        datum
                    )
    return data


def emf_metrics(line: str) -> dict[str, float]:
    """Metric name -> value of one CloudWatch embedded-metric-format log line (else empty)."""
    if not line.startswith("{") or '"_aws"' not in line:
        return {}
    try:
        blob = json.loads(line)
    except json.JSONDecodeError:
        return {}
    values: dict[str, float] = {}
    for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
        for metric in directive.get("Metrics", []):
            value = blob.get(metric["Name"])
            if isinstance(value, list):
                value = sum(value)
            if isinstance(value, int | float):
                values[metric["Name"]] = float(value)
    return values


def discover_mappings(
    session: AwsSession, stack_name: str, work_dir: Path | None = None
) -> list[DeployedMapping]:
    """Every SQS event source mapping of the stack and its nested stacks, with code extracted.

    Code and local layers are downloaded from the emulator (``Code.Location``) and unzipped
    under ``work_dir`` (a temporary directory by default), once per code hash.
    """
    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="event-fanout-lambda-"))
    lambda_client = session.client("lambda")
    sqs = session.client("sqs")
    zips = _ZipIndex(session.client("s3"))
    mappings = []
    cloudformation = session.client("cloudformation")
    for summary in resources_of_type(cloudformation, stack_name, EVENT_SOURCE_MAPPING_TYPE):
        mapping = lambda_client.get_event_source_mapping(UUID=summary["PhysicalResourceId"])
        queue_arn = mapping["EventSourceArn"]
        if ":sqs:" not in queue_arn:
            continue
        account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
        queue_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        scaling = mapping.get("ScalingConfig") or {}
        mappings.append(
            DeployedMapping(
                uuid=mapping["UUID"],
                queue_arn=queue_arn,
                queue_url=queue_url,
                batch_size=int(mapping.get("BatchSize") or 10),
                batching_window_seconds=int(mapping.get("MaximumBatchingWindowInSeconds") or 0),
                max_concurrency=scaling.get("MaximumConcurrency"),
                partial_batch_responses="ReportBatchItemFailures"
                in (mapping.get("FunctionResponseTypes") or []),
                function=_deployed_function(lambda_client, zips, mapping["FunctionArn"], work_dir),
            )
        )
    return sorted(mappings, key=lambda m: m.queue_name)


class _ZipIndex:
    """Code zips in the emulator's S3, by their Lambda ``CodeSha256`` (base64 SHA-256).

    moto's ``GetFunction`` returns a ``Code.Location`` it does not serve and layers' is
    ``s3://``; but the CLI uploaded every asset zip to the bootstrap bucket, and Lambda's
    ``CodeSha256`` identifies the zip exactly.
    """

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self._zips: dict[str, bytes] | None = None

    def get(self, code_sha256: str, what: str) -> bytes:
        if self._zips is None:
            self._zips = {}
            for bucket in self._s3.list_buckets().get("Buckets", []):
                paginator = self._s3.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=bucket["Name"]):
                    for item in page.get("Contents", []):
                        if item["Key"].endswith(".zip"):
                            body = self._s3.get_object(Bucket=bucket["Name"], Key=item["Key"])
                            data: bytes = body["Body"].read()
                            digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
                            self._zips[digest] = data
        try:
            return self._zips[code_sha256]
        except KeyError:
            raise FileNotFoundError(
                f"{what}: no zip with CodeSha256 {code_sha256} in the emulator's S3 buckets"
            ) from None


def _deployed_function(
    lambda_client: Any, zips: _ZipIndex, function_arn: str, work_dir: Path
) -> DeployedFunction:
    config = lambda_client.get_function(FunctionName=function_arn)["Configuration"]
    sha = config["CodeSha256"]
    code_dir = _extract(zips.get(sha, config["FunctionName"]), work_dir / _dirname(sha))
    layer_dirs = []
    own_account = function_arn.split(":")[4]
    for layer in config.get("Layers", []):
        layer_arn = layer["Arn"]
        if layer_arn.split(":")[4] != own_account:
            continue  # an AWS-published layer (Powertools): satisfied by this virtualenv
        content = lambda_client.get_layer_version_by_arn(Arn=layer_arn)["Content"]
        layer_sha = content["CodeSha256"]
        layer_dirs.append(
            _extract(zips.get(layer_sha, layer_arn), work_dir / f"layer-{_dirname(layer_sha)}")
        )
    return DeployedFunction(
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        handler=config["Handler"],
        environment=dict((config.get("Environment") or {}).get("Variables", {})),
        timeout_seconds=int(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        code_dir=code_dir,
        layer_dirs=tuple(layer_dirs),
    )


def _dirname(code_sha256: str) -> str:
    return code_sha256.replace("/", "_").replace("+", "-").rstrip("=")[:20]


def _extract(data: bytes, target: Path) -> Path:
    """Unzip ``data`` into ``target`` (once: the directory name is the code hash)."""
    if target.exists():
        return target
    staging = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(staging)
    staging.rename(target)
    return target
