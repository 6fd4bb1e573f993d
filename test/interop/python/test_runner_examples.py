"""The Python examples (examples/python/), run as a user would against the served examples,
with their printed results checked against onnxruntime in this process (tensor_client.py)
and against the loan scorer's formula (score_dataframe.py)."""
import ast
import json
import math
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pyarrow.flight as flight
import pytest

from conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "python"
MODELS = REPO_ROOT / "examples" / "models"
SCRIPT_TIMEOUT_S = 300
# Only plain client libraries: the examples must not need flight-runner code.
ALLOWED_IMPORTS = {"json", "sys", "threading", "numpy", "pandas", "pyarrow", "pyarrow.flight"}


def run_example(name, *args):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def tagged_json(stdout, tag):
    return [json.loads(line[len(tag) + 1:]) for line in stdout.splitlines() if line.startswith(tag + " ")]


def tolerance(dtype):
    return json.loads((MODELS / "expected.json").read_text())["tolerance"][dtype]


@pytest.mark.parametrize("name", ["tensor_client.py", "score_dataframe.py"])
def test_examples_use_only_plain_client_libraries(name):
    tree = ast.parse((EXAMPLES / name).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= ALLOWED_IMPORTS, f"{name} imports {imported - ALLOWED_IMPORTS}"


def test_tensor_client_matches_onnxruntime(runner_server, runner_client):
    stdout = run_example("tensor_client.py", runner_server)

    # Discovery: one line per runner method the server lists.
    listing = json.loads(next(iter(runner_client.do_action(
        flight.Action("list-runners", b""), options=flight.FlightCallOptions(timeout=30)))).body.to_pybytes())
    for runner in listing["runners"]:
        for method in runner["methods"]:
            assert f"  {runner['name']}/{method['method']}" in stdout, stdout
    assert "iris/predict (default): (features: tensor<float32>[4]) -> (label: tensor<int64>[])" in stdout
    assert "text_tools/concat (not batchable)" in stdout

    results = {r["call"]: r for r in tagged_json(stdout, "RESULT")}
    assert set(results) == {"iris/predict_proba", "tensor_model/predict"}
    atol = tolerance("float32")

    iris = ort.InferenceSession(str(MODELS / "iris.onnx"), providers=["CPUExecutionProvider"])
    flowers = np.array(results["iris/predict_proba"]["input"], dtype=np.float32)
    want_labels, want_probs = iris.run(["label", "probabilities"], {"features": flowers})
    got_probs = np.array(results["iris/predict_proba"]["probabilities"], dtype=np.float32)
    assert got_probs.shape == (3, 3)
    np.testing.assert_allclose(got_probs, want_probs, rtol=0, atol=atol)
    assert got_probs.argmax(axis=1).tolist() == want_labels.tolist() == [0, 1, 2]

    model = ort.InferenceSession(str(MODELS / "tensor_model.onnx"), providers=["CPUExecutionProvider"])
    images = np.array(results["tensor_model/predict"]["input"], dtype=np.float32)
    assert images.shape == (2, 3, 8, 8)
    want_embedding, want_feature_map = model.run(["embedding", "feature_map"], {"image": images})
    got_embedding = np.array(results["tensor_model/predict"]["embedding"], dtype=np.float32)
    got_feature_map = np.array(results["tensor_model/predict"]["feature_map"], dtype=np.float32)
    assert got_embedding.shape == (2, 2) and got_feature_map.shape == (2, 4, 8, 8)
    np.testing.assert_allclose(got_embedding, want_embedding, rtol=0, atol=atol)
    np.testing.assert_allclose(got_feature_map, want_feature_map, rtol=0, atol=atol)
    assert "tensor_model/predict: images [2, 3, 8, 8] -> embedding [2, 2], feature_map [2, 4, 8, 8]" in stdout


def loan_score(income, debt, age):
    """examples/runners/loan-scorer.ts, in Python."""
    z = 1.5 * math.log1p(income / 10_000) - 2.5 * (debt / max(income, 1)) + 0.01 * (age - 40) - 2
    return 1 / (1 + math.exp(-z))


def test_score_dataframe_scores_every_applicant(runner_server):
    sys.path.insert(0, str(EXAMPLES))
    try:
        from score_dataframe import applicants
    finally:
        sys.path.remove(str(EXAMPLES))
    rows = 100_000
    stdout = run_example("score_dataframe.py", runner_server)
    [summary] = tagged_json(stdout, "SUMMARY")
    assert summary["rows"] == rows
    assert summary["batches"] == 10
    assert f"scored {rows:,} applicants in 10 batches through loan_scorer/score" in stdout

    # The same applicants (the example's generator is seeded), scored here.
    df = applicants(rows)
    want = np.array([loan_score(i, d, a) for i, d, a in zip(df["income"], df["debt"], df["age"])])
    # An approval could only differ where the score is within rounding of the threshold.
    borderline = int(np.sum(np.abs(want - 0.5) < 1e-12))
    assert abs(summary["approved"] - int(np.sum(want >= 0.5))) <= borderline
    assert summary["mean_score"] == pytest.approx(float(want.mean()), rel=1e-12)
    for got, (_, row), score in zip(summary["first"], df.head(5).iterrows(), want[:5]):
        assert got["income"] == row["income"] and got["debt"] == row["debt"] and got["age"] == row["age"]
        assert got["score"] == pytest.approx(score, rel=1e-12)
        assert got["approved"] == (score >= 0.5)


def test_score_dataframe_with_uneven_batches(runner_server):
    """A last batch shorter than the others, and batches of one row, keep rows and order."""
    stdout = run_example("score_dataframe.py", runner_server, "1003", "100")
    [summary] = tagged_json(stdout, "SUMMARY")
    assert summary["rows"] == 1003 and summary["batches"] == 11
    stdout = run_example("score_dataframe.py", runner_server, "7", "1")
    [summary] = tagged_json(stdout, "SUMMARY")
    assert summary["rows"] == 7 and summary["batches"] == 7
