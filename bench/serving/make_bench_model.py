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
from onnx import TensorProto, helper, numpy_helper

DIMS = [512, 2048, 2048, 16]


def build(dims: list[int]) -> onnx.ModelProto:
    rng = np.random.default_rng(7)
    initializers, nodes, previous = [], [], "x"
    for i, (fan_in, fan_out) in enumerate(zip(dims, dims[1:])):
        weight = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)).astype(np.float32)
        bias = rng.normal(0.0, 0.05, size=(fan_out,)).astype(np.float32)
        initializers += [numpy_helper.from_array(weight, f"W{i}"), numpy_helper.from_array(bias, f"B{i}")]
        last = i == len(dims) - 2
        out = "y" if last else f"h{i}_pre"
        nodes.append(helper.make_node("Gemm", [previous, f"W{i}", f"B{i}"], [out], name=f"fc{i}"))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"], name=f"relu{i}"))
            previous = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "mlp_wide",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", dims[0]])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", dims[-1]])],
        initializer=initializers,
    )
    # IR 9 / opset 17: what onnxruntime-node 1.30 and onnxruntime 1.32 both load.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="flight-runner/bench/serving")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_bench_model.py OUT_DIR")
    path = os.path.join(sys.argv[1], "mlp_wide.onnx")
    onnx.save(build(DIMS), path)
    print(path)


if __name__ == "__main__":
    main()
