"""The tritonclient examples (examples/oip/), run as a user would against the served
examples, their printed results checked against onnxruntime's outputs recorded by
make_models.py (examples/models/expected.json), the loan scorer's formula, and the same
call over Flight."""
import ast
import json
import math
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from conftest import REPO_ROOT, TOKEN
from test_oip import flight_call

EXAMPLES = REPO_ROOT / "examples" / "oip"
EXPECTED = json.loads((REPO_ROOT / "examples" / "models" / "expected.json").read_text())
# Only plain client libraries: the examples must not need flight-runner code.
ALLOWED_IMPORTS = {"json", "sys", "numpy", "tritonclient.grpc", "tritonclient.http"}


def run_example(name, *args):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def tagged(stdout, tag):
    return [json.loads(line[len(tag) + 1:]) for line in stdout.splitlines() if line.startswith(tag + " ")]


def iris_expected(rows):
    iris = EXPECTED["models"]["iris"]["outputs"]
    proba = np.array(iris["probabilities"]["data"], np.float32).reshape(-1, 3)[rows]
    labels = np.array(iris["label"]["data"])[rows]
    return proba, labels.tolist()


@pytest.mark.parametrize("name", ["grpc_client.py", "http_client.py"])
def test_examples_use_only_plain_client_libraries(name):
    imported = set()
    for node in ast.walk(ast.parse((EXAMPLES / name).read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= ALLOWED_IMPORTS, f"{name} imports {imported - ALLOWED_IMPORTS}"


def test_grpc_example_matches_onnxruntime(server):
    stdout = run_example("grpc_client.py", server.grpc_url)
    [meta] = tagged(stdout, "METADATA")
    assert meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": ["-1", "4"]}]
    first, second = tagged(stdout, "RESULT")
    proba, labels = iris_expected([0, 2, 4])  # the example's flowers are rows 0, 2 and 4 of expected.json
    tolerance = EXPECTED["tolerance"]["float32"]
    assert first["id"] == "flowers-1" and first["label"] == labels == [0, 1, 2]
    assert np.abs(np.array(first["probabilities"], np.float32) - proba).max() <= tolerance
    images = np.linspace(0, 1, 2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(images)], names=["image"])
    over_flight = flight_call(server.location, ["tensor_model"], batch).column("embedding").combine_chunks().to_numpy_ndarray()
    assert np.array(second["embedding"], np.float32).tobytes() == over_flight.astype(np.float32).tobytes()


def loan_score(income, debt, age):
    z = 1.5 * math.log1p(income / 10_000) - 2.5 * (debt / max(income, 1)) + 0.01 * (age - 40) - 2
    return 1 / (1 + math.exp(-z))


def test_http_example_matches_onnxruntime_and_the_scorer(server):
    stdout = run_example("http_client.py", server.http_url)
    [config] = tagged(stdout, "CONFIG")
    assert config["max_batch_size"] > 0 and config["input"][0]["dims"] == [4]
    first, second = tagged(stdout, "RESULT")
    proba, _ = iris_expected([0, 2, 4])
    tolerance = EXPECTED["tolerance"]["float32"]
    for form in ("binary", "json"):
        assert np.abs(np.array(first["probabilities"][form], np.float32) - proba).max() <= tolerance, form
    assert first["probabilities"]["binary"] == first["probabilities"]["json"]
    expected = [loan_score(85000.0, 5000.0, 35), loan_score(20000.0, 30000.0, 52)]
    assert second["score"] == pytest.approx(expected, abs=1e-12) and second["approved"] == [s >= 0.5 for s in expected]


def test_grpc_example_with_a_token(auth_server):
    """On the token server (iris.onnx served alone: one method, predict) the token gets the
    example past auth, and its first call that needs another model fails on that, not on auth."""
    with_token = subprocess.run([sys.executable, str(EXAMPLES / "grpc_client.py"), auth_server.grpc_url, "--token", TOKEN],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert tagged(with_token.stdout, "METADATA") and "no method 'predict_proba'" in with_token.stderr
    denied = subprocess.run([sys.executable, str(EXAMPLES / "grpc_client.py"), auth_server.grpc_url],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert denied.returncode != 0 and "missing authorization header" in denied.stderr and not tagged(denied.stdout, "METADATA")
