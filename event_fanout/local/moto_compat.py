"""What moto's CloudFormation lacks or gets wrong with the fan-out's resources, in one place.

The local emulator is moto's server; the real CDK CLI deploys the unchanged reference template
into it. Fourteen things stand in the way with moto 5.2.5 (the version every fix here was written
and tested against, :data:`MOTO_VERSION`):

``event_bus_ref``
    ``{"Ref": <AWS::Events::EventBus>}`` resolves to the Python ``EventBus`` object instead of
    the bus name (``EventBus`` has no ``physical_resource_id``), so every rule on a custom bus
    fails with ``'EventBus' object has no attribute 'split'``.
``archive_event_pattern``
    ``AWS::Events::Archive`` passes its ``EventPattern`` object on unserialized (the Rule model
    ``json.dumps`` it, the Archive model forgets to), so the archive fails to parse it.
``event_account_field``
    Events delivered to targets lack the envelope's ``account`` field (moto's default input
    template leaves it out), so consumers that validate the EventBridge envelope reject every
    event as malformed.
``generated_name_length``
    Names CloudFormation generates (``<stack>-<logical id>-<suffix>``) are not cut to the
    resource's length limit, so an ``AWS::Events::Archive`` of a stack with a longer name fails
    moto's own 48-character check (real CloudFormation truncates).
``sqs_generated_queue_name``
    ``AWS::SQS::Queue`` without a ``QueueName`` keeps the first 80 characters of the generated
    ``<stack>-<logical id>-<suffix>`` name, dropping the unique end. A nested stack's name alone
    is about 100 characters (``<parent>-<nested stack logical id>-<suffix>``), so every such
    queue of a nested stack gets the same name, moto hands the first queue back for the others,
    and the stack lists one queue where the template has several, still COMPLETE. The
    ``<stack>-<logical id>`` part is cut instead, keeping the suffix (as for
    ``generated_name_length``).
``cloudwatch_alarm``
    ``AWS::CloudWatch::Alarm`` has no CloudFormation model: skipped, stack still COMPLETE.
``sqs_queue_policy``
    ``AWS::SQS::QueuePolicy`` has no CloudFormation model: skipped, stack still COMPLETE.
``sns_topic_policy``
    ``AWS::SNS::TopicPolicy`` has no CloudFormation model: skipped, stack still COMPLETE.
``sqs_fast_clock``
    Not a correctness bug, a cost: SQS checks every queued message's visibility with
    ``unix_time_millis()``, which builds two datetimes per call, many times per
    ``ReceiveMessage``; with 1,000 queued messages a receive takes about a second. The SQS
    models get the same value (milliseconds since the epoch, UTC) from ``time.time()``.
``sqs_retention_lookup``
    A cost too: ``ReceiveMessage`` checks each candidate message's retention by building the
    queue's *full* attribute map (which counts every queued message three times), so a receive
    is quadratic in the queue depth. The check reads the queue's retention period directly.
``events_input_path_cache``
    A cost too: ``PutEvents`` builds a new JSONPath parser (a PLY LALR table, about 3 ms) for
    each input path of each target of each matching rule. The parsed paths are cached.
``sqs_counts_in_one_pass``
    A cost too: ``SendMessage`` reads one static attribute from the queue's full attribute map,
    whose three message counts scan every queued message, one scan each. The counts now come
    from one scan (the same values).
``server_backend_lookup``
    A cost too: the server finds each request's service by testing the host against a fresh
    listing of moto's package directory (~150 ``isdir`` calls). The listing is made once.
``sqs_message_move_task``
    ``StartMessageMoveTask`` / ``ListMessageMoveTasks`` (DLQ redrive) are not implemented.

Every fix is applied inside the moto server process (``python -m event_fanout.local.server``),
never to the template: what is deployed is exactly what ``cdk deploy`` sends to real AWS.

Each fix first *checks* that moto still has the exact shape it was written against (the source
of the patched function, the absence of the missing model or operation) and raises
:class:`MotoCompatError` otherwise, so a moto upgrade fails loudly at server start instead of
silently deploying half a stack. After an upgrade: re-run ``pytest tests/local``, drop the fixes
moto no longer needs, and update :data:`MOTO_VERSION` and the recorded fingerprints.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The moto release every fix below was written and tested against.
MOTO_VERSION = "5.2.5"


class MotoCompatError(RuntimeError):
    """moto is not the version (or no longer has the shape) a compatibility fix was written for."""


@dataclass(frozen=True)
class CompatFix:
    """One bridged gap: ``check`` raises if moto changed under it, ``apply`` patches moto.

    Attributes
    ----------
    name:
        Short identifier, printed by the server at start.
    problem:
        What goes wrong without the fix (one line).
    check:
        Raises :class:`MotoCompatError` when moto no longer has the shape the fix expects.
    apply:
        Patches moto in this process. Idempotent.

    """

    name: str
    problem: str
    check: Callable[[], None]
    apply: Callable[[], None]


def fingerprint(function: Callable[..., Any]) -> str:
    """First 16 hex digits of the SHA-256 of a function's source: changes when moto edits it."""
    source = inspect.getsource(inspect.unwrap(function))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def require_fingerprint(function: Callable[..., Any], expected: str, fix: str) -> None:
    """Raise :class:`MotoCompatError` if ``function``'s source is not the one ``fix`` patches."""
    actual = fingerprint(function)
    if actual != expected:
        raise MotoCompatError(
            f"moto compatibility fix {fix!r}: {function.__qualname__} changed (source fingerprint "
            f"{actual}, written against {expected} in moto {MOTO_VERSION}). Check whether moto "
            "fixed the bug; then drop the fix or re-verify it and update the fingerprint."
        )


def _require_model_absent(resource_type: str, fix: str) -> None:
    """Raise if moto gained a CloudFormation model for ``resource_type`` (the fix would clash)."""
    from moto.cloudformation import parsing

    model = parsing.get_model_map().get(resource_type)
    if model is not None and not getattr(model, "_event_fanout_compat", False):
        raise MotoCompatError(
            f"moto compatibility fix {fix!r}: moto now has a CloudFormation model for "
            f"{resource_type} ({model.__module__}.{model.__qualname__}); drop this fix and "
            "check the deployed stack again."
        )


# -- shared: wrapping a model's CloudFormation create -----------------------------------------

#: Adjusts ``(resource_name, cloudformation_json)`` before moto's own create runs; returns the name.
CreateAdjustment = Callable[[str, Any], str]


def _check_create(model: type[Any], expected: str, fix: str) -> None:
    """Require the source of ``model.create_from_cloudformation_json`` (unless already wrapped)."""
    create = model.create_from_cloudformation_json
    if not getattr(create, "_event_fanout_compat", False):
        require_fingerprint(create, expected, fix)


def _wrap_create(model: type[Any], adjust: CreateAdjustment) -> None:
    """Run ``adjust`` before ``model``'s CloudFormation create; idempotent."""
    original = model.create_from_cloudformation_json
    if getattr(original, "_event_fanout_compat", False):
        return

    def create_from_cloudformation_json(
        cls: type[Any],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource_name = adjust(resource_name, cloudformation_json)
        return original(resource_name, cloudformation_json, account_id, region_name, **kwargs)

    create_from_cloudformation_json._event_fanout_compat = True  # type: ignore[attr-defined]
    model.create_from_cloudformation_json = classmethod(
        create_from_cloudformation_json  # type: ignore[arg-type]
    )


class _ReplacedOnUpdate:
    """What the models this module adds share: an update replaces, and creation is immediate.

    Mixed in before moto's ``CloudFormationModel`` (imported lazily, inside the fixes).
    """

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def is_created(self) -> bool:
        return True


# -- event_bus_ref ----------------------------------------------------------------------------


def _check_event_bus_ref() -> None:
    from moto.cloudformation import parsing
    from moto.events.models import EventBus

    require_fingerprint(parsing.clean_json, "9fbe5dedab810616", "event_bus_ref")
    if "physical_resource_id" in vars(EventBus) and not getattr(
        EventBus, "_event_fanout_compat", False
    ):
        raise MotoCompatError(
            "moto compatibility fix 'event_bus_ref': moto's EventBus now defines "
            "physical_resource_id; drop this fix."
        )


def _apply_event_bus_ref() -> None:
    from moto.events.models import EventBus

    def physical_resource_id(self: Any) -> str:
        """``Ref`` of ``AWS::Events::EventBus`` is the bus name, as in CloudFormation."""
        return str(self.name)

    EventBus.physical_resource_id = property(physical_resource_id)  # type: ignore[attr-defined]
    EventBus._event_fanout_compat = True  # type: ignore[attr-defined]


# -- archive_event_pattern --------------------------------------------------------------------

_ARCHIVE_CREATE_FINGERPRINT = "2a4d3f6e7393b970"


def _check_archive_event_pattern() -> None:
    from moto.events.models import Archive

    _check_create(Archive, _ARCHIVE_CREATE_FINGERPRINT, "archive_event_pattern")


def _serialize_archive_pattern(resource_name: str, cloudformation_json: Any) -> str:
    """Serialize the pattern object to the JSON string the Archive model expects."""
    properties = cloudformation_json.get("Properties", {})
    pattern = properties.get("EventPattern")
    if isinstance(pattern, dict):
        properties["EventPattern"] = json.dumps(pattern)
    return resource_name


def _apply_archive_event_pattern() -> None:
    from moto.events.models import Archive

    _wrap_create(Archive, _serialize_archive_pattern)


# -- event_account_field ---------------------------------------------------------------------

_MOTO_DEFAULT_INPUT_TEMPLATE = (
    '{"id": "<id>", "time": <time>, "version": "0", "detail-type": "<detail-type>", '
    '"source": "<source>", "region": "<region>", "resources": <resources>, "detail": <detail>}'
)
#: EventBridge's envelope as delivered to a target without an input transformer.
_FULL_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)


def _check_event_account_field() -> None:
    from moto.events.utils import EventTemplateParser

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    paths = EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    if template not in (_MOTO_DEFAULT_INPUT_TEMPLATE, _FULL_INPUT_TEMPLATE):
        raise MotoCompatError(
            "moto compatibility fix 'event_account_field': moto's default event input template "
            f"changed (written against moto {MOTO_VERSION}): {template}"
        )
    if paths.get("account") != "$.account":
        raise MotoCompatError(
            "moto compatibility fix 'event_account_field': moto's input paths map has no "
            "account path"
        )


def _apply_event_account_field() -> None:
    from moto.events.utils import EventTemplateParser

    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _FULL_INPUT_TEMPLATE


# -- generated_name_length ---------------------------------------------------------------------

#: Length limits of physical names, for the types the fan-out lets CloudFormation name.
NAME_LENGTH_LIMITS = {
    "AWS::Events::Archive": 48,
    "AWS::Events::Rule": 64,
    "AWS::Lambda::Function": 64,
    "AWS::IAM::Role": 64,
}


def _check_generated_name_length() -> None:
    from moto.cloudformation import parsing

    generate = parsing.generate_resource_name
    if getattr(generate, "_event_fanout_compat", False):
        return
    require_fingerprint(generate, "071e34cb73820599", "generated_name_length")


def _apply_generated_name_length() -> None:
    from moto.cloudformation import parsing

    original = parsing.generate_resource_name
    if getattr(original, "_event_fanout_compat", False):
        return

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        """Moto's name, with its ``<stack>-<logical id>`` prefix cut to the type's limit."""
        name: str = original(resource_type, stack_name, logical_id)
        limit = NAME_LENGTH_LIMITS.get(resource_type)
        return name if limit is None else shorten_generated_name(name, limit)

    generate_resource_name._event_fanout_compat = True  # type: ignore[attr-defined]
    parsing.generate_resource_name = generate_resource_name


def shorten_generated_name(name: str, limit: int) -> str:
    """A generated ``<stack>-<logical id>-<suffix>`` name within ``limit`` characters.

    The random suffix is what makes the name unique, so it is kept whole and the
    ``<stack>-<logical id>`` prefix is cut instead.
    """
    if len(name) <= limit:
        return name
    prefix, _, suffix = name.rpartition("-")
    return f"{prefix[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


# -- sqs_generated_queue_name ------------------------------------------------------------------

#: SQS's limit on queue names.
SQS_QUEUE_NAME_LIMIT = 80
_QUEUE_CREATE_FINGERPRINT = "a051c6777e201cf5"


def _check_sqs_generated_queue_name() -> None:
    from moto.sqs.models import Queue

    _check_create(Queue, _QUEUE_CREATE_FINGERPRINT, "sqs_generated_queue_name")


def _shorten_generated_queue_name(resource_name: str, cloudformation_json: Any) -> str:
    """Shorten a generated queue name keeping its unique suffix (moto keeps the prefix)."""
    if "QueueName" not in resource_properties(cloudformation_json):
        return shorten_generated_name(str(resource_name), SQS_QUEUE_NAME_LIMIT)
    return resource_name


def _apply_sqs_generated_queue_name() -> None:
    from moto.sqs.models import Queue

    _wrap_create(Queue, _shorten_generated_queue_name)


# -- cloudwatch_alarm -------------------------------------------------------------------------

#: Keyword arguments of moto's ``CloudWatchBackend.put_metric_alarm`` the alarm model passes.
_PUT_METRIC_ALARM_PARAMS = (
    "name",
    "namespace",
    "metric_name",
    "comparison_operator",
    "evaluation_periods",
    "period",
    "threshold",
    "statistic",
    "description",
    "dimensions",
    "alarm_actions",
    "datapoints_to_alarm",
    "extended_statistic",
    "ok_actions",
    "insufficient_data_actions",
    "unit",
    "actions_enabled",
    "treat_missing_data",
)


def _require_parameters(function: Callable[..., Any], names: tuple[str, ...], fix: str) -> None:
    missing = set(names) - set(inspect.signature(function).parameters)
    if missing:
        raise MotoCompatError(
            f"moto compatibility fix {fix!r}: {function.__qualname__} no longer takes "
            f"{sorted(missing)} (written against moto {MOTO_VERSION})."
        )


def _check_cloudwatch_alarm() -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    _require_model_absent("AWS::CloudWatch::Alarm", "cloudwatch_alarm")
    _require_parameters(
        CloudWatchBackend.put_metric_alarm, _PUT_METRIC_ALARM_PARAMS, "cloudwatch_alarm"
    )
    _require_parameters(CloudWatchBackend.delete_alarms, ("alarm_names",), "cloudwatch_alarm")


def _apply_cloudwatch_alarm() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::CloudWatch::Alarm" in parsing.get_model_map():
        return

    class CfnCloudWatchAlarm(_ReplacedOnUpdate, CloudFormationModel):
        """``AWS::CloudWatch::Alarm`` through moto's ``put_metric_alarm`` (metric alarms only).

        Metric-math alarms (``Metrics``) are created without their queries: moto cannot
        evaluate them anyway, and the demo only reads their configuration and state.
        """

        _event_fanout_compat = True

        def __init__(self, account_id: str, region_name: str, name: str) -> None:
            self.account_id = account_id
            self.region_name = region_name
            self.name = name

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            if attribute_name == "Arn":
                return f"arn:aws:cloudwatch:{self.region_name}:{self.account_id}:alarm:{self.name}"
            raise UnformattedGetAttTemplateException()

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnCloudWatchAlarm:
            from moto.cloudwatch.models import cloudwatch_backends

            props = resource_properties(cloudformation_json)
            backend = cloudwatch_backends[account_id][region_name]
            backend.put_metric_alarm(
                name=resource_name,
                namespace=str(props.get("Namespace", "")),
                metric_name=str(props.get("MetricName", "")),
                comparison_operator=str(props.get("ComparisonOperator", "")),
                evaluation_periods=int(props.get("EvaluationPeriods", 1)),
                period=int(props.get("Period", 60)),
                threshold=float(props.get("Threshold", 0)),
                statistic=str(props.get("Statistic", "")),
                description=str(props.get("AlarmDescription", "")),
                dimensions=[
                    {"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])
                ],
                alarm_actions=list(props.get("AlarmActions", [])),
                datapoints_to_alarm=(
                    int(props["DatapointsToAlarm"]) if "DatapointsToAlarm" in props else None
                ),
                extended_statistic=props.get("ExtendedStatistic"),
                ok_actions=list(props.get("OKActions", [])),
                insufficient_data_actions=list(props.get("InsufficientDataActions", [])),
                unit=props.get("Unit"),
                actions_enabled=str(props.get("ActionsEnabled", True)).lower() == "true",
                treat_missing_data=props.get("TreatMissingData"),
            )
            return cls(account_id, region_name, resource_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            cls(account_id, region_name, resource_name).delete(account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.cloudwatch.models import cloudwatch_backends

            cloudwatch_backends[account_id][region_name].delete_alarms([self.name])

    _register_model(CfnCloudWatchAlarm)


def resource_properties(resource_json: dict[str, Any]) -> dict[str, Any]:
    """The ``Properties`` of a resolved resource (an empty dict when absent)."""
    props: dict[str, Any] = resource_json.get("Properties") or {}
    return props


#: Strong references to the models defined here: moto finds models through
#: ``CloudFormationModel.__subclasses__()``, which holds them only weakly.
_MODELS: list[type[Any]] = []


def _register_model(model: type[Any]) -> None:
    """Keep ``model`` alive and make moto's cached resource-type map see it."""
    _MODELS.append(model)
    _refresh_model_map()


def _refresh_model_map() -> None:
    """Moto caches its resource-type map; a model class defined now must invalidate it."""
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


# -- sqs_queue_policy, sns_topic_policy ------------------------------------------------------

PolicySetter = Callable[[str, str, str, "str | None"], None]


def _check_sqs_queue_policy() -> None:
    from moto.sqs.models import SQSBackend

    _require_model_absent("AWS::SQS::QueuePolicy", "sqs_queue_policy")
    _require_parameters(SQSBackend.get_queue, ("queue_name",), "sqs_queue_policy")


def _check_sns_topic_policy() -> None:
    from moto.sns.models import SNSBackend

    _require_model_absent("AWS::SNS::TopicPolicy", "sns_topic_policy")
    _require_parameters(
        SNSBackend.set_topic_attribute,
        ("topic_arn", "attribute_name", "attribute_value"),
        "sns_topic_policy",
    )


def _set_queue_policy(
    account_id: str, region_name: str, queue_url: str, policy: str | None
) -> None:
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    try:
        queue = sqs_backends[account_id][region_name].get_queue(
            queue_url.rstrip("/").split("/")[-1]
        )
    except QueueDoesNotExist:
        if policy is None:
            return  # deleting: the queue went first, its policy with it
        raise
    queue.policy = policy


def _set_topic_policy(
    account_id: str, region_name: str, topic_arn: str, policy: str | None
) -> None:
    from moto.sns.models import sns_backends

    if policy is not None:  # on delete the topic keeps its policy until it is deleted itself
        sns_backends[account_id][region_name].set_topic_attribute(topic_arn, "policy", policy)


def _policy_model(resource_type: str, targets_property: str, setter: PolicySetter) -> None:
    """Register a model for a policy resource that sets ``PolicyDocument`` on each target."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if resource_type in parsing.get_model_map():
        return

    class CfnResourcePolicy(_ReplacedOnUpdate, CloudFormationModel):
        """A policy resource (``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy``)."""

        _event_fanout_compat = True

        def __init__(self, name: str, targets: list[str]) -> None:
            self.name = name
            self.targets = targets

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return resource_type

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Id"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnResourcePolicy:
            props = resource_properties(cloudformation_json)
            document = props.get("PolicyDocument", {})
            policy = document if isinstance(document, str) else json.dumps(document)
            targets = [str(target) for target in props.get(targets_property, [])]
            for target in targets:
                setter(account_id, region_name, target, policy)
            return cls(resource_name, targets)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            props = resource_properties(cloudformation_json)
            targets = [str(target) for target in props.get(targets_property, [])]
            cls(resource_name, targets).delete(account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            for target in self.targets:
                setter(account_id, region_name, target, None)

    CfnResourcePolicy.__name__ = CfnResourcePolicy.__qualname__ = "Cfn" + resource_type.replace(
        "AWS::", ""
    ).replace("::", "")
    _register_model(CfnResourcePolicy)


def _apply_sqs_queue_policy() -> None:
    _policy_model("AWS::SQS::QueuePolicy", "Queues", _set_queue_policy)


def _apply_sns_topic_policy() -> None:
    _policy_model("AWS::SNS::TopicPolicy", "Topics", _set_topic_policy)


# -- sqs_fast_clock ----------------------------------------------------------------------------


def _fast_unix_time_millis(dt: Any = None) -> float:
    """Return moto's ``unix_time_millis``, without datetime arithmetic for ``dt=None``."""
    if dt is None:
        return time.time() * 1000.0
    from moto.core.utils import unix_time_millis

    return float(unix_time_millis(dt))


def _check_sqs_fast_clock() -> None:
    from moto.core import utils
    from moto.sqs import models

    require_fingerprint(utils.unix_time_millis, "7a37e1337d02962e", "sqs_fast_clock")
    require_fingerprint(utils.unix_time, "f0576ec9e5f586e5", "sqs_fast_clock")
    current = getattr(models, "unix_time_millis", None)
    if current not in (utils.unix_time_millis, _fast_unix_time_millis):
        raise MotoCompatError(
            "moto compatibility fix 'sqs_fast_clock': moto.sqs.models no longer uses "
            "moto.core.utils.unix_time_millis"
        )


def _apply_sqs_fast_clock() -> None:
    from moto.sqs import models

    setattr(models, "unix_time_millis", _fast_unix_time_millis)  # noqa: B010 - not re-exported


# -- sqs_retention_lookup ----------------------------------------------------------------------


def _retention_from_queue(self: Any, queue_name: str, message: Any) -> bool:
    """Whether ``message`` is still within its queue's retention period (moto's semantics)."""
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_period + message.sent_timestamp / 1000 > time.time())


def _check_sqs_retention_lookup() -> None:
    from moto.sqs.models import SQSBackend

    current = SQSBackend.is_message_valid_based_on_retention_period
    if current is not _retention_from_queue:
        require_fingerprint(current, "cca23b94a5f3af9d", "sqs_retention_lookup")


def _apply_sqs_retention_lookup() -> None:
    from moto.sqs.models import SQSBackend

    SQSBackend.is_message_valid_based_on_retention_period = _retention_from_queue  # type: ignore[method-assign]


# -- events_input_path_cache -------------------------------------------------------------------

_INPUT_PATH_CACHE_SIZE = 1024


def _check_events_input_path_cache() -> None:
    from moto.events.utils import EventTemplateParser

    # The fingerprint pins the ``from jsonpath_ng.ext import parse`` inside the function.
    require_fingerprint(EventTemplateParser.parse, "40a5a46a321811bb", "events_input_path_cache")


def _apply_events_input_path_cache() -> None:
    import jsonpath_ng.ext

    parse = getattr(jsonpath_ng.ext, "parse")  # noqa: B009 - not re-exported for mypy
    if not hasattr(parse, "cache_info"):
        # EventTemplateParser.parse does ``from jsonpath_ng.ext import parse`` on every call, so
        # the module attribute is what it gets. Parsed paths are immutable: safe to share.
        cached = functools.lru_cache(maxsize=_INPUT_PATH_CACHE_SIZE)(parse)
        setattr(jsonpath_ng.ext, "parse", cached)  # noqa: B010 - not re-exported for mypy


# -- sqs_counts_in_one_pass -------------------------------------------------------------------

#: The attributes moto's ``Queue`` computes by scanning its messages, one scan each.
_MESSAGE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)


#: moto's definitions of the counts (and of ``messages``, the first one's scan).
_COUNT_FINGERPRINTS = {
    "messages": "03a531dbcbcf9aee",
    "approximate_number_of_messages": "d357a9506a56d2f8",
    "approximate_number_of_messages_delayed": "c3c1dadb0c42ed5f",
    "approximate_number_of_messages_not_visible": "5dbecc4dda174358",
}


def _message_counts(queue: Any) -> dict[str, int]:
    """The three message counts of ``queue``, from one scan (moto's definitions of each)."""
    ready = delayed = not_visible = 0
    for message in queue._messages:
        visible, is_delayed = message.visible, message.delayed
        ready += visible and not is_delayed
        delayed += is_delayed
        not_visible += not visible
    return dict(zip(_MESSAGE_COUNTS, (ready, delayed, not_visible), strict=True))


def _attributes_counted_once(self: Any) -> dict[str, Any]:
    """Return moto's ``Queue.attributes``, the message counts from one scan instead of three."""
    from moto.core.utils import camelcase_to_underscores

    counts = _message_counts(self)
    result: dict[str, Any] = {}
    for attribute in self.BASE_ATTRIBUTES:
        if attribute in counts:
            result[attribute] = counts[attribute]
        else:
            result[attribute] = getattr(self, camelcase_to_underscores(attribute))
    extra = []
    if self.fifo_queue:
        extra += self.FIFO_ATTRIBUTES
    if self.kms_master_key_id:
        extra += self.KMS_ATTRIBUTES
    for attribute in extra:
        result[attribute] = getattr(self, camelcase_to_underscores(attribute))
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return result


def _check_sqs_counts_in_one_pass() -> None:
    from moto.sqs.models import Queue

    fix = "sqs_counts_in_one_pass"
    attributes = Queue.attributes.fget  # type: ignore[attr-defined]
    if attributes is not _attributes_counted_once:
        require_fingerprint(attributes, "40cb990b121628d5", fix)
    # What the three counts mean (the scans the one pass replaces).
    for name, expected in _COUNT_FINGERPRINTS.items():
        require_fingerprint(getattr(Queue, name).fget, expected, fix)


def _apply_sqs_counts_in_one_pass() -> None:
    from moto.sqs.models import Queue

    Queue.attributes = property(_attributes_counted_once)  # type: ignore[assignment,method-assign]


# -- server_backend_lookup --------------------------------------------------------------------


def _check_server_backend_lookup() -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    fix = "server_backend_lookup"
    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        require_fingerprint(backends.list_of_moto_modules, "4f741a10b06500e8", fix)
    # The caller: it only tests membership, so a cached tuple serves it.
    require_fingerprint(DomainDispatcherApplication.get_backend_for_host, "1f41972c1e4e660f", fix)


def _apply_server_backend_lookup() -> None:
    from moto import backends

    listing = backends.list_of_moto_modules
    if not hasattr(listing, "cache_info"):
        # moto's package directory does not change while the server runs.
        cached = functools.lru_cache(maxsize=1)(lambda: tuple(listing()))
        setattr(backends, "list_of_moto_modules", cached)  # noqa: B010 - not re-exported


# -- sqs_message_move_task --------------------------------------------------------------------


@dataclass
class _MoveTask:
    handle: str
    source_arn: str
    destination_arn: str
    moved: int
    started_ms: int


_MOVE_TASKS: dict[str, list[_MoveTask]] = {}
_MOVE_LOCK = threading.Lock()


def _check_sqs_message_move_task() -> None:
    import botocore.session
    from moto.sqs.models import Queue
    from moto.sqs.responses import SQSResponse

    for method in ("start_message_move_task", "list_message_move_tasks"):
        existing = getattr(SQSResponse, method, None)
        if existing is not None and not getattr(existing, "_event_fanout_compat", False):
            raise MotoCompatError(
                f"moto compatibility fix 'sqs_message_move_task': moto now implements "
                f"SQSResponse.{method}; drop this fix."
            )
    operations = botocore.session.get_session().get_service_model("sqs").operation_names
    for operation in ("StartMessageMoveTask", "ListMessageMoveTasks"):
        if operation not in operations:
            raise MotoCompatError(f"botocore's SQS model has no {operation}")
    init_source = inspect.getsource(Queue)
    for attribute in ("_messages", "_messages_lock", "_pending_messages", "redrive_policy"):
        if f"self.{attribute}" not in init_source:
            raise MotoCompatError(
                f"moto compatibility fix 'sqs_message_move_task': moto's SQS Queue has no "
                f"{attribute} (written against moto {MOTO_VERSION})."
            )


def move_messages(
    backend: Any, source_arn: str, destination_arn: str | None
) -> tuple[str, int, str]:
    """Move every message of the DLQ ``source_arn`` to ``destination_arn`` (or its source).

    Runs synchronously (the task is COMPLETED when the call returns). Without a destination,
    the DLQ's source queue is the one queue whose redrive policy targets it, as in the common
    one-source case; several sources need an explicit ``DestinationArn``.

    Returns
    -------
    tuple[str, int, str]
        The task handle, the number of messages moved and the destination ARN.

    """
    from moto.sqs.exceptions import QueueDoesNotExist, SQSException

    queues = {queue.queue_arn: queue for queue in backend.queues.values()}
    source = queues.get(source_arn)
    if source is None:
        raise QueueDoesNotExist()
    if destination_arn is None:
        sources = [
            queue
            for queue in queues.values()
            if queue.redrive_policy
            and queue.redrive_policy.get("deadLetterTargetArn") == source_arn
        ]
        if len(sources) != 1:
            raise SQSException(
                "InvalidParameterValue",
                f"{source_arn} is the dead-letter queue of {len(sources)} queues; "
                "pass DestinationArn",
            )
        destination = sources[0]
    else:
        destination = queues.get(destination_arn)
        if destination is None:
            raise QueueDoesNotExist()
    with source._messages_lock:
        messages = list(source._messages)
        source._messages = []
        source._pending_messages.clear()
    for message in messages:
        backend.send_message(
            destination.name,
            message.body,
            message_attributes=message.message_attributes or None,
            group_id=message.group_id,
            deduplication_id=message.deduplication_id,
        )
    handle = str(uuid.uuid4())
    task = _MoveTask(handle, source_arn, destination.queue_arn, len(messages), _now_ms())
    with _MOVE_LOCK:
        _MOVE_TASKS.setdefault(source_arn, []).insert(0, task)
    return handle, len(messages), destination.queue_arn


def _now_ms() -> int:
    return int(time.time() * 1000)


def _apply_sqs_message_move_task() -> None:
    from moto.core.responses import ActionResult
    from moto.sqs.responses import SQSResponse

    if getattr(getattr(SQSResponse, "start_message_move_task", None), "_event_fanout_compat", 0):
        return

    def start_message_move_task(self: Any) -> Any:
        """``StartMessageMoveTask``: move a DLQ's messages back (synchronously)."""
        handle, _, _ = move_messages(
            self.sqs_backend, self._get_param("SourceArn"), self._get_param("DestinationArn")
        )
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self: Any) -> Any:
        """``ListMessageMoveTasks``: the tasks started on this DLQ, newest first."""
        source_arn = self._get_param("SourceArn")
        max_results = int(self._get_param("MaxResults") or 1)
        with _MOVE_LOCK:
            tasks = list(_MOVE_TASKS.get(source_arn, []))[:max_results]
        results = [
            {
                "TaskHandle": task.handle,
                "Status": "COMPLETED",
                "SourceArn": task.source_arn,
                "DestinationArn": task.destination_arn,
                "ApproximateNumberOfMessagesMoved": task.moved,
                "ApproximateNumberOfMessagesToMove": task.moved,
                "StartedTimestamp": task.started_ms,
            }
            for task in tasks
        ]
        return ActionResult({"Results": results})

    for function in (start_message_move_task, list_message_move_tasks):
        function._event_fanout_compat = True  # type: ignore[attr-defined]
        setattr(SQSResponse, function.__name__, function)


# -- the registry -----------------------------------------------------------------------------

FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "event_bus_ref",
        "Ref to an AWS::Events::EventBus resolves to a Python object, so rules on it fail",
        _check_event_bus_ref,
        _apply_event_bus_ref,
    ),
    CompatFix(
        "archive_event_pattern",
        "AWS::Events::Archive passes its EventPattern object on unserialized",
        _check_archive_event_pattern,
        _apply_archive_event_pattern,
    ),
    CompatFix(
        "event_account_field",
        "events delivered to targets lack the envelope's account field",
        _check_event_account_field,
        _apply_event_account_field,
    ),
    CompatFix(
        "generated_name_length",
        "generated physical names exceed the resource's length limit (Archive: 48)",
        _check_generated_name_length,
        _apply_generated_name_length,
    ),
    CompatFix(
        "sqs_generated_queue_name",
        "generated queue names of a long-named (nested) stack collapse into one queue",
        _check_sqs_generated_queue_name,
        _apply_sqs_generated_queue_name,
    ),
    CompatFix(
        "cloudwatch_alarm",
        "AWS::CloudWatch::Alarm is not deployed (no CloudFormation model)",
        _check_cloudwatch_alarm,
        _apply_cloudwatch_alarm,
    ),
    CompatFix(
        "sqs_queue_policy",
        "AWS::SQS::QueuePolicy is not deployed (no CloudFormation model)",
        _check_sqs_queue_policy,
        _apply_sqs_queue_policy,
    ),
    CompatFix(
        "sns_topic_policy",
        "AWS::SNS::TopicPolicy is not deployed (no CloudFormation model)",
        _check_sns_topic_policy,
        _apply_sns_topic_policy,
    ),
    CompatFix(
        "sqs_fast_clock",
        "ReceiveMessage costs about 1 ms per queued message (datetime-based clock)",
        _check_sqs_fast_clock,
        _apply_sqs_fast_clock,
    ),
    CompatFix(
        "sqs_retention_lookup",
        "ReceiveMessage is quadratic in queue depth (full attribute map per message)",
        _check_sqs_retention_lookup,
        _apply_sqs_retention_lookup,
    ),
    CompatFix(
        "events_input_path_cache",
        "PutEvents builds a JSONPath parser per input path per delivery",
        _check_events_input_path_cache,
        _apply_events_input_path_cache,
    ),
    CompatFix(
        "sqs_counts_in_one_pass",
        "SendMessage and GetQueueAttributes scan every queued message three times",
        _check_sqs_counts_in_one_pass,
        _apply_sqs_counts_in_one_pass,
    ),
    CompatFix(
        "server_backend_lookup",
        "every request lists moto's package directory to find its service",
        _check_server_backend_lookup,
        _apply_server_backend_lookup,
    ),
    CompatFix(
        "sqs_message_move_task",
        "StartMessageMoveTask / ListMessageMoveTasks (DLQ redrive) are not implemented",
        _check_sqs_message_move_task,
        _apply_sqs_message_move_task,
    ),
)


def check_moto_version() -> None:
    """Raise :class:`MotoCompatError` unless the installed moto is :data:`MOTO_VERSION`."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise MotoCompatError(
            f"event_fanout.local.moto_compat was written against moto {MOTO_VERSION}, found "
            f"{moto.__version__}. Install moto[server]=={MOTO_VERSION} (the `local` extra pins "
            "it), or re-verify every fix in this module against the new version."
        )


def apply_all() -> list[str]:
    """Check every fix against the installed moto, then apply them all; return their names.

    All checks run before any patch, so a mismatch leaves moto untouched.
    """
    check_moto_version()
    for fix in FIXES:
        fix.check()
    for fix in FIXES:
        fix.apply()
    return [fix.name for fix in FIXES]
