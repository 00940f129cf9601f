"""Fixes that let ``cdk deploy`` update a deployed stack in place (``update_previous_parameters``).

A second ``cdk deploy`` updates the stack (``--method direct``: ``UpdateStack``), keeping the
queues, their messages and the idempotency records of every consumer the change leaves alone.
moto 5.2.5 fails the update before it starts: the CDK CLI passes ``BootstrapVersion`` with
``UsePreviousValue``, and moto looks the previous value up among the parameters *given* at
create time, where a parameter left to its default (an SSM parameter type) is not, so the
update is a ``KeyError`` (a 500 the CLI reports as an XML parse error). The fix takes a
parameter with no given previous value from the template again, as CloudFormation does.

``nested_stack_update``: moto updates an ``AWS::CloudFormation::Stack`` resource (a nested
stack, e.g. a fan-out's shard) by deleting the nested stack and creating it again, so every
queue, message and table in it is lost whenever its template or parameters change. The fix
updates the nested stack in place with its new template and parameters, as CloudFormation
does.
"""

from __future__ import annotations

import functools
from typing import Any

from event_fanout.local.moto_compat.guards import CompatFix, require_fingerprint

_RESOLVE_FINGERPRINT = "02438a8e37001724"
_NESTED_UPDATE_FINGERPRINT = "8e22cbcd61b3b9e9"


def _check() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    require_fingerprint(
        CloudFormationBackend._resolve_update_parameters,
        _RESOLVE_FINGERPRINT,
        "update_previous_parameters",
    )


def _apply() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend._resolve_update_parameters

    @functools.wraps(original)
    def resolve_update_parameters(
        self: Any, instance: Any, incoming_params: list[dict[str, str]]
    ) -> dict[str, str]:
        known = [
            parameter
            for parameter in incoming_params
            if not parameter.get("UsePreviousValue")
            or parameter["ParameterKey"] in instance.parameters
        ]
        return original(self, instance, known)

    resolve_update_parameters._event_fanout_compat = True  # type: ignore[attr-defined]
    CloudFormationBackend._resolve_update_parameters = resolve_update_parameters  # type: ignore[method-assign]


def _check_nested() -> None:
    from moto.cloudformation.models import Stack

    require_fingerprint(
        Stack.update_from_cloudformation_json,
        _NESTED_UPDATE_FINGERPRINT,
        "nested_stack_update",
    )


def _apply_nested() -> None:
    from moto.cloudformation.models import Stack, cloudformation_backends
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.utilities.utils import get_partition

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        backend = cloudformation_backends[account_id][region_name]
        properties = cloudformation_json["Properties"]
        template = get_stack_from_s3_url(
            properties["TemplateURL"], account_id=account_id, partition=get_partition(region_name)
        )
        parameters = [
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in properties.get("Parameters", {}).items()
        ]
        return backend.update_stack(
            name=original_resource.name,
            template=template,
            role_arn=None,
            parameters=parameters,
            tags=None,
        )

    update_from_cloudformation_json._event_fanout_compat = True  # type: ignore[attr-defined]
    Stack.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[method-assign,assignment]


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "update_previous_parameters",
        "a stack update keeping a defaulted parameter's previous value fails with a KeyError",
        _check,
        _apply,
    ),
    CompatFix(
        "nested_stack_update",
        "updating a nested stack deletes it and creates it again, losing its queues and tables",
        _check_nested,
        _apply_nested,
    ),
)
