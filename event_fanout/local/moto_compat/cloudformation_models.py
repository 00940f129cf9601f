"""CloudFormation models moto lacks (``cloudwatch_alarm``, ``sqs_queue_policy``, ...).

Without them a stack with ``AWS::CloudWatch::Alarm``, ``AWS::CloudWatch::CompositeAlarm``,
``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy``, ``AWS::Events::EventBusPolicy``,
``AWS::Logs::QueryDefinition`` or ``AWS::EventSchemas::Registry`` / ``::Schema`` resources
deploys COMPLETE with those resources missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from event_fanout.local.moto_compat.cloudformation_names import resource_properties
from event_fanout.local.moto_compat.guards import (
    CompatFix,
    MotoCompatError,
    require_model_absent,
    require_parameters,
)


class AddedModel:
    """What the models this module adds share, mixed in before moto's ``CloudFormationModel``.

    Marked as ours (the guards recognise them), the name is the physical id, an update
    replaces, and creation is immediate.
    ``CloudFormationModel`` is imported lazily, inside the fixes.
    """

    _event_fanout_compat = True
    #: The CloudFormation type the model deploys.
    resource_type: str
    #: The property that names the resource ("" when CloudFormation generates the name).
    name_property: str = ""
    #: The attributes ``Fn::GetAtt`` may read; each instance fills :attr:`attribute_values`.
    attributes: tuple[str, ...]
    attribute_values: dict[str, str]
    name: str

    @classmethod
    def cloudformation_type(cls) -> str:
        """The type moto looks the model up by."""
        return cls.resource_type

    @classmethod
    def cloudformation_name_type(cls) -> str:
        """The naming property, for moto's generated names."""
        return cls.name_property

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        """Whether ``Fn::GetAtt`` may read ``attr``."""
        return attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> str:
        """``Fn::GetAtt`` of one of :attr:`attributes`; moto's error for any other."""
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name in self.attributes:
            return self.attribute_values[attribute_name]
        raise UnformattedGetAttTemplateException()

    @property
    def physical_resource_id(self) -> str:
        """The resource's name: what ``Ref`` returns for both the alarm and the policies."""
        return self.name

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """Delete the old resource and create the new one (what CloudFormation does)."""
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def is_created(self) -> bool:
        """Created as soon as moto's backend call returns: nothing to wait for."""
        return True


class _AlarmModel(AddedModel):
    """What the metric and composite alarm models share: the name, the ARN, the deletion."""

    name_property = "AlarmName"
    attributes = ("Arn",)

    def __init__(self, account_id: str, region_name: str, name: str) -> None:
        self.name = name
        self.attribute_values = {
            "Arn": f"arn:aws:cloudwatch:{region_name}:{account_id}:alarm:{name}"
        }

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """Delete the alarm of the stack being deleted."""
        cls(account_id, region_name, resource_name).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Delete it from moto's CloudWatch."""
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


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


def _check_cloudwatch_alarm() -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    require_model_absent("AWS::CloudWatch::Alarm", "cloudwatch_alarm")
    require_parameters(
        CloudWatchBackend.put_metric_alarm, _PUT_METRIC_ALARM_PARAMS, "cloudwatch_alarm"
    )
    require_parameters(CloudWatchBackend.delete_alarms, ("alarm_names",), "cloudwatch_alarm")


def _apply_cloudwatch_alarm() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::CloudWatch::Alarm" in parsing.get_model_map():
        return

    class CfnCloudWatchAlarm(_AlarmModel, CloudFormationModel):
        """``AWS::CloudWatch::Alarm`` through moto's ``put_metric_alarm`` (metric alarms only).

        Metric-math alarms (``Metrics``) are created without their queries: moto cannot
        evaluate them anyway, and the demo only reads their configuration and state.
        """

        resource_type = "AWS::CloudWatch::Alarm"

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

    _register_model(CfnCloudWatchAlarm)


# -- cloudwatch_composite_alarm ---------------------------------------------------------------


def _check_cloudwatch_composite_alarm() -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    require_model_absent("AWS::CloudWatch::CompositeAlarm", "cloudwatch_composite_alarm")
    # moto's PutCompositeAlarm is its put_metric_alarm with the rule (responses.py).
    require_parameters(
        CloudWatchBackend.put_metric_alarm,
        ("name", "description", "alarm_actions", "ok_actions", "actions_enabled", "rule"),
        "cloudwatch_composite_alarm",
    )


def _apply_cloudwatch_composite_alarm() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::CloudWatch::CompositeAlarm" in parsing.get_model_map():
        return

    class CfnCompositeAlarm(_AlarmModel, CloudFormationModel):
        """``AWS::CloudWatch::CompositeAlarm``, as moto's ``PutCompositeAlarm`` stores one.

        Its rule is kept as written (the consumer alarms' ARNs resolved); moto evaluates no
        alarm, so its state is only what ``SetAlarmState`` sets.
        """

        resource_type = "AWS::CloudWatch::CompositeAlarm"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnCompositeAlarm:
            from moto.cloudwatch.models import cloudwatch_backends

            props = resource_properties(cloudformation_json)
            cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=resource_name,
                namespace="",
                metric_name="",
                comparison_operator="",
                evaluation_periods=0,
                period=0,
                threshold=0.0,
                statistic="",
                description=str(props.get("AlarmDescription", "")),
                dimensions=[],
                alarm_actions=list(props.get("AlarmActions", [])),
                ok_actions=list(props.get("OKActions", [])),
                insufficient_data_actions=list(props.get("InsufficientDataActions", [])),
                actions_enabled=str(props.get("ActionsEnabled", True)).lower() == "true",
                rule=str(props["AlarmRule"]),
            )
            return cls(account_id, region_name, resource_name)

    _register_model(CfnCompositeAlarm)


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

    require_model_absent("AWS::SQS::QueuePolicy", "sqs_queue_policy")
    require_parameters(SQSBackend.get_queue, ("queue_name",), "sqs_queue_policy")


def _check_sns_topic_policy() -> None:
    from moto.sns.models import SNSBackend

    require_model_absent("AWS::SNS::TopicPolicy", "sns_topic_policy")
    require_parameters(
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


def _policy_model(policy_type: str, targets_property: str, setter: PolicySetter) -> None:
    """Register a model for a policy resource that sets ``PolicyDocument`` on each target."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if policy_type in parsing.get_model_map():
        return

    class CfnResourcePolicy(AddedModel, CloudFormationModel):
        """A policy resource (``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy``)."""

        resource_type = policy_type
        attributes = ("Id",)

        def __init__(self, name: str, targets: list[str]) -> None:
            self.name = name
            self.targets = targets
            self.attribute_values = {"Id": name}

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

    CfnResourcePolicy.__name__ = CfnResourcePolicy.__qualname__ = "Cfn" + policy_type.replace(
        "AWS::", ""
    ).replace("::", "")
    _register_model(CfnResourcePolicy)


def _apply_sqs_queue_policy() -> None:
    _policy_model("AWS::SQS::QueuePolicy", "Queues", _set_queue_policy)


def _apply_sns_topic_policy() -> None:
    _policy_model("AWS::SNS::TopicPolicy", "Topics", _set_topic_policy)


#: The fixes of this module, in the order they are checked and applied.
# -- logs_query_definition -------------------------------------------------------------------

#: Query definitions deployed into the emulator (moto has none): id -> properties.
QUERY_DEFINITIONS: dict[str, dict[str, Any]] = {}


def _check_logs_query_definition() -> None:
    from moto.logs.models import LogsBackend

    require_model_absent("AWS::Logs::QueryDefinition", "logs_query_definition")
    if hasattr(LogsBackend, "put_query_definition"):
        raise MotoCompatError(
            "moto compatibility fix 'logs_query_definition': moto now implements query "
            "definitions; deploy them through its backend (or drop the fix)"
        )


def _apply_logs_query_definition() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::Logs::QueryDefinition" in parsing.get_model_map():
        return

    class CfnQueryDefinition(AddedModel, CloudFormationModel):
        """``AWS::Logs::QueryDefinition``, recorded (moto's Logs has no query definitions)."""

        resource_type = "AWS::Logs::QueryDefinition"
        attributes = ("QueryDefinitionId",)

        def __init__(self, name: str) -> None:
            self.name = name
            self.attribute_values = {"QueryDefinitionId": name}

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnQueryDefinition:
            QUERY_DEFINITIONS[resource_name] = dict(resource_properties(cloudformation_json))
            return cls(resource_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            cls(resource_name).delete(account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            QUERY_DEFINITIONS.pop(self.name, None)

    _register_model(CfnQueryDefinition)


# -- eventschemas_registry ----------------------------------------------------------------------

#: What the emulator's ``AWS::EventSchemas::Registry`` and ``::Schema`` resources hold: registry
#: name -> {"description", "schemas": {schema name -> {"type", "content", "description"}}}.
SCHEMA_REGISTRIES: dict[str, dict[str, Any]] = {}


def _check_eventschemas_registry() -> None:
    from moto.backends import list_of_moto_modules

    for resource_type in ("AWS::EventSchemas::Registry", "AWS::EventSchemas::Schema"):
        require_model_absent(resource_type, "eventschemas_registry")
    if "schemas" in set(list_of_moto_modules()):
        raise MotoCompatError(
            "moto compatibility fix 'eventschemas_registry': moto now implements EventBridge "
            "Schemas; deploy registries through its backend (or drop the fix)"
        )


def _apply_eventschemas_registry() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::EventSchemas::Registry" in parsing.get_model_map():
        return

    class CfnSchemaRegistry(AddedModel, CloudFormationModel):
        """``AWS::EventSchemas::Registry``, recorded (moto has no EventBridge Schemas)."""

        resource_type = "AWS::EventSchemas::Registry"
        name_property = "RegistryName"
        attributes = ("RegistryArn", "RegistryName")

        def __init__(self, account_id: str, region_name: str, name: str) -> None:
            self.arn = f"arn:aws:schemas:{region_name}:{account_id}:registry/{name}"
            self.name = name
            self.attribute_values = {"RegistryArn": self.arn, "RegistryName": name}

        @property
        def physical_resource_id(self) -> str:
            """``Ref`` of a registry is its ARN."""
            return self.arn

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnSchemaRegistry:
            props = resource_properties(cloudformation_json)
            name = str(props.get("RegistryName") or resource_name)
            SCHEMA_REGISTRIES.setdefault(name, {"schemas": {}})["description"] = props.get(
                "Description", ""
            )
            return cls(account_id, region_name, name)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            SCHEMA_REGISTRIES.pop(resource_name, None)

        def delete(self, account_id: str, region_name: str) -> None:
            SCHEMA_REGISTRIES.pop(self.name, None)

    class CfnSchema(AddedModel, CloudFormationModel):
        """``AWS::EventSchemas::Schema``, recorded in its registry (content kept as sent)."""

        resource_type = "AWS::EventSchemas::Schema"
        name_property = "SchemaName"
        attributes = ("SchemaArn",)

        def __init__(self, account_id: str, region_name: str, registry: str, name: str) -> None:
            self.arn = f"arn:aws:schemas:{region_name}:{account_id}:schema/{registry}/{name}"
            self.registry = registry
            self.name = name
            self.attribute_values = {"SchemaArn": self.arn}

        @property
        def physical_resource_id(self) -> str:
            """``Ref`` of a schema is its ARN."""
            return self.arn

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnSchema:
            props = resource_properties(cloudformation_json)
            registry = str(props["RegistryName"])
            name = str(props.get("SchemaName") or resource_name)
            SCHEMA_REGISTRIES.setdefault(registry, {"schemas": {}})["schemas"][name] = {
                "type": props.get("Type"),
                "content": props.get("Content"),
                "description": props.get("Description", ""),
            }
            return cls(account_id, region_name, registry, name)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            props = resource_properties(cloudformation_json)
            registry = SCHEMA_REGISTRIES.get(str(props.get("RegistryName")), {})
            registry.get("schemas", {}).pop(str(props.get("SchemaName") or resource_name), None)

        def delete(self, account_id: str, region_name: str) -> None:
            SCHEMA_REGISTRIES.get(self.registry, {}).get("schemas", {}).pop(self.name, None)

    _register_model(CfnSchemaRegistry)
    _register_model(CfnSchema)


# -- events_bus_policy -------------------------------------------------------------------------


def _check_events_bus_policy() -> None:
    from moto.events.models import EventsBackend

    require_model_absent("AWS::Events::EventBusPolicy", "events_bus_policy")
    require_parameters(
        EventsBackend.put_permission,
        ("event_bus_name", "action", "principal", "statement_id", "condition", "policy"),
        "events_bus_policy",
    )
    require_parameters(
        EventsBackend.remove_permission,
        ("event_bus_name", "statement_id", "remove_all_permissions"),
        "events_bus_policy",
    )


def _apply_events_bus_policy() -> None:
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::Events::EventBusPolicy" in parsing.get_model_map():
        return

    class CfnEventBusPolicy(AddedModel, CloudFormationModel):
        """``AWS::Events::EventBusPolicy``'s ``Statement`` form, through moto's PutPermission.

        moto stores the statement on the bus (``DescribeEventBus`` shows it) and enforces none:
        an emulator deploys the policy a team reviews, it does not prove it.
        """

        resource_type = "AWS::Events::EventBusPolicy"
        attributes = ("Id",)

        def __init__(self, account_id: str, region_name: str, bus: str, name: str) -> None:
            self.bus = bus
            self.name = name
            self.attribute_values = {"Id": name}

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnEventBusPolicy:
            from moto.events.models import events_backends

            props = resource_properties(cloudformation_json)
            bus = str(props.get("EventBusName") or "default")
            statement_id = str(props["StatementId"])
            statement = {**props["Statement"], "Sid": statement_id}
            events_backends[account_id][region_name].put_permission(
                event_bus_name=bus,
                action="",
                principal="",
                statement_id=statement_id,
                condition={},
                policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            )
            return cls(account_id, region_name, bus, statement_id)

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            props = resource_properties(cloudformation_json)
            bus = str(props.get("EventBusName") or "default")
            cls(account_id, region_name, bus, str(props["StatementId"])).delete(
                account_id, region_name
            )

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.events.models import events_backends

            try:
                events_backends[account_id][region_name].remove_permission(
                    event_bus_name=self.bus,
                    statement_id=self.name,
                    remove_all_permissions=False,
                )
            except Exception:  # the bus went first: nothing left to remove
                return

    _register_model(CfnEventBusPolicy)


FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "cloudwatch_alarm",
        "AWS::CloudWatch::Alarm is not deployed (no CloudFormation model)",
        _check_cloudwatch_alarm,
        _apply_cloudwatch_alarm,
    ),
    CompatFix(
        "eventschemas_registry",
        "AWS::EventSchemas::Registry and ::Schema are not deployed (no CloudFormation model, "
        "no Schemas service)",
        _check_eventschemas_registry,
        _apply_eventschemas_registry,
    ),
    CompatFix(
        "events_bus_policy",
        "AWS::Events::EventBusPolicy is not deployed (no CloudFormation model)",
        _check_events_bus_policy,
        _apply_events_bus_policy,
    ),
    CompatFix(
        "cloudwatch_composite_alarm",
        "AWS::CloudWatch::CompositeAlarm is not deployed (no CloudFormation model)",
        _check_cloudwatch_composite_alarm,
        _apply_cloudwatch_composite_alarm,
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
        "logs_query_definition",
        "AWS::Logs::QueryDefinition is not deployed (no CloudFormation model, no API)",
        _check_logs_query_definition,
        _apply_logs_query_definition,
    ),
)
