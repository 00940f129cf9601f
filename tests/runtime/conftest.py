"""Fixtures of the runtime tests: moto-backed DynamoDB and the consumer environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from runtime_test_helpers import create_idempotency_table

from event_fanout.runtime import constants
from event_fanout.runtime.testing import reset_runtime_caches

REGION = "eu-west-1"
IDEMPOTENCY_TABLE = "consumer-idempotency"

_RUNTIME_ENV = (
    constants.ENV_IDEMPOTENCY_TABLE_NAME,
    constants.ENV_IDEMPOTENCY_KEY_PATH,
    constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    constants.ENV_IDEMPOTENCY_KEY_PREFIX,
    constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH,
    constants.ENV_CONSUMER_NAME,
    constants.ENV_METRICS_SERVICE,
    constants.ENV_POWERTOOLS_SERVICE_NAME,
    constants.ENV_POWERTOOLS_METRICS_NAMESPACE,
    constants.ENV_DEAD_LETTER_QUEUE_URL,
    constants.ENV_MAX_RECEIVE_COUNT,
    "POWERTOOLS_IDEMPOTENCY_DISABLED",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process moto account; runtime caches are dropped on both sides of it."""
    for name in _RUNTIME_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    reset_runtime_caches()
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)
    reset_runtime_caches()


@pytest.fixture
def consumer_env(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The environment the FanoutConsumer construct sets, with its idempotency table created."""
    create_idempotency_table(aws, IDEMPOTENCY_TABLE)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_TABLE_NAME, IDEMPOTENCY_TABLE)
    monkeypatch.setenv(constants.ENV_CONSUMER_NAME, "TestConsumer")
    monkeypatch.setenv(constants.ENV_POWERTOOLS_SERVICE_NAME, "campaigns")
    monkeypatch.setenv(constants.ENV_POWERTOOLS_METRICS_NAMESPACE, "EventFanoutTests")
    return aws


@pytest.fixture(autouse=True, params=[1, 8], ids=["1-worker", "8-workers"])
def record_workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every runtime test runs twice: a batch's records one after another, and on 8 threads.

    Through ``EVENT_FANOUT_MAX_WORKERS``, as a deployment sets it; a handler's own
    ``max_workers=`` wins over it.
    """
    workers: int = request.param
    monkeypatch.setenv(constants.ENV_MAX_WORKERS, str(workers))
    return workers
