"""The runtime and the handlers import as the Lambda layer ships them: without aws_cdk."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from runtime_test_helpers import HANDLERS_DIR

import event_fanout.runtime

RUNTIME_DIR = Path(event_fanout.runtime.__file__).parent
FORBIDDEN = ("aws_cdk", "constructs", "jsii", "cdk_nag", "event_fanout.constructs")

LAMBDA_LIKE_IMPORT = f"""
import sys

FORBIDDEN = {FORBIDDEN!r}

class NotInLambda:
    def find_spec(self, name, path=None, target=None):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            raise ImportError(name + " is not installed in the Lambda runtime")
        return None

sys.meta_path.insert(0, NotInLambda())
sys.path.insert(0, {str(HANDLERS_DIR)!r})  # the function code's root, as Lambda sets it

import event_fanout.runtime as runtime
import event_fanout.runtime.testing
import reporting_sync, audit_log, notification  # handler modules by their Lambda names

for name in runtime.__all__:
    getattr(runtime, name)
leaked = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
assert not leaked, leaked
print("imported", len(runtime.__all__), "names;", reporting_sync.handler.__name__)
"""


def test_runtime_and_handlers_import_with_aws_cdk_unimportable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-c", LAMBDA_LIKE_IMPORT],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported")


def test_the_blocker_really_blocks_aws_cdk() -> None:
    probe = LAMBDA_LIKE_IMPORT.split("sys.path.insert")[0] + "import aws_cdk\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "aws_cdk is not installed in the Lambda runtime" in result.stderr


def test_no_runtime_or_handler_module_imports_the_construct_side() -> None:
    offenders = []
    for path in [*RUNTIME_DIR.rglob("*.py"), *HANDLERS_DIR.rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
            ]
    assert offenders == []
