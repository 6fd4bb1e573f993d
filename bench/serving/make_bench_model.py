"""Writes the serving benchmark's second model, mlp_wide.onnx, into a directory.

    python make_bench_model.py OUT_DIR

mlp_wide is an MLP 512 -> 2048 ReLU -> 2048 ReLU -> 16 (5.2 M parameters, 21 MB of
float32 weights), the size of a typical tabular or embedding-scoring model. Its one-row
forward pass costs about a millisecond, as much as a request's transport, so it shows
what batching buys when the model's own time matters; examples/models/mlp_small.onnx
(6.7 k parameters) shows the case where per-request transport dominates. Generated at
benchmark time (deterministic: fixed seed) rather than committed, as it is 21 MB.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import onnx

# The example models' builders: one MLP recipe for mlp_small and mlp_wide.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "models"))
from make_models import finish, mlp_graph  # noqa: E402

DIMS = [512, 2048, 2048, 16]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_bench_model.py OUT_DIR")
    model = finish(mlp_graph("mlp_wide", DIMS, np.random.default_rng(7)), "Wide MLP for serving benchmarks: 512 -> 2048 ReLU -> 2048 ReLU -> 16.")
    path = os.path.join(sys.argv[1], "mlp_wide.onnx")
    onnx.save(model, path)
    print(path)


if __name__ == "__main__":
    main()
