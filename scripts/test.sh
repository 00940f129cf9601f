#!/usr/bin/env bash
# Set up (if needed), then run every test: construct assertions, snapshots, cdk-nag, cfn-lint,
# the consumer runtime, and the local end-to-end deploy on the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CDK_DISABLE_CLI_TELEMETRY=true
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy event_fanout app.py tests/package/outside_app tests/typing
.venv/bin/mypy examples/orders/app.py examples/orders/consumers/orders.py
.venv/bin/mypy examples/cross_account/app.py
# One worker per core (at most 4): the emulator tests wait on the CDK CLI and the emulator,
# the others on jsii's Node process; tests/conftest.py keeps tests that share a fixture on one worker.
# tests/package (the built wheel next to the minimum aws-cdk-lib, in an app outside the
# repository) runs in scripts/test-minimum-cdk.sh, the job about that minimum; CI runs both.
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --ignore=tests/package "$@"
