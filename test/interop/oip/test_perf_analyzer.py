"""perf_analyzer (the tritonclient 2.41.1 wheel's binary) drives the V2 endpoints, gRPC and
HTTP, without errors: it reads ModelConfig and ModelMetadata, makes its own inputs from
them, and reads ModelStatistics before and after each measurement.

The binary needs two shared libraries besides the system's usual ones (no GPU is used):
- libcudart.so.12: PyPI's nvidia-cuda-runtime-cu12, pinned in requirements.txt, installs it
  in .venv-oip (nvidia/cuda_runtime/lib), which this test puts on LD_LIBRARY_PATH;
- libb64.so.0d: Debian's libb64-0d (`apt-get install libb64-0d`; test/run-all.sh installs it
  when it is missing and runs as root). No PyPI package carries it.

Run alone (an older .venv-oip, a machine without libb64-0d), the test is skipped, naming
what is missing. test/run-all.sh sets OIP_PERF_ANALYZER_REQUIRED=1: then a missing library
fails the test, so a broken setup cannot pass as a skip.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PERF_ANALYZER = Path(REPO_ROOT / ".venv-oip" / "bin" / "perf_analyzer")


@pytest.fixture(scope="module")
def perf_env():
    """perf_analyzer's environment: .venv-oip's libcudart on LD_LIBRARY_PATH, every library found."""
    cudart = sorted(REPO_ROOT.glob(".venv-oip/lib/python*/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12"))
    env = {**os.environ}
    if cudart:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(cudart[0].parent), os.environ.get("LD_LIBRARY_PATH")]))
    problem = None
    if not PERF_ANALYZER.exists():
        problem = f"{PERF_ANALYZER} is missing: install test/interop/oip/requirements.txt in .venv-oip (tritonclient 2.41.1)"
    else:
        linked = subprocess.run(["ldd", str(PERF_ANALYZER)], env=env, capture_output=True, text=True, timeout=60).stdout
        missing = [line.split()[0] for line in linked.splitlines() if "not found" in line]
        if missing:
            problem = (f"perf_analyzer cannot load {', '.join(missing)}: libcudart.so.12 comes from nvidia-cuda-runtime-cu12 "
                       "(test/interop/oip/requirements.txt, in .venv-oip), libb64.so.0d from Debian's libb64-0d (apt-get install libb64-0d)")
    if problem:
        if os.environ.get("OIP_PERF_ANALYZER_REQUIRED") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return env


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_perf_analyzer_runs_without_errors(perf_env, server, protocol):
    url = server.grpc_url if protocol == "grpc" else server.http_url
    proc = subprocess.run(
        [str(PERF_ANALYZER), "-m", "iris", "-u", url, "-i", protocol, "-b", "4", "--concurrency-range", "2",
         "--measurement-mode", "count_windows", "--measurement-request-count", "30", "--stability-percentage", "999", "--max-trials", "10"],
        env=perf_env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"perf_analyzer exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Successful request count" in proc.stdout and "error" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr
    assert "Batch size: 4" in proc.stdout
    # Its server-side breakdown comes from ModelStatistics: the backend's time is measured.
    breakdown = re.search(r"Avg request latency: \d+ usec \(overhead \d+ usec \+ queue \d+ usec \+ compute input \d+ usec "
                          r"\+ compute infer (\d+) usec \+ compute output \d+ usec\)", proc.stdout)
    assert breakdown and int(breakdown.group(1)) > 0, proc.stdout
