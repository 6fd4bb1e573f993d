"""perf_analyzer (the tritonclient 2.41.1 wheel's binary) drives the V2 endpoints, gRPC and
HTTP, without errors: it reads ModelConfig and ModelMetadata, makes its own inputs from
them, and reads ModelStatistics before and after each measurement.

It needs Debian's libb64-0d and libcudart.so.12 (no GPU is used): the latter comes with
nvidia-pytriton, which the kserve suite installs in .venv-triton; OIP_CUDART_DIR may name
another directory holding libcudart.so.12. Without it these tests are skipped, saying why.
"""
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PERF_ANALYZER = Path(REPO_ROOT / ".venv-oip" / "bin" / "perf_analyzer")


@pytest.fixture(scope="module")
def cudart_dir(tmp_path_factory):
    if os.environ.get("OIP_CUDART_DIR"):
        return os.environ["OIP_CUDART_DIR"]
    found = sorted(REPO_ROOT.glob(".venv-triton/lib/python*/site-packages/nvidia_pytriton.libs/libcudart-*.so.12*"))
    if not found:
        pytest.skip("perf_analyzer needs libcudart.so.12: install nvidia-pytriton in .venv-triton (test/run-all.sh does) or set OIP_CUDART_DIR")
    lib = tmp_path_factory.mktemp("cudart")
    (lib / "libcudart.so.12").symlink_to(found[0])
    return str(lib)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_perf_analyzer_runs_without_errors(cudart_dir, server, protocol):
    url = server.grpc_url if protocol == "grpc" else server.http_url
    proc = subprocess.run(
        [str(PERF_ANALYZER), "-m", "iris", "-u", url, "-i", protocol, "-b", "4", "--concurrency-range", "2",
         "--measurement-mode", "count_windows", "--measurement-request-count", "30", "--stability-percentage", "999", "--max-trials", "3"],
        env={**os.environ, "LD_LIBRARY_PATH": cudart_dir}, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"perf_analyzer exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Successful request count" in proc.stdout and "error" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr
    assert "Batch size: 4" in proc.stdout
