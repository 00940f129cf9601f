"""The consumer functions get Powertools (AWS-published layer) and the runtime (built layer)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from event_fanout import EventFanout
from event_fanout.constructs.runtime_layer import POWERTOOLS_LAYER_VERSION
from tests.builders import new_function, new_stack, only
from tests.library.conftest import Built

PATTERN = events.EventPattern(source=["a"])


def _layers(built: Built, name: str) -> tuple[object, object]:
    """(Powertools layer ARN, runtime layer reference), whatever order CDK writes them in."""
    layers: list[dict[str, object]] = built.resource(built.consumers[name].function)["Layers"]
    assert len(layers) == 2
    (powertools,) = [layer for layer in layers if "Fn::Join" in layer]
    (runtime,) = [layer for layer in layers if "Ref" in layer]
    return powertools, runtime


def test_powertools_layer_matches_runtime_architecture_and_region(built: Built) -> None:
    powertools, _ = _layers(built, "Plain")
    assert powertools == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-"
                f"python314-arm64:{POWERTOOLS_LAYER_VERSION}",
            ],
        ]
    }


def test_all_consumers_share_one_runtime_layer(built: Built) -> None:
    layers = built.template.find_resources("AWS::Lambda::LayerVersion")
    layer_id = next(iter(layers))
    assert len(layers) == 1
    for name in built.consumers:
        assert _layers(built, name)[1] == {"Ref": layer_id}


@pytest.fixture(scope="module")
def x86_stack() -> tuple[Stack, Template]:
    stack = new_stack("Layers")
    fanout = EventFanout(stack, "Fanout", archive_retention=None)
    fanout.add_consumer(
        "X86",
        handler=new_function(
            stack,
            "X86Fn",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
        ),
        event_pattern=PATTERN,
        powertools_layer_version=12,
    )
    fanout.add_consumer(
        "Node",
        handler=lambda_.Function(
            stack,
            "NodeFn",
            runtime=lambda_.Runtime.NODEJS_22_X,
            handler="index.handler",
            code=lambda_.Code.from_inline("exports.handler = async () => ({});"),
        ),
        event_pattern=PATTERN,
    )
    fanout.add_consumer(
        "NoLayers",
        handler=new_function(stack, "NoLayersFn"),
        event_pattern=PATTERN,
        attach_runtime_layers=False,
    )
    return stack, Template.from_stack(stack)


def test_powertools_layer_follows_x86_python312_and_pinned_version(
    x86_stack: tuple[Stack, Template],
) -> None:
    _, template = x86_stack
    fn = only(
        template.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": "python3.12"}})
    )
    (powertools,) = [layer for layer in fn["Layers"] if "Fn::Join" in layer]
    joined = powertools["Fn::Join"][1][-1]
    assert joined.endswith("AWSLambdaPowertoolsPythonV3-python312-x86_64:12")


def test_non_python_and_opted_out_functions_get_no_layers(
    x86_stack: tuple[Stack, Template],
) -> None:
    _, template = x86_stack
    node = only(
        template.find_resources("AWS::Lambda::Function", {"Properties": {"Runtime": "nodejs22.x"}})
    )
    assert "Layers" not in node
    functions = template.find_resources("AWS::Lambda::Function")
    assert sum("Layers" in f["Properties"] for f in functions.values()) == 1


def test_runtime_layer_asset_ships_the_runtime_without_constructs(
    built: Built, tmp_path: Path
) -> None:
    """The layer zip holds python/event_fanout/runtime and the lazy package root, nothing else."""
    from event_fanout.constructs.runtime_layer import _staged_layer_dir

    staged = Path(_staged_layer_dir())
    files = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert "python/event_fanout/__init__.py" in files
    assert "python/event_fanout/runtime/constants.py" in files
    assert not any(f.startswith("python/event_fanout/constructs") for f in files)
    assert not any(f.startswith("python/event_fanout/stacks") for f in files)
    assert not any("__pycache__" in f for f in files)
    # and it imports without aws_cdk, as Lambda will load it
    archive = tmp_path / "layer.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(staged / f, f)
    import subprocess
    import sys

    # Powertools comes from its own layer (here: site-packages); aws_cdk is made unimportable.
    code = (
        "import sys; sys.modules['aws_cdk'] = None; sys.path.insert(0, sys.argv[1]);"
        "import event_fanout.runtime as r, event_fanout.runtime.constants as c;"
        "print(c.__file__); print(sys.modules[r.fanout_consumer.__module__].__file__);"
        "print(sys.modules['event_fanout._lazy_exports'].__file__);"
        "print(c.IDEMPOTENCY_KEY_ATTRIBUTE)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(staged / "python")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    constants_file, consumer_file, helper_file, key = out.stdout.split()
    # the runtime's lazy exports resolve inside the layer too
    assert constants_file.startswith(str(staged))
    assert consumer_file == str(staged / "python/event_fanout/runtime/consumer.py")
    # (an editable install's finder would otherwise supply a file the layer lacks)
    assert helper_file == str(staged / "python/event_fanout/_lazy_exports.py")
    assert key == "id"
