#!/usr/bin/env bash
# Test the constructs against the lowest aws-cdk-lib pyproject.toml declares, in a virtualenv of
# its own (.venv-min-cdk, the `test` extra: no cdk-nag, whose plugins need 2.258.0);
# scripts/test.sh tests the newest. The reference stack, its cdk-nag packs and the emulator
# tests run there only; tests/package (the built wheel installed next to the minimum in a fresh
# virtualenv, an app outside the repository) runs here only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CDK_DISABLE_CLI_TELEMETRY=true
PYTHON=${PYTHON:-python3}

requirements=$(.venv/bin/python scripts/minimum_requirements.py)
stamp=.venv-min-cdk/.setup-stamp
want=$(echo "$requirements" | cat - pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "test-minimum-cdk: creating .venv-min-cdk with $(echo "$requirements" | cut -d' ' -f1)"
  [ -x .venv-min-cdk/bin/python ] || "$PYTHON" -m venv .venv-min-cdk
  # shellcheck disable=SC2086 # word splitting is wanted: one argument per requirement
  .venv-min-cdk/bin/python -m pip install --quiet -e ".[test]" $requirements 2>&1 \
    | grep -v "^WARNING: Location" || true
  echo "$want" > "$stamp"
fi
.venv-min-cdk/bin/python -c "import importlib.metadata as m; print('aws-cdk-lib', m.version('aws-cdk-lib'))"
exec .venv-min-cdk/bin/python -m pytest -n auto --maxprocesses 4 -p no:cacheprovider \
  tests/library tests/scale tests/runtime tests/package "$@"
