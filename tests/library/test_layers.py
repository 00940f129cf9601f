"""The consumer functions get Powertools (AWS-published layer) and the runtime (built layer)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from event_fanout import EventFanout
from event_fanout.constructs.runtime_layer import POWERTOOLS_LAYER_VERSION
from tests.builders import new_app, new_function, new_stack, only
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


def _package_copy(tmp: Path, name: str, version: str) -> Path:
    import shutil

    import event_fanout

    package = tmp / name / "event_fanout"
    shutil.copytree(
        Path(event_fanout.__file__).parent,
        package,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    (package / "_version.py").write_text(f'__version__ = "{version}"\n')
    return package


def test_runtime_layer_hash_does_not_change_with_the_package_version(tmp_path: Path) -> None:
    """A version-only release must not change every consumer function in users' snapshots."""
    from aws_cdk import FileSystem

    from event_fanout.constructs.runtime_layer import stage_runtime_layer

    hashes = []
    for version in ("1.0.0", "1.0.1"):
        package = _package_copy(tmp_path, version, version)
        staged = stage_runtime_layer(package, tmp_path / f"layer-{version}")
        hashes.append(FileSystem.fingerprint(str(staged)))
    assert hashes[0] == hashes[1]
    # ...while a change to the runtime code it ships does change it.
    package = _package_copy(tmp_path, "edited", "1.0.1")
    (package / "runtime" / "constants.py").write_text("# changed\n", encoding="utf-8")
    edited = stage_runtime_layer(package, tmp_path / "layer-edited")
    assert FileSystem.fingerprint(str(edited)) != hashes[0]


def test_a_synth_leaves_no_staging_directory_behind(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = (
        "from tests.builders import new_stack, new_function\n"
        "from aws_cdk import aws_events as events\n"
        "from event_fanout import EventFanout\n"
        "stack = new_stack()\n"
        "EventFanout(stack, 'F').add_consumer('A', handler=new_function(stack),"
        " event_pattern=events.EventPattern(source=['a']))\n"
        "stack.node.root.synth()\n"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    subprocess.run(
        [sys.executable, "-c", script], check=True, env=env, cwd=Path(__file__).parents[2]
    )
    leftovers = [p.name for p in temp.iterdir() if p.name.startswith("event-fanout-runtime-layer")]
    assert leftovers == []


def test_the_runtime_extra_starts_at_the_release_in_the_attached_layer() -> None:
    """Handlers unit-tested with the extra's Powertools run on the layer's in Lambda."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    from event_fanout.constructs.powertools_layer import POWERTOOLS_RELEASES
    from tests.builders import REPO_ROOT

    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    (powertools,) = [
        Requirement(r) for r in extras["runtime"] if r.startswith("aws-lambda-powertools")
    ]
    release = POWERTOOLS_RELEASES[POWERTOOLS_LAYER_VERSION]
    assert powertools.specifier.contains(release)
    lower = [s for s in powertools.specifier if s.operator == ">="]
    assert [Version(s.version) for s in lower] == [Version(release)]
    assert not powertools.specifier.contains("4.0.0")  # v3 layer: a v4 runtime is another API


def _layer_arn_in(region: str | None) -> tuple[Stack, Any]:
    from aws_cdk import App, DefaultStackSynthesizer, Environment

    from tests.builders import cdk_context

    app = App(context=cdk_context())
    env = Environment(account="123456789012", region=region) if region else None
    stack = Stack(
        app,
        "Partition",
        env=env,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    fanout = EventFanout(stack, "Fanout")
    consumer = fanout.add_consumer("A", handler=new_function(stack, "Fn"), event_pattern=PATTERN)
    layers = stack.resolve(consumer.function.node.default_child.layers)  # type: ignore[union-attr]
    (powertools,) = [layer for layer in layers if "Fn::Join" in layer]
    return stack, powertools


@pytest.mark.parametrize(
    ("region", "account"),
    [
        ("eu-west-1", "017000801446"),
        ("cn-north-1", "498634801083"),
        ("us-gov-east-1", "165087284144"),
        ("us-gov-west-1", "165093116878"),
    ],
)
def test_the_powertools_layer_comes_from_the_publisher_of_the_stacks_partition(
    region: str, account: str
) -> None:
    _, arn = _layer_arn_in(region)
    assert f":lambda:{region}:{account}:layer:AWSLambdaPowertoolsPythonV3-" in arn["Fn::Join"][1][2]


def test_govcloud_layer_versions_are_a_warning_to_check() -> None:
    from aws_cdk.assertions import Annotations, Match

    stack, _ = _layer_arn_in("us-gov-west-1")
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("numbers its Powertools layer versions independently")
    )
    assert len(warnings) == 1


def test_fails_in_a_region_without_the_powertools_layer() -> None:
    from event_fanout import EventFanoutConfigError

    with pytest.raises(EventFanoutConfigError) as caught:
        _layer_arn_in("cn-northwest-1")
    message = str(caught.value)
    assert "Partition/Fanout/Consumers/A: attach_runtime_layers" in message
    assert "pass attach_runtime_layers=False" in message


def test_an_environment_agnostic_stack_looks_the_publisher_up_at_deploy_time() -> None:
    stack, arn = _layer_arn_in(None)
    parts = arn["Fn::Join"][1]
    assert {
        "Fn::FindInMap": ["PowertoolsLayerAccounts", {"Ref": "AWS::Region"}, "account"]
    } in parts
    mapping = Template.from_stack(stack).to_json()["Mappings"]["PowertoolsLayerAccounts"]
    assert mapping["eu-west-1"] == {"account": "017000801446"}
    assert mapping["cn-north-1"] == {"account": "498634801083"}
    assert "cn-northwest-1" not in mapping


@pytest.mark.parametrize("shards", [None, 2])
def test_consumers_of_an_environment_agnostic_stack_share_one_powertools_import(
    shards: int | None,
) -> None:
    """Each consumer's layer ARN there is a new token string: the import is found by name."""
    stack = Stack(new_app(), "Agnostic")
    fanout = EventFanout(stack, "Fanout", shards=shards)
    for name in ("Audit", "Billing", "Shipping"):
        fanout.add_consumer(
            name,
            handler=lambda scope: new_function(scope, "Fn"),
            event_pattern=events.EventPattern(source=["a"]),
        )
    imports = [
        c.node.path.rsplit("/", 2)[0]  # the stack holding EventFanoutRuntime/Powertools-...
        for c in stack.node.find_all()
        if c.node.id.startswith("Powertools-")
    ]
    assert len(imports) == len(set(imports)) == (len(fanout.shards) or 1), imports
    functions = [
        r
        for template in [Template.from_stack(s).to_json() for s in (stack, *fanout.shards)]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert len(functions) == 3 and all(len(f["Properties"]["Layers"]) == 2 for f in functions)
