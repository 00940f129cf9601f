#!/usr/bin/env bash
# Set up (if needed), then run the main job: deploy the reference stack with the real CDK CLI to
# the local AWS emulator, publish events, drain the consumers, print what happened, tear down.
# With AWS credentials, `bash scripts/demo.sh --aws` (or EVENT_FANOUT_AWS=1) deploys the same stack
# to your account, publishes, watches Lambda drain the queues, reports and destroys the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CDK_DISABLE_CLI_TELEMETRY=true
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/event-fanout demo "$@"
