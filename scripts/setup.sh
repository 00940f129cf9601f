#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: a virtualenv with the package and its
# dev/local extras (pinned in pyproject.toml), and the pinned CDK CLI (package.json, via npm ci).
# Safe to run again: it only reinstalls when pyproject.toml or package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CDK_DISABLE_CLI_TELEMETRY=true

need() { command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required ($2)" >&2; exit 1; }; }
need "$PYTHON" "Python 3.11 or newer"
need node "Node.js 20+, for the CDK CLI and aws-cdk-lib's jsii runtime"
need npm "npm, to install the pinned CDK CLI"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "error: Python 3.11+ required, found $("$PYTHON" --version)" >&2; exit 1; }

# Debian's Chromium for the browser tests (tests/browser.py: the `local run --report` page).
# Installed where this script may (apt-get as root, as in CI); elsewhere those tests are skipped.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's chromium (browser tests)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >/dev/null 2>&1 || echo "setup: warning: chromium did not install" >&2
  else
    echo "setup: no chromium (install it to run the browser tests; they are skipped without it)"
  fi
fi

stamp=.venv/.setup-stamp
want=$(cat pyproject.toml package-lock.json requirements-checkov.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/aws-cdk ]; then
  echo "setup: up to date"
  exit 0
fi

echo "setup: creating .venv and installing cdk-event-fanout[dev] (pinned in pyproject.toml)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import event_fanout, aws_cdk, moto, aws_lambda_powertools" \
  || { echo "error: Python dependencies did not install" >&2; exit 1; }

# checkov pins an older boto3/botocore than moto and Powertools need: it gets a venv of its own.
echo "setup: installing checkov into .venv-checkov (requirements-checkov.txt)"
[ -x .venv-checkov/bin/python ] || "$PYTHON" -m venv .venv-checkov
.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt 2>&1 \
  | grep -v "^WARNING: Location" || true
.venv-checkov/bin/checkov --version >/dev/null \
  || { echo "error: checkov did not install" >&2; exit 1; }

# The wheels of the lowest aws-cdk-lib the package declares, so tests/package can install the
# built wheel next to it in a fresh virtualenv without the network.
echo "setup: downloading the minimum aws-cdk-lib into .wheelhouse (scripts/minimum_requirements.py)"
.venv/bin/python -m pip download --quiet --dest .wheelhouse \
  $(.venv/bin/python scripts/minimum_requirements.py) 2>&1 | grep -v "^WARNING: Location" || true

# cdk-nag 2 beside this virtualenv's cdk-nag 3 (tests/security/test_cdk_nag_2.py puts it first on
# PYTHONPATH): the library's acknowledgements must silence both major versions.
echo "setup: installing cdk-nag 2 into .cdk-nag-2"
rm -rf .cdk-nag-2
.venv/bin/python -m pip install --quiet --no-deps --target .cdk-nag-2 "cdk-nag>=2.38,<3" 2>&1 \
  | grep -v "^WARNING: Location" || true

echo "setup: installing the pinned CDK CLI (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
npx --no-install cdk --version

echo "$want" > "$stamp"
echo "setup: done"
