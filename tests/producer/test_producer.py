"""The producer API against a scripted ``put_events`` double: batching, retries, failures, ids.

The emulator tests (an actual bus routing to a queue, the consumers' log lines) are in
tests/local/test_producer_correlation.py, next to the session emulator they need.
"""

from __future__ import annotations

import doctest
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from event_fanout.producer import (
    CORRELATION_FIELDS,
    MAX_REQUEST_BYTES,
    TIME_FIELD_BYTES,
    EventEntry,
    EventPublisher,
    EventTooLargeError,
    InvalidEventError,
    PublishError,
    RetryPolicy,
    correlation_id,
    current_correlation_id,
    entry_size,
    plan_batches,
)

#: Decides one entry's result: (entry, its attempt number) -> None to accept it, else an error code.
Verdict = Callable[[dict[str, Any], int], str | None]


class FakeEvents:
    """``put_events`` that accepts entries unless ``verdict`` names an error for them."""

    def __init__(
        self,
        verdict: Verdict | None = None,
        *,
        request_errors: Sequence[BaseException] = (),
    ) -> None:
        self.verdict = verdict or (lambda entry, attempt: None)
        self.request_errors = list(request_errors)
        self.calls: list[list[dict[str, Any]]] = []
        self.attempts: dict[int, int] = {}
        self.next_id = 0

    def put_events(self, *, Entries: Sequence[Any]) -> Any:  # noqa: N803
        entries = [dict(entry) for entry in Entries]
        self.calls.append(entries)
        assert len(entries) <= 10
        assert sum(entry_size(entry) for entry in entries) <= MAX_REQUEST_BYTES
        if self.request_errors:
            raise self.request_errors.pop(0)
        results: list[dict[str, Any]] = []
        for entry in entries:
            seq = json.loads(entry["Detail"]).get("seq", -1)
            attempt = self.attempts[seq] = self.attempts.get(seq, 0) + 1
            code = self.verdict(entry, attempt)
            if code is None:
                self.next_id += 1
                results.append({"EventId": f"id-{seq}-{self.next_id}"})
            else:
                results.append({"ErrorCode": code, "ErrorMessage": f"{code} (injected)"})
        failed = sum("ErrorCode" in result for result in results)
        return {"FailedEntryCount": failed, "Entries": results}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def events(count: int, *, padding: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "Source": "ads.campaigns",
            "DetailType": "CampaignBudgetChanged",
            "Detail": {"seq": i, "pad": "x" * padding},
        }
        for i in range(count)
    ]


def publisher(client: FakeEvents, **kwargs: Any) -> tuple[EventPublisher, Sleeps]:
    sleeps = Sleeps()
    kwargs.setdefault("random_fraction", lambda: 0.5)
    return EventPublisher(client, event_bus_name="bus", sleep=sleeps, **kwargs), sleeps


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (request)"}}, "PutEvents")


# -- sizes and batches --------------------------------------------------------------------------


def test_entry_size_is_the_documented_formula() -> None:
    entry = {
        "Source": "ads.campaigns",  # 13 bytes
        "DetailType": "Changé",  # 7 bytes (é is two)
        "Detail": '{"k":"€"}',  # 11 bytes (€ is three)
        "Resources": ["arn:aws:x", "arn:y"],  # 9 + 5
        "Time": datetime(2024, 5, 1, tzinfo=UTC),
        "EventBusName": "not-counted",
        "TraceHeader": "not-counted",
    }
    assert entry_size(entry) == 13 + 7 + 11 + 9 + 5 + TIME_FIELD_BYTES


def test_batches_close_at_ten_entries() -> None:
    assert [len(batch) for batch in plan_batches([1] * 25)] == [10, 10, 5]


def test_batches_close_before_the_byte_limit_and_keep_the_order() -> None:
    half = MAX_REQUEST_BYTES // 2
    assert plan_batches([half, half, 1, half, half]) == [[0, 1], [2, 3], [4]]
    assert plan_batches([half, 1, half - 1, 2]) == [[0, 1, 2], [3]]
    assert plan_batches([]) == []


def test_fails_when_one_entry_alone_is_over_the_byte_limit() -> None:
    with pytest.raises(ValueError, match="entry 1 is 262145 bytes"):
        plan_batches([1, MAX_REQUEST_BYTES + 1])


def test_publish_sends_ten_entries_per_request() -> None:
    client = FakeEvents()
    result = publisher(client)[0].publish(events(25))
    assert [len(call) for call in client.calls] == [10, 10, 5]
    assert result.ok and result.requests == 3
    assert [entry["EventBusName"] for call in client.calls for entry in call] == ["bus"] * 25


def test_publish_keeps_each_request_under_256_kb() -> None:
    client = FakeEvents()
    # ~60 KB each: four fit in one request, a fifth would not.
    result = publisher(client)[0].publish(events(9, padding=60_000))
    assert [len(call) for call in client.calls] == [4, 4, 1]
    for call in client.calls:  # FakeEvents also asserts the sum on every call
        assert sum(entry_size(entry) for entry in call) <= MAX_REQUEST_BYTES
    assert result.ok


# -- retries ------------------------------------------------------------------------------------


def test_only_the_failed_entries_are_sent_again() -> None:
    flaky = {3, 7, 12}
    client = FakeEvents(
        lambda entry, attempt: (
            "ThrottlingException"
            if json.loads(entry["Detail"])["seq"] in flaky and attempt == 1
            else None
        )
    )
    pub, sleeps = publisher(client)
    result = pub.publish(events(15))
    assert [len(call) for call in client.calls] == [10, 5, 3]
    retried = [json.loads(entry["Detail"])["seq"] for entry in client.calls[2]]
    assert retried == sorted(flaky)
    assert result.ok
    assert [entry.index for entry in result.accepted] == list(range(15))
    assert [entry.attempts for entry in result.accepted if entry.index in flaky] == [2, 2, 2]
    ids = result.event_ids
    assert len(ids) == 15 and all(ids)
    assert [event_id.split("-")[1] for event_id in ids if event_id] == [str(i) for i in range(15)]
    assert sleeps == [0.05]  # one backoff for the round, half (the jitter) of base_delay


def test_retries_are_bounded_with_exponential_backoff_and_full_jitter() -> None:
    client = FakeEvents(lambda entry, attempt: "InternalFailure")
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=0.5)
    pub, sleeps = publisher(client, retry=policy, random_fraction=lambda: 0.999)
    result = pub.publish(events(3))
    assert len(client.calls) == 5  # one request per attempt, all three entries together
    assert sleeps == pytest.approx([0.0999, 0.1998, 0.3996, 0.4995])
    assert sum(sleeps) <= policy.worst_case_sleep
    assert [(f.index, f.error_code, f.attempts, f.retriable) for f in result.failed] == [
        (i, "InternalFailure", 5, True) for i in range(3)
    ]
    assert not result.accepted


def test_jitter_spreads_each_sleep_below_its_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=1.0)
    for retry, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (9, 1.0)]:
        assert policy.ceiling(retry) == pytest.approx(ceiling)
        assert policy.delay(retry, 0.0) == 0.0
        assert policy.delay(retry, 0.25) == pytest.approx(ceiling / 4)


def test_permanent_failures_are_returned_not_retried() -> None:
    client = FakeEvents(
        lambda entry, attempt: (
            "AccessDeniedException" if json.loads(entry["Detail"])["seq"] == 1 else None
        )
    )
    pub, sleeps = publisher(client)
    result = pub.publish(events(3))
    assert len(client.calls) == 1 and sleeps == []
    (failure,) = result.failed
    assert (failure.index, failure.error_code, failure.attempts, failure.retriable) == (
        1,
        "AccessDeniedException",
        1,
        False,
    )
    assert json.loads(failure.entry["Detail"])["seq"] == 1  # ready to be parked or resent
    assert failure.correlation_id == result.correlation_id
    assert result.event_ids[1] is None and result.event_ids[0] and result.event_ids[2]
    with pytest.raises(PublishError, match=r"1 of 3 events failed for good \(AccessDenied"):
        result.raise_for_failures()


def test_unknown_error_codes_are_not_retried_unless_the_policy_says_so() -> None:
    client = FakeEvents(lambda entry, attempt: "SomethingNew" if attempt == 1 else None)
    assert publisher(client)[0].publish(events(1)).failed[0].error_code == "SomethingNew"
    client = FakeEvents(lambda entry, attempt: "SomethingNew" if attempt == 1 else None)
    policy = RetryPolicy(retriable_error_codes=frozenset({"SomethingNew"}))
    assert publisher(client, retry=policy)[0].publish(events(1)).ok


def test_a_throttled_request_is_retried_as_a_whole() -> None:
    client = FakeEvents(request_errors=[client_error("ThrottlingException")])
    result = publisher(client)[0].publish(events(12))
    assert [len(call) for call in client.calls] == [10, 2, 10]
    assert result.ok and result.requests == 3


def test_a_refused_request_fails_its_entries_and_the_others_still_go() -> None:
    client = FakeEvents(request_errors=[client_error("AccessDeniedException")])
    result = publisher(client)[0].publish(events(12))
    assert [len(call) for call in client.calls] == [10, 2]
    assert [f.index for f in result.failed] == list(range(10))
    assert {f.error_code for f in result.failed} == {"AccessDeniedException"}
    assert [a.index for a in result.accepted] == [10, 11]


def test_a_request_without_an_answer_is_reported_not_assumed_delivered() -> None:
    error = EndpointConnectionError(endpoint_url="https://events.eu-west-1.amazonaws.com/")
    client = FakeEvents(request_errors=[error])
    result = publisher(client)[0].publish(events(2))
    assert len(client.calls) == 1
    assert {f.error_code for f in result.failed} == {"EndpointConnectionError"}
    assert "may or may not be on the bus" in result.failed[0].error_message


def test_a_short_response_fails_the_entries_without_a_result() -> None:
    class Short(FakeEvents):
        def put_events(self, *, Entries: Sequence[Any]) -> Any:  # noqa: N803
            response = super().put_events(Entries=Entries)
            return {**response, "Entries": response["Entries"][:-1]}

    result = publisher(Short())[0].publish(events(3))
    assert [(f.index, f.error_code) for f in result.failed] == [(2, "MissingResultEntry")]


def test_fails_when_the_retry_policy_is_out_of_range() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1, got 0"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match=r"max_delay must be at least base_delay \(1.0\)"):
        RetryPolicy(base_delay=1.0, max_delay=0.5)
    with pytest.raises(ValueError, match="max_entries must be between 1 and 10, got 11"):
        EventPublisher(FakeEvents(), max_entries=11)


# -- validation before sending ------------------------------------------------------------------


def test_fails_when_an_event_is_over_the_size_limit_and_sends_nothing() -> None:
    client = FakeEvents()
    batch = [*events(3), *events(1, padding=MAX_REQUEST_BYTES)]
    with pytest.raises(EventTooLargeError, match=r"store the payload elsewhere, e\.g\. S3") as info:
        publisher(client)[0].publish(batch)
    assert client.calls == []
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.index, error.limit) == (3, MAX_REQUEST_BYTES)
    assert error.size > MAX_REQUEST_BYTES
    assert f"{error.size} bytes, over the PutEvents limit of 262144 bytes" in str(error)


def test_an_event_of_exactly_the_limit_is_sent_alone() -> None:
    client = FakeEvents()
    pub = publisher(client)[0]
    head = entry_size(
        {"Source": "s", "DetailType": "t", "Detail": json.dumps({"p": "", "correlationId": "c"})}
    )
    big = {
        "Source": "s",
        "DetailType": "t",
        "Detail": json.dumps({"p": "x" * (MAX_REQUEST_BYTES - head), "correlationId": "c"}),
    }
    assert entry_size(big) == MAX_REQUEST_BYTES
    assert pub.publish([events(1)[0], big, events(1)[0]]).ok
    assert [len(call) for call in client.calls] == [1, 1, 1]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Source": "s", "DetailType": "t"}, "Detail is required"),
        ({"Source": "", "DetailType": "t", "Detail": {}}, "Source must be a non-empty string"),
        ({"Source": "s", "DetailType": "t", "Detail": "[1]"}, "got a JSON list"),
        ({"Source": "s", "DetailType": "t", "Detail": "{oops"}, "Detail is not valid JSON"),
        ({"Source": "s", "DetailType": "t", "Detail": {}, "Sauce": 1}, "unknown .* Sauce"),
        ({"Source": "s", "DetailType": "t", "Detail": {}, "Resources": "arn"}, "list of ARN"),
        ({"Source": "s", "DetailType": "t", "Detail": {"n": Decimal(1)}}, "json_default"),
        ("not an event", "got str"),
    ],
)
def test_fails_when_an_event_is_malformed(event: Any, message: str) -> None:
    client = FakeEvents()
    with pytest.raises(InvalidEventError, match=f"event 1: .*{message}"):
        publisher(client)[0].publish([events(1)[0], event])
    assert client.calls == []


def test_json_default_serializes_what_json_cannot() -> None:
    client = FakeEvents()
    pub = publisher(client, json_default=str)[0]
    assert pub.publish([{"Source": "s", "DetailType": "t", "Detail": {"n": Decimal("1.5")}}]).ok
    assert json.loads(client.calls[0][0]["Detail"])["n"] == "1.5"


def test_event_entry_dataclass_and_the_entry_bus_name() -> None:
    client = FakeEvents()
    when = datetime(2024, 5, 1, 10, tzinfo=UTC)
    result = publisher(client)[0].publish(
        [
            EventEntry("ads.campaigns", "Changed", {"seq": 0}, resources=["arn:x"], time=when),
            EventEntry("ads.campaigns", "Changed", '{"seq": 1}', event_bus_name="other"),
        ]
    )
    first, second = client.calls[0]
    assert first["EventBusName"] == "bus" and second["EventBusName"] == "other"
    assert (first["Resources"], first["Time"]) == (["arn:x"], when)
    assert "Resources" not in second and "Time" not in second
    assert result.ok


def test_no_default_bus_leaves_the_bus_name_out() -> None:
    client = FakeEvents()
    EventPublisher(client, sleep=Sleeps()).publish(events(1))
    assert "EventBusName" not in client.calls[0][0]


# -- correlation ids ----------------------------------------------------------------------------


def _correlation_ids(client: FakeEvents) -> list[str | None]:
    sent = [json.loads(entry["Detail"]) for call in client.calls for entry in call]
    return [detail.get("correlationId") for detail in sent]


def test_the_explicit_id_wins_over_the_context() -> None:
    client = FakeEvents()
    with correlation_id("from-context"):
        result = publisher(client)[0].publish(events(2), correlation_id="explicit")
    assert result.correlation_id == "explicit"
    assert _correlation_ids(client) == ["explicit", "explicit"]
    assert {entry.correlation_id for entry in result.accepted} == {"explicit"}


def test_the_context_id_is_used_and_nests() -> None:
    client = FakeEvents()
    pub = publisher(client)[0]
    with correlation_id("outer"):
        with correlation_id("inner") as inner:
            assert inner == current_correlation_id() == "inner"
            pub.publish(events(1))
        pub.publish(events(1))
    assert current_correlation_id() is None
    assert _correlation_ids(client) == ["inner", "outer"]


def test_a_new_id_is_made_per_call_without_context() -> None:
    client = FakeEvents()
    pub = publisher(client)[0]
    first, second = pub.publish(events(2)), pub.publish(events(1))
    assert first.correlation_id != second.correlation_id
    assert len(first.correlation_id) == 36  # a UUID
    assert _correlation_ids(client) == [first.correlation_id] * 2 + [second.correlation_id]
    with correlation_id() as fresh:
        assert len(fresh) == 36


def test_an_id_the_detail_already_carries_is_kept() -> None:
    client = FakeEvents()
    given = '{"seq": 3, "correlation_id": "kept-3"}'
    details: list[Mapping[str, Any] | str] = [
        {"seq": 0, "correlationId": "kept-0"},
        {"seq": 1, "correlation_id": "kept-1"},
        {"seq": 2, "metadata": {"correlationId": "kept-2"}},
        given,
    ]
    result = publisher(client)[0].publish(
        [{"Source": "s", "DetailType": "t", "Detail": d} for d in details], correlation_id="new"
    )
    assert [entry.correlation_id for entry in result.accepted] == [f"kept-{i}" for i in range(4)]
    assert client.calls[0][3]["Detail"] == given  # JSON text that has an id is sent as given
    assert "correlationId" not in json.loads(client.calls[0][1]["Detail"])


def test_the_callers_detail_is_not_changed() -> None:
    detail = {"seq": 0}
    publisher(FakeEvents())[0].publish([{"Source": "s", "DetailType": "t", "Detail": detail}])
    assert detail == {"seq": 0}


def test_the_producer_stamps_the_fields_the_runtime_reads() -> None:
    from event_fanout.runtime.events import CORRELATION_FIELDS as RUNTIME_FIELDS

    assert CORRELATION_FIELDS == RUNTIME_FIELDS


# -- the default client and the import footprint ------------------------------------------------


def test_the_default_client_retries_requests_in_botocore_standard_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    pub = EventPublisher()
    config = pub.client.meta.config  # type: ignore[attr-defined]
    assert config.retries["mode"] == "standard"


def test_importing_the_producer_loads_no_cdk_pydantic_or_powertools() -> None:
    probe = (
        "import sys, event_fanout.producer; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aws_cdk', 'constructs', 'jsii', 'pydantic', 'aws_lambda_powertools'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


# -- docs ---------------------------------------------------------------------------------------

DOC = Path(__file__).parents[2] / "docs" / "producer.md"


def test_the_docstring_examples_run() -> None:
    import event_fanout.producer

    result = doctest.testmod(event_fanout.producer, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_the_docs_argument_table_matches_the_signature() -> None:
    section = DOC.read_text().split("### `EventPublisher` arguments", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section, flags=re.MULTILINE)
    parameters = list(inspect.signature(EventPublisher).parameters.values())
    defaults = {
        "client": "None",
        "retry": "RetryPolicy()",
        "sleep": "time.sleep",
        "random_fraction": "random.random",
    }
    expected = [(p.name, defaults.get(p.name, repr(p.default))) for p in parameters]
    assert rows == expected
    assert RetryPolicy() == RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=2.0)
    assert "RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=2.0," in DOC.read_text()
    assert RetryPolicy().worst_case_sleep == pytest.approx(1.5)


def test_a_request_botocore_cannot_build_fails_its_entries_without_retry() -> None:
    import boto3

    client = boto3.client(
        "events",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",  # never reached: botocore validates the call first
    )
    sleeps = Sleeps()
    bad = {"Source": "s", "DetailType": "t", "Detail": {}, "Time": "not a time"}
    result = EventPublisher(client, sleep=sleeps).publish([bad])
    assert [(f.error_code, f.attempts, f.retriable) for f in result.failed] == [
        ("ParamValidationError", 1, False)
    ]
    assert sleeps == []
