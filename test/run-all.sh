#!/usr/bin/env bash
# Runs every suite the project has — TypeScript (ava), Python interop (pytest, real
# pyarrow) and Go interop (go test, real arrow-go) — after installing what they need
# from the project's own files. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
logs=$(mktemp -d)
passed=0
failed=0

step() { printf '\n=== %s\n' "$*"; }

step "Python test environment (test/interop/python/requirements.txt)"
if [ ! -x .venv/bin/python ] || ! cmp -s test/interop/python/requirements.txt .venv/.requirements 2>/dev/null; then
  python3 -m venv .venv && .venv/bin/pip install -q --disable-pip-version-check -r test/interop/python/requirements.txt \
    && cp test/interop/python/requirements.txt .venv/.requirements || { echo "python setup failed"; failed=$((failed + 1)); }
fi
export FLIGHT_RUNNER_PYTHON="$root/.venv/bin/python"

step "V2 test environment (test/interop/oip/requirements.txt: tritonclient)"
if [ ! -x .venv-oip/bin/python ] || ! cmp -s test/interop/oip/requirements.txt .venv-oip/.requirements 2>/dev/null; then
  python3 -m venv .venv-oip && .venv-oip/bin/pip install -q --disable-pip-version-check -r test/interop/oip/requirements.txt \
    && cp test/interop/oip/requirements.txt .venv-oip/.requirements || { echo "V2 python setup failed"; failed=$((failed + 1)); }
fi

# perf_analyzer (in .venv-oip) links to Debian's libb64-0d, which no PyPI package carries.
if ! ldconfig -p 2>/dev/null | grep -q 'libb64\.so\.0d'; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's libb64-0d (perf_analyzer's)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libb64-0d >/dev/null \
      || echo "libb64-0d install failed: the perf_analyzer test will fail"
  else
    echo "libb64-0d is missing: run 'apt-get install libb64-0d' as root, or the perf_analyzer test fails"
  fi
fi
# The V2 suite's perf_analyzer test fails, instead of skipping, when a library is missing.
export OIP_PERF_ANALYZER_REQUIRED=1

step "Build (dist/, what bin/flight-runner.js and the package run)"
if npm run -s build ; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "Typecheck"
if npx tsc --noEmit -p . ; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "Lint (Biome, biome.json)"
if npx biome lint . ; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "ava (TypeScript suites)"
npx ava --tap 2>&1 | tee "$logs/ava.tap" | grep -E '^(not ok|# )' || true
p=$(grep -cE '^ok ' "$logs/ava.tap" || true)
f=$(grep -cE '^not ok ' "$logs/ava.tap" || true)
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "ava ran no test"; tail -20 "$logs/ava.tap"; fi
passed=$((passed + p)); failed=$((failed + f))

if [ -d test/interop/python ] && ls test/interop/python/test_*.py >/dev/null 2>&1; then
  step "pytest (real pyarrow clients and servers)"
  .venv/bin/python -m pytest -q -p no:cacheprovider test/interop/python 2>&1 | tee "$logs/pytest.log" | tail -15
  p=$(grep -oE '[0-9]+ passed' "$logs/pytest.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ (failed|errors?)' "$logs/pytest.log" | awk '{s+=$1} END {print s+0}')
  [ -z "$f" ] && f=0
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "pytest ran no test"; fi
  passed=$((passed + p)); failed=$((failed + f))
fi

if [ -d test/interop/kserve ]; then
  # The kserve backend against real V2 servers, each in its own venv (their pins conflict):
  # Triton from nvidia-pytriton, MLServer. Cached like .venv: reinstalled when the
  # requirements file changes.
  step "kserve peers (test/interop/kserve/requirements-*.txt)"
  kserve_ok=1
  for peer in triton mlserver; do
    req="test/interop/kserve/requirements-$peer.txt"
    if [ ! -x ".venv-$peer/bin/python" ] || ! cmp -s "$req" ".venv-$peer/.requirements" 2>/dev/null; then
      python3 -m venv ".venv-$peer" && ".venv-$peer/bin/pip" install -q --disable-pip-version-check -r "$req" \
        && cp "$req" ".venv-$peer/.requirements" || { echo "$peer peer setup failed"; kserve_ok=0; }
    fi
  done
  step "pytest (kserve backend against real Triton and MLServer)"
  if [ "$kserve_ok" -eq 1 ]; then
    .venv/bin/python -m pytest -q -p no:cacheprovider test/interop/kserve 2>&1 | tee "$logs/kserve.log" | tail -15
    p=$(grep -oE '[0-9]+ passed' "$logs/kserve.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
    f=$(grep -oE '[0-9]+ (failed|errors?)' "$logs/kserve.log" | awk '{s+=$1} END {print s+0}')
    [ -z "$f" ] && f=0
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "kserve pytest ran no test"; fi
  else
    p=0; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
fi

if [ -d test/interop/oip ] && ls test/interop/oip/test_*.py >/dev/null 2>&1; then
  step "pytest V2 (real tritonclient gRPC and HTTP clients)"
  .venv-oip/bin/python -m pytest -q -p no:cacheprovider test/interop/oip 2>&1 | tee "$logs/pytest-oip.log" | tail -15
  p=$(grep -oE '[0-9]+ passed' "$logs/pytest-oip.log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ (failed|errors?)' "$logs/pytest-oip.log" | awk '{s+=$1} END {print s+0}')
  [ -z "$f" ] && f=0
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "pytest V2 ran no test"; fi
  passed=$((passed + p)); failed=$((failed + f))
fi

if [ -f test/interop/go/go.mod ]; then
  step "go test (real arrow-go clients)"
  (cd test/interop/go && go test -count=1 -v ./... 2>&1) | tee "$logs/go.log" | grep -E '^(--- |FAIL|ok|PASS)' || true
  p=$(grep -cE '^\s*--- PASS' "$logs/go.log" || true)
  f=$(grep -cE '^\s*--- FAIL' "$logs/go.log" || true)
  if grep -qE '^FAIL' "$logs/go.log" && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "go test ran no test"; fi
  passed=$((passed + p)); failed=$((failed + f))
fi

echo
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
