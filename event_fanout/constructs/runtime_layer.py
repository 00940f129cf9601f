"""Lambda layers that give consumer functions the runtime: this package's and Powertools'."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from aws_cdk import Annotations, Aws, CfnMapping, Stack, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk.region_info import RegionInfo
from constructs import Construct

import event_fanout
from event_fanout.constructs.lookups import runtime_facts, stack_facts
from event_fanout.constructs.powertools_layer import INDEPENDENTLY_NUMBERED, publisher_account
from event_fanout.constructs.validation import Validator

#: Powertools for AWS Lambda (Python) v3 layer version attached by default. Pinned so a deploy is
#: reproducible; pass ``powertools_layer_version=`` to move. Its Powertools release is
#: ``POWERTOOLS_RELEASES[POWERTOOLS_LAYER_VERSION]``, the lower bound of the ``runtime`` extra.
POWERTOOLS_LAYER_VERSION = 38
#: CloudFormation mapping (region -> publisher account) for stacks whose region is a token.
_ACCOUNTS_MAPPING_ID = "PowertoolsLayerAccounts"

_PACKAGE_DIR = Path(event_fanout.__file__).parent
#: What the layer ships: the lazy package root (no aws_cdk import), its helper and the runtime.
_LAYER_FILES = (
    "__init__.py",
    "_lazy_exports.py",
    "py.typed",
    "runtime",
    # Event types shared by producers and consumers (a handler imports its own).
    "events",
    "producer.py",
)


def powertools_layer_arn(
    scope: Construct,
    function: lambda_.Function,
    version: int = POWERTOOLS_LAYER_VERSION,
) -> str:
    """ARN of the AWS-published Powertools v3 layer matching the function's runtime and CPU.

    The ARN format is ``arn:{partition}:lambda:{region}:{publisher}:layer:
    AWSLambdaPowertoolsPythonV3-{python312}-{x86_64|arm64}:{version}``, with the publisher
    account of the stack's region (:mod:`event_fanout.constructs.powertools_layer`). For an
    environment-agnostic stack (a token region) the account is looked up at deploy time in a
    mapping of the stack, so one template works in any region that has the layer.

    Raises
    ------
    EventFanoutConfigError
        The region has no Powertools layer (e.g. ``cn-northwest-1``, the ISO partitions).

    """
    # "python3.12" -> "python312"
    python = runtime_facts(function.runtime).name.replace(".", "")
    arch = function.architecture.name  # "x86_64" | "arm64"
    region = stack_facts(scope).region
    account = _publisher_account(scope, region, version)
    return (
        f"arn:{_partition()}:lambda:{region}:{account}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{version}"
    )


def _publisher_account(scope: Construct, region: str, version: int) -> str:
    if Token.is_unresolved(region):
        return RuntimeLayer.of(scope).accounts_mapping().find_in_map(Aws.REGION, "account")
    partition = RegionInfo.get(region).partition or "aws"
    account = publisher_account(region, partition)
    if account is None:
        v = Validator(scope)
        v.require(
            False,
            "attach_runtime_layers",
            True,
            f"needs the AWS-published Powertools layer, which AWS does not publish in {region} "
            f"(partition {partition})",
            "pass attach_runtime_layers=False and attach a Powertools layer you publish "
            "yourself, with this package's event_fanout.runtime (or deploy to a region that has "
            "the layer)",
        )
        v.raise_if_any()
    if region in INDEPENDENTLY_NUMBERED and version == POWERTOOLS_LAYER_VERSION:
        Annotations.of(scope).add_warning_v2(
            "event-fanout:powertools-layer-version-in-govcloud",
            f"{region} numbers its Powertools layer versions independently of the commercial "
            f"partition: version {version} there may hold another release (or not exist). "
            "Check `aws lambda list-layer-versions --layer-name "
            "AWSLambdaPowertoolsPythonV3-python312-x86_64` and pass powertools_layer_version=.",
        )
    assert account is not None
    return account


@functools.cache
def _partition() -> str:
    """``Aws.PARTITION``: the same token string every time, read from the kernel once."""
    return Aws.PARTITION


def stage_runtime_layer(package_dir: Path, into: Path) -> Path:
    """Copy the runtime of the package at ``package_dir`` into the layout Lambda expects.

    Only what the layer ships (:data:`_LAYER_FILES`): the asset hash, and so every consumer
    function in a user's template, changes only when that code does, not on a version bump
    (the version lives in ``_version.py``, which is not shipped).

    Returns ``into``, holding ``python/event_fanout/...``.
    """
    target = into / "python" / "event_fanout"
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in _LAYER_FILES:
        source = package_dir / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)
    return into


@functools.cache
def _staged_layer_dir() -> str:
    """The layer's files, staged once per process in a temporary directory removed at exit.

    Built from the installed package's own files (no Docker, no pip): the runtime's third-party
    dependencies come from the Powertools layer, so nothing else needs bundling. CDK copies the
    asset into the cloud assembly while the stack is built, so the staging is not needed after.
    """
    staging = Path(tempfile.mkdtemp(prefix="event-fanout-runtime-layer-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    return str(stage_runtime_layer(_PACKAGE_DIR, staging))


class RuntimeLayer(Construct):
    """The ``event_fanout.runtime`` layer, one per stack, shared by every consumer function.

    Use :meth:`of` rather than the constructor, so fifty consumers share one layer version
    instead of uploading fifty identical ones.
    """

    CONSTRUCT_ID = "EventFanoutRuntime"

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer_version = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(_staged_layer_dir()),
            compatible_runtimes=[
                lambda_.Runtime.PYTHON_3_11,
                lambda_.Runtime.PYTHON_3_12,
                lambda_.Runtime.PYTHON_3_13,
                lambda_.Runtime.PYTHON_3_14,
            ],
            description="event_fanout.runtime: idempotent, partial-batch SQS handling",
        )
        self._imported: dict[str, lambda_.ILayerVersion] = {}
        self._accounts_mapping: CfnMapping | None = None

    def powertools(self, layer_arn: str) -> lambda_.ILayerVersion:
        """The Powertools layer ``layer_arn`` imported once per stack, not once per consumer.

        An imported layer is only its ARN (no resource), so every function of the stack can
        share it (and a second import under the same id would clash). Found by its name and
        version: in a stack whose region is a token, each consumer's ARN is a new token string
        for the same layer.
        """
        # "arn:...:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:38" -> its name:version
        layer_id = "Powertools-" + layer_arn.rsplit(":layer:", 1)[-1].replace(":", "-v")
        layer = self._imported.get(layer_id)
        if layer is None:
            layer = lambda_.LayerVersion.from_layer_version_arn(self, layer_id, layer_arn)
            self._imported[layer_id] = layer
        return layer

    def accounts_mapping(self) -> CfnMapping:
        """Region -> Powertools publisher account, for a stack whose region is a token.

        Written into the template only when a layer ARN reads it (a lazy mapping).
        """
        mapping = self._accounts_mapping
        if mapping is None:
            regions = {
                info.name: account
                for info in RegionInfo.regions
                if (account := publisher_account(info.name, info.partition or "aws"))
            }
            mapping = CfnMapping(
                Stack.of(self),
                _ACCOUNTS_MAPPING_ID,
                mapping={region: {"account": account} for region, account in regions.items()},
                lazy=True,
            )
            self._accounts_mapping = mapping
        return mapping

    @classmethod
    def of(cls, scope: Construct) -> RuntimeLayer:
        """Return the stack's runtime layer, creating it on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        return existing if isinstance(existing, RuntimeLayer) else cls(stack, cls.CONSTRUCT_ID)
