"""The engine of ``event-fanout route``: matching, the mismatched field, templates, envelopes.

The matching cases are AWS's own examples. Where moto (the matcher) differs from EventBridge,
the adapter's correction is tested here, next to a canary that shows moto alone still differs
(when a moto upgrade fixes it, the canary fails and that part of the adapter can go).

Sources of the examples:

- OPERATORS: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  (the comparison operators, with their examples; formerly content-filtering-with-event-patterns)
- FILTERING: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
- ARRAYS: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
- NULLS: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
- PATTERNS: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
- SECURITY_HUB: https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html
  (``detail.findings`` is an array of objects; rules filter ``"detail": {"findings": {...}}``)
- EVENT_RULER: https://github.com/aws/event-ruler#json-array-matching (the matcher behind
  EventBridge: array consistency)
"""

from __future__ import annotations

import copy
import doctest
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.events.models import EventPattern

from event_fanout.operations import route as route_module
from event_fanout.operations.route import (
    DEFAULT_PSEUDO_PARAMETERS,
    REQUIRED_ENVELOPE_FIELDS,
    InvalidEventPatternError,
    RouteError,
    RouteResult,
    matches,
    mismatch,
    patterns_from_templates,
    route,
    route_with_eventbridge,
    to_envelope,
)

#: PATTERNS: the EC2 event of AWS's first event-pattern example.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

#: EVENT_RULER / FILTERING: the event the numeric, cidr and anything-but examples are written for.
RULER_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}


def with_detail(**detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(RULER_EVENT)
    event["detail"].update(detail)
    return event


def test_the_module_examples_run() -> None:
    failures, tried = doctest.testmod(route_module, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0


class TestAwsExamples:
    """Each operator on the example AWS gives for it, matching and not."""

    def test_the_ec2_termination_example(self) -> None:
        # PATTERNS
        pattern = {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["terminated"]},
        }
        assert matches(pattern, EC2_EVENT)
        running = copy.deepcopy(EC2_EVENT)
        running["detail"]["state"] = "running"
        assert not matches(pattern, running)

    def test_several_values_match_any(self) -> None:
        # PATTERNS: "aws.ec2" or "aws.fargate".
        assert matches({"source": ["aws.ec2", "aws.fargate"]}, EC2_EVENT)
        assert not matches({"source": ["aws.s3", "aws.fargate"]}, EC2_EVENT)

    def test_prefix(self) -> None:
        # OPERATORS, prefix matching: "time" starts with "2017-10-02".
        pattern = {"time": [{"prefix": "2017-10-02"}]}
        assert matches(pattern, {"time": "2017-10-02T18:43:48Z"})
        assert not matches(pattern, {"time": "2017-10-03T18:43:48Z"})
        # OPERATORS, "Region is in the US".
        assert matches({"Region": [{"prefix": "us-"}]}, {"Region": "us-east-1"})
        assert not matches({"Region": [{"prefix": "us-"}]}, {"Region": "eu-west-1"})

    def test_prefix_matches_strings_only(self) -> None:
        # FILTERING: "You can use prefix matching for string values."
        assert not matches({"n": [{"prefix": "1"}]}, {"n": 12})

    def test_prefix_ignoring_case(self) -> None:
        # OPERATORS: service starts with EventB, EVENTB, eventb, ...
        pattern = {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}
        for service in ("EventBridge", "EVENTBRIDGE", "eventbus"):
            assert matches(pattern, {"detail": {"service": service}}), service
        assert not matches(pattern, {"detail": {"service": "SQS"}})

    def test_suffix(self) -> None:
        # OPERATORS: "FileName" ends with the .png extension.
        pattern = {"FileName": [{"suffix": ".png"}]}
        assert matches(pattern, {"FileName": "image.png"})
        assert not matches(pattern, {"FileName": "image.PNG"})
        assert not matches(pattern, {"FileName": "image.jpg"})

    def test_suffix_ignoring_case(self) -> None:
        # OPERATORS: ends with .png, but also .PNG or any other casing.
        pattern = {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}
        assert matches(pattern, {"detail": {"FileName": "image.PNG"}})
        assert matches(pattern, {"detail": {"FileName": "image.Png"}})
        assert not matches(pattern, {"detail": {"FileName": "image.jpg"}})

    def test_equals_ignore_case(self) -> None:
        # OPERATORS: equals-ignore-case on detail-type; "Name is Alice".
        pattern = {
            "detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]
        }
        assert matches(pattern, EC2_EVENT)
        assert matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "ALICE"})
        assert not matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "Alicia"})

    @pytest.mark.parametrize(
        ("pattern", "event", "expected"),
        [
            # FILTERING: a string, a number, a list of strings, a list of numbers.
            ({"state": [{"anything-but": "initializing"}]}, {"state": "running"}, True),
            ({"state": [{"anything-but": "initializing"}]}, {"state": "initializing"}, False),
            ({"x-limit": [{"anything-but": 123}]}, {"x-limit": 124}, True),
            ({"x-limit": [{"anything-but": 123}]}, {"x-limit": 123}, False),
            ({"state": [{"anything-but": ["stopped", "overloaded"]}]}, {"state": "running"}, True),
            ({"state": [{"anything-but": ["stopped", "overloaded"]}]}, {"state": "stopped"}, False),
            ({"x-limit": [{"anything-but": [100, 200, 300]}]}, {"x-limit": 301.8}, True),
            ({"x-limit": [{"anything-but": [100, 200, 300]}]}, {"x-limit": 200}, False),
        ],
    )
    def test_anything_but(self, pattern: Any, event: Any, expected: bool) -> None:
        assert matches({"detail": pattern}, {"detail": event}) is expected

    def test_anything_but_prefix(self) -> None:
        # FILTERING: any event that doesn't have the prefix "init" in "state".
        pattern = {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}
        assert matches(pattern, {"detail": {"state": "running"}})
        assert not matches(pattern, {"detail": {"state": "initializing"}})
        # OPERATORS: "Region is not in the US".
        region_pattern = {"Region": [{"anything-but": {"prefix": "us-"}}]}
        assert matches(region_pattern, {"Region": "eu-west-1"})
        assert not matches(region_pattern, {"Region": "us-east-1"})

    def test_anything_but_suffix(self) -> None:
        # OPERATORS: FileName does not end with .png.
        pattern = {"FileName": [{"anything-but": {"suffix": ".png"}}]}
        assert matches(pattern, {"FileName": "notes.txt"})
        assert not matches(pattern, {"FileName": "image.png"})

    def test_anything_but_ignoring_case(self) -> None:
        # OPERATORS: anything besides "initializing" in any casing.
        pattern = {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}
        assert matches(pattern, {"state": "running"})
        assert not matches(pattern, {"state": "INITIALIZING"})
        listed = {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}
        assert not matches(listed, {"state": "Stopped"})

    def test_anything_but_wildcard(self) -> None:
        # OPERATORS: FilePath is not a path that includes /lib/.
        pattern = {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}
        assert matches(pattern, {"FilePath": "/usr/bin/python"})
        assert not matches(pattern, {"FilePath": "/usr/lib/python3"})

    def test_anything_but_does_not_match_a_missing_field(self) -> None:
        assert not matches({"state": [{"anything-but": "initializing"}]}, {"other": 1})

    def test_numeric_ranges(self) -> None:
        # FILTERING: every field's range must hold.
        pattern = {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        }
        assert matches(pattern, RULER_EVENT)
        assert not matches(pattern, with_detail(**{"c-count": 0}))  # > 0 fails
        assert not matches(pattern, with_detail(**{"c-count": 6}))  # <= 5 fails
        assert matches(pattern, with_detail(**{"c-count": 5}))  # <= 5 is inclusive
        assert not matches(pattern, with_detail(**{"d-count": 10}))
        assert not matches(pattern, with_detail(**{"x-limit": 301.9}))

    def test_numeric_matches_json_numbers_only(self) -> None:
        # FILTERING: "Numeric matching works with values that are JSON numbers."
        assert not matches({"n": [{"numeric": [">", 0]}]}, {"n": "5"})
        # OPERATORS: "Price is more than 10, and less than or equal to 20".
        price = {"Price": [{"numeric": [">", 10, "<=", 20]}]}
        assert matches(price, {"Price": 20})
        assert not matches(price, {"Price": 10})

    def test_ip_address(self) -> None:
        # FILTERING: 10.0.0.0/24.
        pattern = {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}
        assert matches(pattern, {"detail": {"sourceIPAddress": "10.0.0.255"}})
        assert not matches(pattern, {"detail": {"sourceIPAddress": "10.0.1.1"}})

    def test_exists_true(self) -> None:
        # FILTERING: matches an event that has detail.state, not one that has none.
        pattern = {"detail": {"state": [{"exists": True}]}}
        pending = copy.deepcopy(EC2_EVENT)
        pending["detail"]["state"] = "pending"
        assert matches(pattern, pending)
        assert not matches(pattern, {"detail": {"c-count": {"c1": 100}}})

    def test_exists_false(self) -> None:
        # FILTERING: matches any event that does not have a detail.c-count field ...
        pattern = {"detail": {"c-count": [{"exists": False}]}}
        assert matches(pattern, {"detail": {"state": ["initializing", "running"]}})
        assert not matches(pattern, RULER_EVENT)
        # ... also this one, "because c-count isn't a leaf node".
        assert matches(pattern, {"detail": {"state": "running", "c-count": {"c1": 100}}})

    def test_exists_true_matches_null(self) -> None:
        # NULLS: null is a value, so the field exists.
        assert matches({"UserID": [{"exists": True}]}, {"UserID": None})

    def test_null_and_empty_string(self) -> None:
        # NULLS: "UserID is null", "LastName is empty"; neither is the field missing.
        assert matches({"UserID": [None]}, {"UserID": None})
        assert not matches({"UserID": [None]}, {"UserID": "u-1"})
        assert not matches({"UserID": [None]}, {})
        assert matches({"LastName": [""]}, {"LastName": ""})
        assert not matches({"LastName": [""]}, {"LastName": "Smith"})

    def test_wildcard(self) -> None:
        # OPERATORS: "Any file with a .png extension, located within the folder dir".
        pattern = {"FileName": [{"wildcard": "dir/*.png"}]}
        assert matches(pattern, {"FileName": "dir/image.png"})
        assert not matches(pattern, {"FileName": "other/image.png"})
        assert not matches(pattern, {"FileName": "dir/image.jpg"})
        # OPERATORS: any event bus in us-east-1.
        arn = {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}
        assert matches(arn, {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/b"})
        assert not matches(arn, {"EventBusArn": "arn:aws:events:eu-west-1:1:event-bus/b"})

    def test_wildcard_escapes_an_asterisk(self) -> None:
        # EVENT_RULER: "a wildcard character can be escaped with a backslash".
        pattern = {"name": [{"wildcard": "a\\*b"}]}
        assert matches(pattern, {"name": "a*b"})
        assert not matches(pattern, {"name": "axxb"})

    def test_or_across_fields(self) -> None:
        # OPERATORS: "Location is New York, or Day is Monday".
        pattern = {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}
        assert matches(pattern, {"Location": "New York", "Day": "Friday"})
        assert matches(pattern, {"Location": "Paris", "Day": "Monday"})
        assert not matches(pattern, {"Location": "Paris", "Day": "Friday"})

    def test_or_with_other_fields(self) -> None:
        # FILTERING / EVENT_RULER: source AND (metricName OR namespace).
        pattern = {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency"]},
                {"namespace": ["AWS/EC2", "AWS/ES"]},
            ],
        }
        assert matches(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/ES"})
        assert not matches(pattern, {"source": "aws.ec2", "namespace": "AWS/ES"})
        assert not matches(pattern, {"source": "aws.cloudwatch", "metricName": "DiskRead"})

    def test_or_inside_detail_with_numeric(self) -> None:
        # OPERATORS: c-count in (0, 5], or d-count < 10, or x-limit = 301.8, under detail.
        pattern = {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        }
        assert matches(pattern, with_detail(**{"c-count": 50, "d-count": 50}))
        assert not matches(pattern, with_detail(**{"c-count": 50, "d-count": 50, "x-limit": 1}))

    def test_nested_detail(self) -> None:
        # PATTERNS: field names must appear with the same nesting.
        pattern = {"detail": {"bucket": {"name": ["photos"]}}}
        assert matches(pattern, {"detail": {"bucket": {"name": "photos", "arn": "x"}}})
        assert not matches(pattern, {"detail": {"name": "photos"}})
        assert not matches(pattern, {"bucket": {"name": "photos"}})

    def test_arrays_match_if_any_element_matches(self) -> None:
        # ARRAYS: the first value of the pattern's array is the second of the event's.
        pattern = {
            "resources": [
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
            ]
        }
        event = {
            "resources": [
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-"
                "b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            ]
        }
        assert matches(pattern, event)
        assert not matches(pattern, {"resources": [event["resources"][0]]})

    def test_operators_apply_to_any_element_of_an_array(self) -> None:
        assert matches({"tags": [{"prefix": "team-"}]}, {"tags": ["env-prod", "team-ads"]})
        assert matches({"sizes": [{"numeric": [">", 5]}]}, {"sizes": [1, 7]})
        assert not matches({"sizes": [{"numeric": [">", 5]}]}, {"sizes": [1, 2]})

    def test_the_complex_example(self) -> None:
        # FILTERING: prefix, anything-but and numeric together.
        pattern = {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
            },
        }
        assert matches(pattern, RULER_EVENT)
        assert not matches(pattern, with_detail(state="initializing"))


class TestWhereMotoDiffers:
    """The adapter's corrections, each with the canary that shows moto alone still differs."""

    @staticmethod
    def moto_alone(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
        return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))

    def test_an_array_of_objects_is_matched_element_by_element(self) -> None:
        # SECURITY_HUB: findings is an array of objects; rules filter inside it.
        pattern = {
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {"findings": {"Severity": {"Label": ["CRITICAL", "HIGH"]}}},
        }
        event = {
            "source": "aws.securityhub",
            "detail-type": "Security Hub Findings - Imported",
            "detail": {"findings": [{"Id": "f-1", "Severity": {"Label": "CRITICAL"}}]},
        }
        assert matches(pattern, event)
        low = copy.deepcopy(event)
        low["detail"]["findings"][0]["Severity"]["Label"] = "LOW"
        assert not matches(pattern, low)
        assert not self.moto_alone(pattern, event)  # canary

    def test_fields_of_one_match_come_from_one_element(self) -> None:
        # EVENT_RULER, array consistency: Anna Smith and Peter Jones, not Anna Jones.
        event = {
            "employees": [
                {"firstName": "John", "lastName": "Doe"},
                {"firstName": "Anna", "lastName": "Smith"},
                {"firstName": "Peter", "lastName": "Jones"},
            ]
        }
        assert matches({"employees": {"firstName": ["Anna"]}}, event)
        assert matches({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, event)
        assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, event)

    def test_nested_arrays_are_flattened(self) -> None:
        # EVENT_RULER: "This works for multi-level arrays too".
        event = {
            "employees": [
                [{"firstName": "John"}, {"firstName": "Anna"}],
                [{"firstName": "Peter"}],
            ]
        }
        assert matches({"employees": {"firstName": ["Peter"]}}, event)
        assert matches({"codes": [3]}, {"codes": [[1, 2], [3]]})

    def test_an_empty_array_or_object_is_no_leaf(self) -> None:
        # FILTERING: exists matches leaf nodes only; an empty container has none.
        assert not matches({"resources": [{"exists": True}]}, {"resources": []})
        assert matches({"resources": [{"exists": False}]}, {"resources": []})
        assert not matches({"detail": [{"anything-but": "x"}]}, {"detail": {}})
        assert self.moto_alone({"resources": [{"exists": True}]}, {"resources": []})  # canary

    @pytest.mark.parametrize(
        "operator",
        [{"contains": "Normal"}, {"Ref": "AWS::AccountId"}, {"prefix": "a", "suffix": "b"}],
    )
    def test_fails_when_an_operator_is_unknown(self, operator: dict[str, Any]) -> None:
        pattern = {"detail": {"state": [operator]}}
        with pytest.raises(InvalidEventPatternError, match=r"detail\.state: .* is not an Event"):
            matches(pattern, {"detail": {"state": "anything"}})
        if len(operator) == 1:
            assert self.moto_alone(pattern, {"detail": {"state": "anything"}})  # canary

    @pytest.mark.parametrize(
        ("pattern", "message"),
        [
            ({"source": "aws.ec2"}, r"source must be a list of values or an object"),
            ({"source": []}, r"source: empty lists are not allowed"),
            ({"$or": [["a"]]}, r"\$or must be a list of patterns"),
            ({"n": [{"prefix": 5}]}, r"cannot be evaluated"),
        ],
    )
    def test_fails_when_a_pattern_is_malformed(self, pattern: Any, message: str) -> None:
        with pytest.raises(InvalidEventPatternError, match=message):
            matches(pattern, {"source": "aws.ec2", "n": "x"})

    def test_fails_when_an_event_has_too_many_array_combinations(self) -> None:
        pattern = {"a": {"x": [1]}, "b": {"y": [1]}, "c": {"z": [1]}}
        event = {
            key: [{name: i} for i in range(20)] for key, name in zip("abc", "xyz", strict=True)
        }
        with pytest.raises(RouteError, match="8000 combinations"):
            matches(pattern, event)

    @pytest.mark.xfail(
        strict=True,
        reason="moto compares with Python's ==, where True == 1; EventBridge compares JSON "
        "values (left as moto has it, see the module docstring)",
    )
    def test_a_boolean_is_not_a_number(self) -> None:
        assert not matches({"flag": [True]}, {"flag": 1})


#: The reference stack's Notification rule, as CDK writes it (keys sorted).
NOTIFICATION: dict[str, Any] = {
    "detail": {"newBudget": [{"numeric": [">", 1000]}]},
    "detail-type": ["CampaignBudgetChanged"],
    "source": ["ads.campaigns"],
}
#: A PutEvents entry of the reference scenario that the Notification rule does not match.
SMALL_BUDGET_ENTRY: dict[str, Any] = {
    "Source": "ads.campaigns",
    "DetailType": "CampaignBudgetChanged",
    "Detail": json.dumps({"campaignId": 7, "newBudget": 500}),
}


class TestMismatch:
    def event(self, **changes: Any) -> dict[str, Any]:
        event = {
            "source": "ads.campaigns",
            "detail-type": "CampaignBudgetChanged",
            "detail": {"campaignId": 7, "newBudget": 5000},
        }
        event.update(changes)
        return event

    def test_none_when_it_matches(self) -> None:
        assert mismatch(NOTIFICATION, self.event()) is None

    def test_names_a_nested_detail_field(self) -> None:
        event = self.event(detail={"campaignId": 7, "newBudget": 500})
        assert mismatch(NOTIFICATION, event) == "detail.newBudget"

    def test_names_a_missing_field(self) -> None:
        assert mismatch(NOTIFICATION, self.event(detail={})) == "detail.newBudget"

    def test_names_source_and_detail_type_first(self) -> None:
        # CDK sorts the keys (detail first); a wrong source is the telling answer.
        event = self.event(source="ads.billing", detail={"newBudget": 1})
        assert mismatch(NOTIFICATION, event) == "source"
        event = self.event(**{"detail-type": "CampaignCreated"}, detail={"newBudget": 1})
        assert mismatch(NOTIFICATION, event) == "detail-type"

    def test_names_the_deepest_field(self) -> None:
        pattern = {
            "detail": {"bucket": {"name": ["photos"]}, "object": {"key": [{"suffix": ".png"}]}}
        }
        event = {"detail": {"bucket": {"name": "photos"}, "object": {"key": "a.jpg"}}}
        assert mismatch(pattern, event) == "detail.object.key"

    def test_names_a_field_that_only_fails_with_the_others(self) -> None:
        # EVENT_RULER: each field matches some employee, not the same one.
        event = {"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"lastName": "Jones"}]}
        pattern = {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}
        assert mismatch(pattern, event) == "employees.lastName"

    def test_names_the_field_of_the_closest_or_alternative(self) -> None:
        pattern = {"$or": [{"a": [1], "b": [2]}, {"c": [3]}]}
        # Alternative 1 fails on b only, alternative 2 on c only: a tie, the first wins.
        assert mismatch(pattern, {"a": 1, "b": 5, "c": 9}) == "b"
        # Alternative 1 fails on a and b, alternative 2 on c alone: the second is closer.
        assert mismatch(pattern, {"a": 0, "b": 5, "c": 9}) == "c"

    def test_an_or_under_detail_is_reported_with_its_path(self) -> None:
        pattern = {
            "source": ["aws.ec2"],
            "detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"state": ["stopped"]}]},
        }
        assert mismatch(pattern, RULER_EVENT) == "detail.c-count"
        assert mismatch(pattern, with_detail(state="stopped")) is None

    def test_an_or_is_one_field_among_the_others(self) -> None:
        pattern = {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        }
        assert mismatch(pattern, {"source": "aws.ec2", "namespace": "AWS/EC2"}) == "source"
        assert (
            mismatch(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/S3"}) == "metricName"
        )

    def test_fails_when_the_pattern_is_invalid(self) -> None:
        with pytest.raises(InvalidEventPatternError, match="contains"):
            mismatch({"source": [{"contains": "ec2"}]}, EC2_EVENT)


def rule(pattern: Any, **properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": pattern, **properties}}


#: The reference stack's rules, as `cdk synth` writes them (tests/stack snapshot).
REFERENCE_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "CampaignsBus789DC95D": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "b"}},
        "CampaignsConsumersAuditLogRuleA5BFA53F": rule({"source": ["ads.campaigns"]}),
        "CampaignsConsumersNotificationRule5D68D062": rule(
            {
                "detail": {"newBudget": [{"numeric": [">", 1000]}]},
                "detail-type": ["CampaignBudgetChanged"],
                "source": ["ads.campaigns"],
            }
        ),
        "CampaignsConsumersReportingSyncRule4CBD053B": rule(
            {"detail-type": ["CampaignBudgetChanged"], "source": ["ads.campaigns"]}
        ),
        "NightlyRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {"ScheduleExpression": "rate(1 day)"},
        },
    }
}


class TestPatternsFromTemplates:
    def test_reads_every_rule_with_a_pattern_by_logical_id(self) -> None:
        patterns = patterns_from_templates({"CampaignBudgets": REFERENCE_TEMPLATE})
        assert list(patterns) == [
            "CampaignsConsumersAuditLogRuleA5BFA53F",
            "CampaignsConsumersNotificationRule5D68D062",
            "CampaignsConsumersReportingSyncRule4CBD053B",
        ]
        assert patterns["CampaignsConsumersAuditLogRuleA5BFA53F"] == {"source": ["ads.campaigns"]}

    def test_reads_a_pattern_given_as_a_json_string(self) -> None:
        template = {"Resources": {"R": rule(json.dumps({"source": ["aws.ec2"]}))}}
        assert patterns_from_templates({"S": template}) == {"R": {"source": ["aws.ec2"]}}

    def test_reads_every_template(self) -> None:
        first = {"Resources": {"A": rule({"source": ["a"]})}}
        second = {"Resources": {"B": rule({"source": ["b"]})}, "Outputs": {}}
        assert patterns_from_templates({"One": first, "Two": second, "Empty": {}}) == {
            "A": {"source": ["a"]},
            "B": {"source": ["b"]},
        }

    def test_resolves_pseudo_parameters(self) -> None:
        pattern = {
            "account": [{"Ref": "AWS::AccountId"}],
            "resources": [
                {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::photos"]]},
                {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"},
            ],
            "detail": {"Ref": ["a field named Ref"]},
        }
        resolved = patterns_from_templates({"S": {"Resources": {"R": rule(pattern)}}})["R"]
        assert resolved == {
            "account": [DEFAULT_PSEUDO_PARAMETERS["AWS::AccountId"]],
            "resources": ["arn:aws:s3:::photos", "arn:aws:sqs:eu-west-1:123456789012:q"],
            "detail": {"Ref": ["a field named Ref"]},
        }
        given = patterns_from_templates(
            {"S": {"Resources": {"R": rule({"account": [{"Ref": "AWS::AccountId"}]})}}},
            pseudo_parameters={"AWS::AccountId": "999999999999"},
        )
        assert given == {"R": {"account": ["999999999999"]}}

    def test_an_account_scoped_rule_matches_an_entry_published_in_the_account(self) -> None:
        template = {"Resources": {"R": rule({"account": [{"Ref": "AWS::AccountId"}]})}}
        patterns = patterns_from_templates({"S": template})
        entry = {"Source": "ads.campaigns", "DetailType": "Changed", "Detail": "{}"}
        assert route(entry, patterns) == [RouteResult("R", True, None)]

    @pytest.mark.parametrize(
        "intrinsic",
        [
            {"Ref": "BusName"},
            {"Fn::GetAtt": ["Queue", "Arn"]},
            {"Fn::ImportValue": "shared-bus-arn"},
            {"Fn::Sub": "arn:aws:events:${AWS::Region}:${Owner}:event-bus/b"},
        ],
    )
    def test_fails_when_an_intrinsic_cannot_be_resolved(self, intrinsic: Any) -> None:
        template = {"Resources": {"AuditRule": rule({"resources": [intrinsic]})}}
        with pytest.raises(RouteError, match=r"Stack/AuditRule: .* known only in the deployed"):
            patterns_from_templates({"Stack": template})

    def test_fails_when_two_templates_have_a_rule_of_one_logical_id(self) -> None:
        template = {"Resources": {"R": rule({"source": ["a"]})}}
        with pytest.raises(RouteError, match=r"Billing/R: .* in Orders: route one stack"):
            patterns_from_templates({"Orders": template, "Billing": template})

    def test_fails_when_a_pattern_is_not_json(self) -> None:
        with pytest.raises(RouteError, match="S/R: the EventPattern is not JSON"):
            patterns_from_templates({"S": {"Resources": {"R": rule("{source: aws.ec2}")}}})


class TestEnvelope:
    WHEN = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    def test_a_put_events_entry_becomes_the_envelope(self) -> None:
        entry = {
            "Source": "ads.campaigns",
            "DetailType": "CampaignBudgetChanged",
            "Detail": json.dumps({"campaignId": 7}),
            "Resources": ["arn:aws:ads:eu-west-1:123456789012:campaign/7"],
            "EventBusName": "campaigns",
            "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793",
        }
        envelope = to_envelope(entry, now=self.WHEN)
        assert envelope == {
            "version": "0",
            "id": envelope["id"],
            "source": "ads.campaigns",
            "detail-type": "CampaignBudgetChanged",
            "account": "123456789012",
            "time": "2024-05-01T10:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:ads:eu-west-1:123456789012:campaign/7"],
            "detail": {"campaignId": 7},
        }
        assert set(REQUIRED_ENVELOPE_FIELDS) <= set(envelope)

    def test_an_entry_time_is_written_as_eventbridge_writes_it(self) -> None:
        base = {"Source": "s", "DetailType": "t", "Detail": "{}"}
        paris = timezone(timedelta(hours=2))
        assert to_envelope({**base, "Time": datetime(2024, 5, 1, 12, tzinfo=paris)})["time"] == (
            "2024-05-01T10:00:00Z"
        )
        assert to_envelope({**base, "Time": 0})["time"] == "1970-01-01T00:00:00Z"
        assert to_envelope({**base, "Time": "2017-10-02T16:24:49Z"})["time"] == (
            "2017-10-02T16:24:49Z"
        )

    def test_an_entry_detail_may_be_an_object(self) -> None:
        entry = {"Source": "s", "DetailType": "t", "Detail": {"a": 1}}
        assert to_envelope(entry)["detail"] == {"a": 1}

    def test_an_envelope_keeps_its_fields_and_gets_the_missing_ones(self) -> None:
        assert to_envelope(EC2_EVENT) == EC2_EVENT
        partial = {"source": "ads.campaigns", "detail-type": "Changed"}
        envelope = to_envelope(partial, account="210987654321", region="us-east-2", now=self.WHEN)
        assert envelope["account"] == "210987654321"
        assert envelope["region"] == "us-east-2"
        assert envelope["detail"] == {}
        assert envelope["resources"] == []
        assert envelope["version"] == "0"
        assert len(envelope["id"]) == 36
        assert partial == {"source": "ads.campaigns", "detail-type": "Changed"}  # not changed

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            ({"DetailType": "t", "Detail": "{}"}, r"no 'source' \(a PutEvents entry's 'Source'\)"),
            ({"source": "s", "detail": {}}, r"no 'detail-type' \(a PutEvents entry's 'DetailT"),
            ({"Source": "s", "DetailType": "t", "Detail": "{not json"}, "Detail is not JSON"),
            ({"Source": "s", "DetailType": "t", "Detail": "[1]"}, "'detail' is not a JSON object"),
            ({"source": "s", "detail-type": "t", "detail": "{}"}, "'detail' is not a JSON obj"),
            ({"Source": "s", "detail-type": "t"}, r"mixes PutEvents entry fields \(Source\)"),
            ({"Source": "s", "DetailType": "t", "Region": "x"}, r"does not take \(Region\)"),
            (["not", "an", "object"], "an event is a JSON object, got list"),
        ],
    )
    def test_fails_when_the_event_is_not_one_eventbridge_could_carry(
        self, event: Any, message: str
    ) -> None:
        with pytest.raises(RouteError, match=message):
            to_envelope(event)


class TestRoute:
    def patterns(self) -> dict[str, dict[str, Any]]:
        """Consumer name -> pattern, mapped from the rules' logical ids as the CLI does."""
        by_rule = patterns_from_templates({"CampaignBudgets": REFERENCE_TEMPLATE})
        return {
            logical_id.removeprefix("CampaignsConsumers").split("Rule")[0]: pattern
            for logical_id, pattern in by_rule.items()
        }

    def test_routes_an_entry_through_the_reference_rules(self) -> None:
        assert route(SMALL_BUDGET_ENTRY, self.patterns()) == [
            RouteResult("AuditLog", True, None),
            RouteResult("Notification", False, "detail.newBudget"),
            RouteResult("ReportingSync", True, None),
        ]

    def test_routes_an_envelope(self) -> None:
        event = {
            "source": "ads.billing",
            "detail-type": "InvoicePaid",
            "detail": {"invoiceId": 1},
        }
        assert [result.to_json() for result in route(event, self.patterns())] == [
            {"consumer": "AuditLog", "matched": False, "mismatched_field": "source"},
            {"consumer": "Notification", "matched": False, "mismatched_field": "source"},
            {"consumer": "ReportingSync", "matched": False, "mismatched_field": "source"},
        ]

    def test_fails_naming_the_consumer_whose_pattern_is_invalid(self) -> None:
        patterns = {"Audit": {"source": ["a"]}, "Broken": {"source": [{"contains": "a"}]}}
        with pytest.raises(InvalidEventPatternError, match=r"^Broken: source: "):
            route({"source": "a", "detail-type": "t"}, patterns)


class FakeEventBridge:
    """``test_event_pattern`` as EventBridge answers it, checking the call as AWS would."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def test_event_pattern(self, *, EventPattern: str, Event: str) -> dict[str, Any]:  # noqa: N803
        event = json.loads(Event)
        missing = [name for name in REQUIRED_ENVELOPE_FIELDS if name not in event]
        assert not missing, f"TestEventPattern requires {missing}"
        pattern = json.loads(EventPattern)
        self.calls.append(pattern)
        return {"Result": matches(pattern, event)}


def events_client() -> Any:
    return boto3.client(
        "events",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class TestRouteWithEventBridge:
    def test_agrees_with_the_offline_route(self) -> None:
        patterns = TestRoute().patterns()
        client = FakeEventBridge()
        assert route_with_eventbridge(client, SMALL_BUDGET_ENTRY, patterns) == route(
            SMALL_BUDGET_ENTRY, patterns
        )

    def test_finds_the_mismatched_field_with_testeventpattern_calls(self) -> None:
        client = FakeEventBridge()
        pattern = NOTIFICATION
        results = route_with_eventbridge(client, SMALL_BUDGET_ENTRY, {"Notification": pattern})
        assert results == [RouteResult("Notification", False, "detail.newBudget")]
        assert client.calls == [
            pattern,  # the rule as a whole
            {"source": ["ads.campaigns"]},
            {"source": ["ads.campaigns"], "detail-type": ["CampaignBudgetChanged"]},
            {
                "source": ["ads.campaigns"],
                "detail-type": ["CampaignBudgetChanged"],
                "detail": {"newBudget": [{"numeric": [">", 1000]}]},
            },
        ]

    def test_one_call_per_consumer_without_explanations(self) -> None:
        client = FakeEventBridge()
        patterns = TestRoute().patterns()
        results = route_with_eventbridge(
            client, SMALL_BUDGET_ENTRY, patterns, explain_mismatches=False
        )
        assert [result.mismatched_field for result in results] == [None, None, None]
        assert [result.matched for result in results] == [True, False, True]
        assert len(client.calls) == 3

    def test_sends_the_completed_envelope_and_the_pattern_as_json(self) -> None:
        client = events_client()
        with Stubber(client) as stubber:
            stubber.add_response(
                "test_event_pattern",
                {"Result": True},
                {"EventPattern": json.dumps({"source": ["ads.campaigns"]}), "Event": ANY},
            )
            results = route_with_eventbridge(
                client, SMALL_BUDGET_ENTRY, {"AuditLog": {"source": ["ads.campaigns"]}}
            )
            stubber.assert_no_pending_responses()
        assert results == [RouteResult("AuditLog", True, None)]

    def test_fails_naming_the_consumer_when_eventbridge_rejects_its_pattern(self) -> None:
        client = events_client()
        with Stubber(client) as stubber:
            stubber.add_client_error(
                "test_event_pattern",
                service_error_code="InvalidEventPatternException",
                service_message="Event pattern is not valid. Reason: Unrecognized match type x",
            )
            with pytest.raises(InvalidEventPatternError, match=r"^Broken: EventBridge rejects"):
                route_with_eventbridge(
                    client, SMALL_BUDGET_ENTRY, {"Broken": {"source": [{"x": 1}]}}
                )

    def test_fails_on_the_emulator_which_answers_without_a_result(self) -> None:
        # moto 5.2.5 does not implement TestEventPattern: an empty 200 answer.
        with mock_aws():
            client = events_client()
            with pytest.raises(RouteError, match="without a Result"):
                route_with_eventbridge(client, SMALL_BUDGET_ENTRY, {"AuditLog": {"source": ["x"]}})
