"""Play Lambda's SQS event source mappings locally: the deployed handler code, in-process.

moto deploys functions and mappings but cannot run Python without Docker. The runner reads
each deployed mapping (queue, batch size, batching window, maximum concurrency, partial batch
responses) and its function (handler, environment, timeout, memory, code and layer zips from
the emulator), then does what Lambda's poller does: receive a batch, invoke the handler with a
Lambda-shaped SQS event and context, delete the records that succeeded, and leave the ones in
``batchItemFailures`` (or the whole batch, if the handler raised or ran past its timeout) for
redelivery, so the deployed redrive policy moves poison messages to the dead-letter queue.

Differences from Lambda, on purpose:

- One invocation at a time across all mappings: handlers share this process's ``os.environ``
  (each invocation gets its own function's environment). ``max_concurrency`` is read and shown.
- Failed records are made visible again after ``retry_delay`` seconds (ChangeMessageVisibility)
  instead of waiting out the queue's visibility timeout (minutes): receive counts climb, and
  messages reach the DLQ after ``max_receive_count`` receives, in seconds.
- A handler that runs past the function's timeout is not killed; its batch counts as failed.
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
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from aws_lambda_powertools.utilities.typing import LambdaContext

from event_fanout.local.deployed_stacks import EVENT_SOURCE_MAPPING_TYPE, resources_of_type
from event_fanout.local.session import AwsSession

#: Longest a poll waits for the first message (SQS long polling).
RECEIVE_WAIT_SECONDS = 1


@dataclass(frozen=True)
class DeployedFunction:
    """A deployed Lambda function, as the runner needs it."""

    name: str
    arn: str
    handler: str
    environment: Mapping[str, str]
    timeout_seconds: int
    memory_mb: int
    code_dir: Path
    layer_dirs: tuple[Path, ...]


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


class LocalLambdaContext(LambdaContext):
    """The context Lambda passes, with the deployed function's name, memory and timeout."""

    def __init__(self, function: DeployedFunction) -> None:
        self._function_name = function.name
        self._function_version = "$LATEST"
        self._invoked_function_arn = function.arn
        self._memory_limit_in_mb = function.memory_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function.name}"
        self._log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        """Milliseconds left before the deployed timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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


class _StdoutRouter(io.TextIOBase):
    """``sys.stdout`` while the runner lives: invocation output goes to that invocation's log.

    Lambda sends a function's stdout to CloudWatch Logs; here it goes to a per-function log
    file, and the EMF metric lines the runtime prints are summed into :class:`MappingStats`.
    """

    def __init__(self, passthrough: TextIO) -> None:
        self.passthrough = passthrough
        self.local = threading.local()

    def write(self, text: str) -> int:
        target: io.StringIO | None = getattr(self.local, "buffer", None)
        if target is None:
            return self.passthrough.write(text)
        return target.write(text)

    def flush(self) -> None:
        self.passthrough.flush()

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        buffer = io.StringIO()
        self.local.buffer = buffer
        try:
            yield buffer
        finally:
            self.local.buffer = None


class EventSourceRunner:
    """Poll every deployed mapping of a stack and invoke its function in-process.

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
    ) -> None:
        self.session = session
        self.batching_window = batching_window
        self.receive_wait_seconds = receive_wait_seconds
        self.mappings = mappings
        self.retry_delay = retry_delay
        self.log_dir = log_dir
        self.invocation_env = dict(invocation_env or session.env)
        self.stats: dict[str, MappingStats] = {m.uuid: MappingStats() for m in mappings}
        self._sqs = session.client("sqs")
        self._handlers: dict[str, Callable[..., Any]] = {}
        self.transient_failure = transient_failure
        self.injected_failures = 0

    # -- polling ------------------------------------------------------------------------------

    def receive_batch(self, mapping: DeployedMapping) -> list[dict[str, Any]]:
        """Gather up to ``batch_size`` messages, waiting at most the batching window."""
        messages: list[dict[str, Any]] = []
        window = float(mapping.batching_window_seconds)
        if self.batching_window is not None:
            window = min(window, self.batching_window)
        deadline = time.monotonic() + window
        while len(messages) < mapping.batch_size:
            wait = self.receive_wait_seconds if not messages else 0
            response = self._sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
                WaitTimeSeconds=wait,
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
        """Receive one batch and invoke the function with it; return the batch size."""
        messages = self.receive_batch(mapping)
        if not messages:
            return 0
        records = [sqs_event_record(m, mapping.queue_arn) for m in messages]
        injected = {
            r["messageId"] for r in records if self.transient_failure and self.transient_failure(r)
        }
        self.injected_failures += len(injected)
        event = {"Records": [r for r in records if r["messageId"] not in injected]}
        failed_ids = injected | (self.invoke(mapping, event) if event["Records"] else set())
        stats = self.stats[mapping.uuid]
        stats.records += len(messages)
        stats.message_ids.update(m["MessageId"] for m in messages)
        succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        stats.succeeded += len(succeeded)
        stats.failed += len(failed)
        self._delete(mapping, succeeded)
        self._retry_later(mapping, failed)
        return len(messages)

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
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=mapping.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

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
        while True:
            waiting = [m for m in self.mappings if self.queue_depth(m) > 0]
            if not waiting:
                return self.stats
            # An empty queue is not polled: its long poll would hold up the round for nothing.
            for mapping in waiting:
                count = self.poll_once(mapping)
                if count and on_batch is not None:
                    on_batch(mapping, count)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the consumer queues did not drain within {timeout:.0f} s")

    def run_forever(
        self, *, on_batch: Callable[[DeployedMapping, int], None] | None = None
    ) -> None:
        """Poll every mapping round-robin until interrupted (``KeyboardInterrupt``)."""
        while True:
            for mapping in self.mappings:
                count = self.poll_once(mapping)
                if count and on_batch is not None:
                    on_batch(mapping, count)

    # -- invoking -----------------------------------------------------------------------------

    def invoke(self, mapping: DeployedMapping, event: dict[str, Any]) -> set[str]:
        """Invoke the mapping's function with ``event``; return the ids of failed records."""
        function = mapping.function
        all_ids = {record["messageId"] for record in event["Records"]}
        stats = self.stats[mapping.uuid]
        stats.invocations += 1
        env = {
            **function.environment,
            **self.invocation_env,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_seconds),
            "_HANDLER": function.handler,
        }
        started = time.monotonic()
        router = _stdout_router()
        with _environment(env), _code_on_path(function), router.capture() as output:
            try:
                handler = self._handler(function)
                response = handler(event, LocalLambdaContext(function))
            except Exception as error:  # Lambda: an error fails the whole batch
                print(f"[local-runner] invocation failed: {error!r}", file=output)
                response = None
                stats.batch_errors += 1
                failed = all_ids
            else:
                failed = self._failed_ids(mapping, response, all_ids)
        if time.monotonic() - started > function.timeout_seconds:
            stats.batch_errors += 1
            failed = all_ids  # Lambda would have stopped it: the whole batch is retried
        self._record_output(mapping, output.getvalue())
        return failed

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
        """Import ``module.attr`` of the handler string from the function's code, once."""
        key = f"{function.name}:{function.handler}"
        if key not in self._handlers:
            module_path, _, attribute = function.handler.rpartition(".")
            source = function.code_dir / (module_path.replace(".", "/") + ".py")
            if not source.exists():
                raise FileNotFoundError(f"{function.name}: handler module {source} not found")
            module = _load_module(f"_local_lambda_{uuid.uuid4().hex}_{module_path}", source)
            self._handlers[key] = getattr(module, attribute)
        return self._handlers[key]

    def _record_output(self, mapping: DeployedMapping, output: str) -> None:
        stats = self.stats[mapping.uuid]
        for line in output.splitlines():
            for name, value in emf_metrics(line).items():
                stats.metrics[name] = stats.metrics.get(name, 0) + value
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with (self.log_dir / f"{mapping.function.name}.log").open("a") as log:
                log.write(output)


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


_ROUTER: _StdoutRouter | None = None


def _stdout_router() -> _StdoutRouter:
    """Install the stdout router once (before any handler is imported)."""
    global _ROUTER
    if _ROUTER is None or sys.stdout is not _ROUTER:
        _ROUTER = _StdoutRouter(sys.stdout)
        sys.stdout = _ROUTER
    return _ROUTER


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _code_on_path(function: DeployedFunction) -> Iterator[None]:
    """``/var/task`` first, then each layer's ``python/``, as Lambda orders them."""
    entries = [str(function.code_dir)] + [str(d / "python") for d in function.layer_dirs]
    saved = list(sys.path)
    sys.path[:0] = entries
    try:
        yield
    finally:
        sys.path[:] = saved


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- discovery --------------------------------------------------------------------------------


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
