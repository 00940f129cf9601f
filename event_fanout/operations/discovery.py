"""Find a deployed fan-out's resources from its stacks: the manifest entries, made physical.

Each template of a stack that uses the constructs carries manifest entries (see
:mod:`event_fanout.constructs.manifest`): one per fan-out, one per consumer, naming their
resources by logical id. Discovery reads every template of the stack and of its nested stacks
(``GetTemplate``), maps the logical ids to physical ids (``ListStackResources``) and returns
plain records with what the operating tools call: queue URLs and ARNs, rule, function, table
and alarm names. Two calls per stack, whatever the number of consumers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from event_fanout.local.deployed_stacks import deployed_stack_tree
from event_fanout.local.session import AwsSession
from event_fanout.manifest_format import MANIFEST_KEY, MANIFEST_VERSION

__all__ = [
    "Consumer",
    "DiscoveryError",
    "Fanout",
    "consumers_by_rule",
    "deployed_templates",
    "discover",
    "find_consumer",
]


class DiscoveryError(RuntimeError):
    """A stack, fan-out or consumer is not there, or its manifest is not one this tool reads."""


@dataclass(frozen=True)
class Queue:
    """An SQS queue: its URL (what SQS calls take) and ARN (what move tasks and rules take)."""

    url: str
    arn: str

    @property
    def name(self) -> str:
        """The queue's name (the last part of its ARN)."""
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Consumer:
    """One deployed consumer and its resources."""

    name: str
    path: str
    stack: str
    fanout: str | None
    metrics_service: str
    fifo: bool
    queue: Queue
    dead_letter_queue: Queue
    rule_name: str | None
    rule_arn: str | None
    #: The bus the consumer's rule is on (its fan-out's).
    bus_name: str | None
    function_name: str | None
    idempotency_table: str | None
    #: Alarm attribute (``dead_letter_queue_depth``, ...) -> alarm name.
    alarms: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fanout:
    """One deployed fan-out: its bus, archive, undeliverable-events queue and consumers."""

    name: str
    path: str
    stack: str
    bus_name: str | None
    bus_arn: str | None
    archive_name: str | None
    archive_arn: str | None
    undeliverable_events_queue: Queue
    undeliverable_events_alarm: str | None
    consumers: list[Consumer] = field(default_factory=list)


@dataclass(frozen=True)
class _StackContext:
    """What turns one template's logical ids into physical ids and ARNs."""

    name: str
    partition: str
    region: str
    account: str
    physical: Mapping[str, str]

    def resolve(self, ref: Any) -> str | None:
        """A reference's physical id: its logical id's, or the name it carries."""
        if not isinstance(ref, Mapping):
            return None
        if "logicalId" in ref:
            return self.physical.get(str(ref["logicalId"])) or None
        name = ref.get("name")
        return None if name is None else str(name)

    def queue(self, ref: Any) -> Queue | None:
        url = self.resolve(ref)
        if url is None:
            return None
        name = url.rstrip("/").rsplit("/", 1)[-1]
        account = url.rstrip("/").rsplit("/", 2)[-2] if url.count("/") >= 3 else self.account
        return Queue(url, f"arn:{self.partition}:sqs:{self.region}:{account}:{name}")

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


def discover(session: AwsSession, stack_names: Iterable[str]) -> list[Fanout]:
    """Every fan-out in the named stacks (nested stacks included), with its consumers.

    A standalone consumer (outside a fan-out) is returned under a fan-out record of its own
    name with no bus. Raises :class:`DiscoveryError` when a stack does not exist.
    """
    cloudformation = session.client("cloudformation")
    fanouts: dict[str, Fanout] = {}
    consumers: list[Consumer] = []
    for stack_name in stack_names:
        try:
            tree = deployed_stack_tree(cloudformation, stack_name)
        except cloudformation.exceptions.ClientError as error:
            raise DiscoveryError(f"stack {stack_name}: {error}") from error
        for nested, resources in tree.items():
            context = _context(cloudformation, nested, resources)
            for entry in _entries(_template(cloudformation, nested)):
                if entry["kind"] == "fanout":
                    fanout = _fanout(context, entry)
                    if fanout.archive_name is None and entry.get("archive"):
                        fanout = _with_archive_of_bus(session, fanout)
                    fanouts[fanout.name] = fanout
                elif entry["kind"] == "consumer":
                    consumers.append(_consumer(context, entry))
    for index, consumer in enumerate(consumers):
        parent = fanouts.get(consumer.fanout or "")
        if consumer.bus_name is None and parent is not None and parent.bus_name is not None:
            # A shard's entry cannot name the parent's bus: the fan-out's entry does.
            consumers[index] = consumer = dataclasses.replace(
                consumer,
                bus_name=parent.bus_name,
                rule_arn=(consumer.rule_arn or "").replace(":rule/", f":rule/{parent.bus_name}/", 1)
                if consumer.rule_arn and parent.bus_name != "default"
                else consumer.rule_arn,
            )
    for consumer in consumers:
        owner = fanouts.get(consumer.fanout or "")
        if owner is None:
            owner = fanouts.setdefault(
                consumer.path,
                Fanout(
                    name=consumer.path,
                    path=consumer.path,
                    stack=consumer.stack,
                    bus_name=None,
                    bus_arn=None,
                    archive_name=None,
                    archive_arn=None,
                    undeliverable_events_queue=consumer.dead_letter_queue,
                    undeliverable_events_alarm=None,
                ),
            )
        owner.consumers.append(consumer)
    for fanout in fanouts.values():
        fanout.consumers.sort(key=lambda c: c.name)
    return sorted(fanouts.values(), key=lambda f: f.path)


def find_consumer(fanouts: Sequence[Fanout], name: str) -> tuple[Fanout, Consumer]:
    """The consumer called ``name`` (its id, or ``fan-out path/id`` when ids repeat)."""
    found = [
        (fanout, consumer)
        for fanout in fanouts
        for consumer in fanout.consumers
        if name in (consumer.name, consumer.path, f"{fanout.path}/{consumer.name}")
    ]
    if len(found) == 1:
        return found[0]
    known = sorted(f"{f.path}/{c.name}" for f in fanouts for c in f.consumers)
    if not found:
        raise DiscoveryError(
            f"no consumer {name!r} in the stacks; known: {', '.join(known) or 'none'}"
        )
    raise DiscoveryError(
        f"{name!r} names {len(found)} consumers; pass one of: "
        + ", ".join(f"{f.path}/{c.name}" for f, c in found)
    )


def deployed_templates(session: AwsSession, stack_names: Iterable[str]) -> dict[str, Any]:
    """Stack name -> its deployed template, for the stacks and their nested stacks."""
    cloudformation = session.client("cloudformation")
    templates: dict[str, Any] = {}
    for stack_name in stack_names:
        for nested in deployed_stack_tree(cloudformation, stack_name):
            templates[nested] = _template(cloudformation, nested)
    return templates


def consumers_by_rule(templates: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Rule logical id -> the consumer it feeds, from the templates' manifest entries.

    A consumer is named by its id, or by its construct path where two consumers share an id.
    """
    found: list[tuple[str, Mapping[str, Any]]] = []
    for template in templates.values():
        for entry in _entries(template):
            rule = entry.get("rule")
            if entry["kind"] == "consumer" and isinstance(rule, Mapping) and "logicalId" in rule:
                found.append((str(rule["logicalId"]), entry))
    names = [str(entry["name"]) for _, entry in found]
    return {
        logical_id: str(entry["name"])
        if names.count(str(entry["name"])) == 1
        else str(entry["path"])
        for logical_id, entry in found
    }


def _template(cloudformation: Any, stack_name: str) -> Mapping[str, Any]:
    body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    template: Mapping[str, Any] = json.loads(body) if isinstance(body, str) else body
    return template


def _entries(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        entry = (resource.get("Metadata") or {}).get(MANIFEST_KEY)
        if not isinstance(entry, Mapping):
            continue
        if entry.get("version") != MANIFEST_VERSION:
            raise DiscoveryError(
                f"{logical_id}: manifest version {entry.get('version')!r}, this tool reads "
                f"{MANIFEST_VERSION}: upgrade cdk-event-fanout to the version that deployed it"
            )
        entries.append(entry)
    return entries


def _context(
    cloudformation: Any, stack_name: str, resources: Mapping[str, Mapping[str, Any]]
) -> _StackContext:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    _, partition, _, region, account, _ = stack["StackId"].split(":", 5)
    return _StackContext(
        name=stack["StackName"],
        partition=partition,
        region=region,
        account=account,
        physical={
            logical_id: str(summary.get("PhysicalResourceId") or "")
            for logical_id, summary in resources.items()
        },
    )


def _with_archive_of_bus(session: AwsSession, fanout: Fanout) -> Fanout:
    """The fan-out with its archive found from its bus (the emulator records no archive id)."""
    archives = session.client("events").list_archives(EventSourceArn=fanout.bus_arn)["Archives"]
    if len(archives) != 1:
        return fanout
    name = str(archives[0]["ArchiveName"])
    arn = fanout.bus_arn.replace(f"event-bus/{fanout.bus_name}", f"archive/{name}")  # type: ignore[union-attr]
    return dataclasses.replace(fanout, archive_name=name, archive_arn=arn)


def _rule_name(physical_id: str | None) -> str | None:
    return None if physical_id is None else physical_id.rsplit("|", 1)[-1]


def _rule_arn(context: _StackContext, bus_name: str | None, rule_name: str | None) -> str | None:
    if rule_name is None:
        return None
    on_bus = "" if bus_name in (None, "default") else f"{bus_name}/"
    return context.arn("events", f"rule/{on_bus}{rule_name}")


def _fanout(context: _StackContext, entry: Mapping[str, Any]) -> Fanout:
    bus_name = context.resolve(entry.get("bus"))
    archive_name = context.resolve(entry.get("archive"))
    undeliverable = context.queue(entry.get("undeliverableEventsQueue"))
    if undeliverable is None:
        raise DiscoveryError(f"{entry.get('path')}: its undeliverable-events queue is not deployed")
    return Fanout(
        name=str(entry["name"]),
        path=str(entry["path"]),
        stack=context.name,
        bus_name=bus_name,
        bus_arn=None if bus_name is None else context.arn("events", f"event-bus/{bus_name}"),
        archive_name=archive_name,
        archive_arn=(
            None if archive_name is None else context.arn("events", f"archive/{archive_name}")
        ),
        undeliverable_events_queue=undeliverable,
        undeliverable_events_alarm=context.resolve(entry.get("undeliverableEventsAlarm")),
    )


def _consumer(context: _StackContext, entry: Mapping[str, Any]) -> Consumer:
    queue = context.queue(entry.get("queue"))
    dlq = context.queue(entry.get("deadLetterQueue"))
    if queue is None or dlq is None:
        raise DiscoveryError(f"{entry.get('path')}: its queues are not deployed")
    rule_physical = context.resolve(entry.get("rule"))
    rule_name = _rule_name(rule_physical)
    # A rule on a custom bus has the physical id "bus|rule" in AWS (the emulator: "rule").
    bus_name = context.resolve(entry.get("bus"))
    if rule_physical is not None and "|" in rule_physical:
        bus_name = rule_physical.rsplit("|", 1)[0]
    alarms = {
        attribute: name
        for attribute, ref in (entry.get("alarms") or {}).items()
        if (name := context.resolve(ref)) is not None
    }
    return Consumer(
        name=str(entry["name"]),
        path=str(entry["path"]),
        stack=context.name,
        fanout=entry.get("fanout"),
        metrics_service=str(entry.get("metricsService") or entry["name"]),
        fifo=bool(entry.get("fifo")),
        queue=queue,
        dead_letter_queue=dlq,
        rule_name=rule_name,
        rule_arn=_rule_arn(context, bus_name, rule_name),
        bus_name=bus_name,
        function_name=context.resolve(entry.get("function")),
        idempotency_table=context.resolve(entry.get("idempotencyTable")),
        alarms=alarms,
    )
