"""What moto lacks or gets wrong with the fan-out's resources, and the fix for each.

The local emulator is moto's server; the real CDK CLI deploys the unchanged reference template
into it. Nineteen things stand in the way with moto 5.2.5 (the version every fix here was written
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
``cloudwatch_composite_alarm``
    ``AWS::CloudWatch::CompositeAlarm`` has no CloudFormation model (moto's CloudWatch stores
    composite alarms, through ``PutCompositeAlarm``): skipped, stack still COMPLETE, so an app
    with ``trouble_alarm=True`` failed ``local deploy``'s verification.
``sqs_queue_policy``
    ``AWS::SQS::QueuePolicy`` has no CloudFormation model: skipped, stack still COMPLETE.
``sns_topic_policy``
    ``AWS::SNS::TopicPolicy`` has no CloudFormation model: skipped, stack still COMPLETE.
``logs_query_definition``
    ``AWS::Logs::QueryDefinition`` has no CloudFormation model (nor does moto's Logs have query
    definitions): skipped, stack still COMPLETE. Recorded by the model instead.
``events_bus_policy``
    ``AWS::Events::EventBusPolicy`` has no CloudFormation model: skipped, stack still COMPLETE.
    Put through moto's ``PutPermission`` (stored on the bus, not enforced), so a fan-out that
    admits a central bus of another account (``receive_from``) deploys and is verified.
``eventschemas_registry``
    ``AWS::EventSchemas::Registry`` and ``::Schema`` have no CloudFormation model, and moto has no
    EventBridge Schemas service: skipped, stack still COMPLETE. Recorded by the models instead
    (``cloudformation_models.SCHEMA_REGISTRIES``), so the schema registry a fan-out publishes
    its event types to deploys and is verified.
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
``fifo_redelivery_order``
    After a receive times out (or its visibility is reset), the next receive of a FIFO group
    skips the head of the group and returns later messages first: moto frees a timed-out
    message only when its receive loop reaches it, so the group still looks in flight until
    then. A poison record overtaken this way can be dead-lettered together with the healthy
    records behind it.
``update_previous_parameters``
    A stack update keeping a defaulted parameter's previous value (``BootstrapVersion``, which
    the CDK CLI passes on every update) fails with a ``KeyError``: a second ``cdk deploy``
    cannot update the stack.
``nested_stack_update``
    A changed nested stack (a fan-out's shard) is deleted and created again, losing its
    queues, messages and tables; it is updated in place instead.
``replay_filter_and_window``
    ``StartReplay`` sends every archived event to every rule of the bus under a new event id:
    it ignores ``Destination.FilterArns`` and the ``EventStartTime``/``EventEndTime`` window.
    EventBridge replays the window's events, to the filter's rules only, with their own ids.

Every fix is applied inside the moto server process (``python -m event_fanout.local.server``),
never to the template: what is deployed is exactly what ``cdk deploy`` sends to real AWS.

Each fix first *checks* that moto still has the exact shape it was written against (the source
of the patched function, the absence of the missing model or operation) and raises
:class:`MotoCompatError` otherwise, so a moto upgrade fails loudly at server start instead of
silently deploying half a stack. After an upgrade: re-run ``pytest tests/local``, drop the fixes
moto no longer needs, and update :data:`MOTO_VERSION` and the recorded fingerprints.

The fixes live in modules by kind: :mod:`.cloudformation_names`, :mod:`.delivered_events`,
:mod:`.cloudformation_models`, :mod:`.request_costs`, :mod:`.message_move_task`,
:mod:`.fifo_order`, :mod:`.stack_updates` and :mod:`.replay_window`; the
guards they share in :mod:`.guards`.
"""

from __future__ import annotations

from event_fanout.local.moto_compat import (
    cloudformation_models,
    cloudformation_names,
    delivered_events,
    fifo_order,
    message_move_task,
    replay_window,
    request_costs,
    stack_updates,
)
from event_fanout.local.moto_compat.cloudformation_names import (
    generated_queue_name,
    resource_properties,
    shorten_generated_name,
)
from event_fanout.local.moto_compat.guards import (
    MOTO_VERSION,
    CompatFix,
    MotoCompatError,
    fingerprint,
    require_fingerprint,
)
from event_fanout.local.moto_compat.message_move_task import move_messages

__all__ = [
    "FIXES",
    "MOTO_VERSION",
    "CompatFix",
    "MotoCompatError",
    "apply_all",
    "check_moto_version",
    "fingerprint",
    "generated_queue_name",
    "move_messages",
    "require_fingerprint",
    "resource_properties",
    "shorten_generated_name",
]

#: Every fix, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    *cloudformation_names.FIXES,
    *delivered_events.FIXES,
    *cloudformation_models.FIXES,
    *request_costs.FIXES,
    *message_move_task.FIXES,
    *fifo_order.FIXES,
    *stack_updates.FIXES,
    *replay_window.FIXES,
)


def check_moto_version() -> None:
    """Raise :class:`MotoCompatError` unless the installed moto is :data:`MOTO_VERSION`."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise MotoCompatError(
            f"event_fanout.local.moto_compat was written against moto {MOTO_VERSION}, found "
            f"{moto.__version__}. Install moto[server]=={MOTO_VERSION} (the `local` extra pins "
            "it), or re-verify every fix in this package against the new version."
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
