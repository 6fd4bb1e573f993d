#!/usr/bin/env python3
"""Build the small example ONNX models used by flight-runner tests and benchmarks.

Run from the repository root:

    .venv/bin/python examples/models/make_models.py

Writes next to this file:
  iris.onnx, tensor_model.onnx, mlp_small.onnx, scaler_fp16.onnx, greeter.onnx,
  expected.json

Everything is deterministic (fixed seeds, no timestamps), so rerunning the script
produces byte-identical files.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# onnxruntime-node 1.30 supports IR versions up to 11; 9 with opset 17 is
# accepted by every onnxruntime release from 1.15 on.
OPSET = 17
IR_VERSION = 9
PRODUCER = "flight-runner/examples/models/make_models.py"

BATCH = "batch"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def init(name: str, arr: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(arr), name=name)


def finish(graph: onnx.GraphProto, doc: str, opset: int = OPSET) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name=PRODUCER,
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    onnx.checker.check_model(model, full_check=True)
    return model


def save(model: onnx.ModelProto, filename: str) -> str:
    path = os.path.join(OUT_DIR, filename)
    data = model.SerializeToString(deterministic=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


# --------------------------------------------------------------------------
# 1. iris.onnx: 4 -> 16 ReLU -> 3 MLP fitted to synthetic iris-like blobs
# --------------------------------------------------------------------------

# Per-class feature means / standard deviations roughly like the classic iris
# measurements (sepal length, sepal width, petal length, petal width; cm).
IRIS_MEANS = np.array(
    [
        [5.0, 3.4, 1.5, 0.25],  # class 0 ("setosa"-like)
        [5.9, 2.8, 4.3, 1.3],  # class 1 ("versicolor"-like)
        [6.6, 3.0, 5.6, 2.0],  # class 2 ("virginica"-like)
    ]
)
IRIS_STDS = np.array(
    [
        [0.35, 0.38, 0.17, 0.10],
        [0.50, 0.30, 0.47, 0.20],
        [0.63, 0.32, 0.55, 0.27],
    ]
)
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def iris_dataset(n_per_class: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(3):
        xs.append(rng.normal(IRIS_MEANS[c], IRIS_STDS[c], size=(n_per_class, 4)))
        ys.append(np.full(n_per_class, c, dtype=np.int64))
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys)
    perm = rng.permutation(len(y))
    return x[perm], y[perm]


def train_iris(x: np.ndarray, y: np.ndarray, seed: int = 1, epochs: int = 2000, lr: float = 0.1):
    """Full-batch gradient descent on softmax cross-entropy, in float64 numpy."""
    rng = np.random.default_rng(seed)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    xn = (x - mu) / sd
    n = len(y)
    onehot = np.eye(3)[y]

    w1 = rng.normal(0.0, np.sqrt(2.0 / 4), size=(4, 16))
    b1 = np.zeros(16)
    w2 = rng.normal(0.0, np.sqrt(2.0 / 16), size=(16, 3))
    b2 = np.zeros(3)

    for _ in range(epochs):
        h_pre = xn @ w1 + b1
        h = np.maximum(h_pre, 0.0)
        logits = h @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)

        g_logits = (p - onehot) / n
        g_w2 = h.T @ g_logits
        g_b2 = g_logits.sum(axis=0)
        g_h = g_logits @ w2.T
        g_h[h_pre <= 0.0] = 0.0
        g_w1 = xn.T @ g_h
        g_b1 = g_h.sum(axis=0)

        w1 -= lr * g_w1
        b1 -= lr * g_b1
        w2 -= lr * g_w2
        b2 -= lr * g_b2

    # Fold the input standardisation into the first layer so the model takes
    # raw measurements: ((x - mu) / sd) @ w1 + b1 == x @ (w1 / sd[:, None]) + (b1 - (mu / sd) @ w1)
    w1_raw = w1 / sd[:, None]
    b1_raw = b1 - (mu / sd) @ w1
    return w1_raw, b1_raw, w2, b2


def build_iris():
    x, y = iris_dataset()
    w1, b1, w2, b2 = train_iris(x, y)
    w1, b1, w2, b2 = (a.astype(np.float32) for a in (w1, b1, w2, b2))

    # training accuracy using float32 weights (sanity check, reported below)
    h = np.maximum(x.astype(np.float32) @ w1 + b1, 0.0)
    acc = float(((h @ w2 + b2).argmax(axis=1) == y).mean())

    nodes = [
        helper.make_node("Gemm", ["features", "W1", "B1"], ["hidden_pre"], name="fc1"),
        helper.make_node("Relu", ["hidden_pre"], ["hidden"], name="relu1"),
        helper.make_node("Gemm", ["hidden", "W2", "B2"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], name="argmax", axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "iris_mlp",
        inputs=[helper.make_tensor_value_info("features", TensorProto.FLOAT, [BATCH, 4])],
        outputs=[
            helper.make_tensor_value_info("label", TensorProto.INT64, [BATCH]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [BATCH, 3]),
        ],
        initializer=[init("W1", w1), init("B1", b1), init("W2", w2), init("B2", b2)],
    )
    model = finish(
        graph,
        "Iris-like 3-class classifier: MLP 4 -> 16 (ReLU) -> 3 fitted to synthetic "
        "Gaussian blobs. Classes: 0=setosa, 1=versicolor, 2=virginica.",
    )
    helper.set_model_props(model, {"classes": ",".join(IRIS_CLASSES)})

    sample = np.array(
        [
            [5.1, 3.5, 1.4, 0.2],
            [4.9, 3.0, 1.4, 0.2],
            [6.0, 2.7, 4.5, 1.4],
            [5.7, 2.9, 4.2, 1.3],
            [6.5, 3.0, 5.8, 2.2],
            [7.1, 3.0, 5.9, 2.1],
        ],
        dtype=np.float32,
    )
    return model, {"features": sample}, {"train_accuracy": acc}


# --------------------------------------------------------------------------
# 2. tensor_model.onnx: Conv + ReLU + GAP + Flatten + Gemm, two outputs
# --------------------------------------------------------------------------

def build_tensor_model():
    rng = np.random.default_rng(2)
    conv_w = rng.normal(0.0, 0.3, size=(4, 3, 3, 3)).astype(np.float32)
    conv_b = rng.normal(0.0, 0.1, size=(4,)).astype(np.float32)
    fc_w = rng.normal(0.0, 0.5, size=(4, 2)).astype(np.float32)
    fc_b = rng.normal(0.0, 0.1, size=(2,)).astype(np.float32)

    nodes = [
        helper.make_node(
            "Conv",
            ["image", "conv_W", "conv_B"],
            ["conv_out"],
            name="conv",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[1, 1],
        ),
        helper.make_node("Relu", ["conv_out"], ["feature_map"], name="relu"),
        helper.make_node("GlobalAveragePool", ["feature_map"], ["pooled"], name="gap"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_W", "fc_B"], ["embedding"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "tensor_model",
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, [BATCH, 3, 8, 8])],
        outputs=[
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [BATCH, 2]),
            helper.make_tensor_value_info("feature_map", TensorProto.FLOAT, [BATCH, 4, 8, 8]),
        ],
        initializer=[
            init("conv_W", conv_w),
            init("conv_B", conv_b),
            init("fc_W", fc_w),
            init("fc_B", fc_b),
        ],
    )
    model = finish(
        graph,
        "Small image tensor model: Conv(3->4, 3x3, pad 1) + ReLU + GlobalAveragePool + "
        "Flatten + Gemm(4->2). Outputs the embedding and the ReLU feature map.",
    )
    sample = np.random.default_rng(12).uniform(-1.0, 1.0, size=(2, 3, 8, 8)).astype(np.float32)
    # round to 4 decimals so the JSON input is short and exactly reproducible
    sample = np.round(sample, 4).astype(np.float32)
    return model, {"image": sample}, {}


# --------------------------------------------------------------------------
# 3. mlp_small.onnx: 32 -> 64 ReLU -> 64 ReLU -> 8
# --------------------------------------------------------------------------

def mlp_graph(name: str, dims: list[int], rng: np.random.Generator) -> onnx.GraphProto:
    """A ReLU MLP with He-initialised weights: x float32 [batch, dims[0]] -> y [batch, dims[-1]]."""
    inits = []
    nodes = []
    prev = "x"
    layers = len(dims) - 1
    for i in range(layers):
        fan_in, fan_out = dims[i], dims[i + 1]
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)).astype(np.float32)
        b = rng.normal(0.0, 0.05, size=(fan_out,)).astype(np.float32)
        inits += [init(f"W{i + 1}", w), init(f"B{i + 1}", b)]
        last = i == layers - 1
        gemm_out = "y" if last else f"h{i + 1}_pre"
        nodes.append(helper.make_node("Gemm", [prev, f"W{i + 1}", f"B{i + 1}"], [gemm_out], name=f"fc{i + 1}"))
        if not last:
            nodes.append(helper.make_node("Relu", [gemm_out], [f"h{i + 1}"], name=f"relu{i + 1}"))
            prev = f"h{i + 1}"
    return helper.make_graph(
        nodes,
        name,
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, dims[0]])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [BATCH, dims[-1]])],
        initializer=inits,
    )


def build_mlp_small():
    graph = mlp_graph("mlp_small", [32, 64, 64, 8], np.random.default_rng(3))
    model = finish(graph, "Small MLP for serving benchmarks: 32 -> 64 ReLU -> 64 ReLU -> 8.")
    sample = np.round(np.random.default_rng(13).normal(0.0, 1.0, size=(3, 32)), 4).astype(np.float32)
    return model, {"x": sample}, {}


# --------------------------------------------------------------------------
# 4. scaler_fp16.onnx: y = x * 2 + 1 in float16
# --------------------------------------------------------------------------

def build_scaler_fp16():
    nodes = [
        helper.make_node("Mul", ["x", "scale"], ["scaled"], name="mul"),
        helper.make_node("Add", ["scaled", "offset"], ["y"], name="add"),
    ]
    graph = helper.make_graph(
        nodes,
        "scaler_fp16",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT16, [BATCH, 4])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT16, [BATCH, 4])],
        initializer=[
            init("scale", np.array(2.0, dtype=np.float16)),
            init("offset", np.array(1.0, dtype=np.float16)),
        ],
    )
    model = finish(graph, "float16 scaler: y = x * 2 + 1.")
    sample = np.array(
        [
            [0.0, 1.0, -1.0, 0.5],
            [1.5, -2.25, 3.125, 100.0],
            [0.1, 0.2, 0.3, -0.7],
        ],
        dtype=np.float16,
    )
    return model, {"x": sample}, {}


# --------------------------------------------------------------------------
# 5. greeter.onnx: string tensors in and out (StringConcat)
# --------------------------------------------------------------------------

# StringConcat is opset 20 (still IR version 9). Chosen over StringNormalizer, whose
# case change needs an installed locale (en_US.UTF-8) on the serving machine.
GREETER_OPSET = 20


def build_greeter():
    nodes = [helper.make_node("StringConcat", ["prefix", "name"], ["greeting"], name="concat")]
    graph = helper.make_graph(
        nodes,
        "greeter",
        inputs=[helper.make_tensor_value_info("name", TensorProto.STRING, [BATCH])],
        outputs=[helper.make_tensor_value_info("greeting", TensorProto.STRING, [BATCH])],
        initializer=[helper.make_tensor("prefix", TensorProto.STRING, [], [b"Hello, "])],
    )
    model = finish(graph, "String tensors: greeting = 'Hello, ' + name, one string per example.", opset=GREETER_OPSET)
    sample = np.array(["Ada", "Grace Hopper", "", "Zoë 🚀"], dtype=object)
    return model, {"name": sample}, {}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

DTYPE_NAMES = {
    np.dtype(np.float32): "float32",
    np.dtype(np.float16): "float16",
    np.dtype(np.int64): "int64",
    np.dtype(object): "string",
}


def tensor_json(a: np.ndarray) -> dict:
    a = np.asarray(a)
    if a.dtype.kind == "f":
        data = [float(v) for v in a.reshape(-1).astype(np.float64)]
    elif a.dtype.kind in ("O", "U"):
        a = a.astype(object)
        data = [str(v) for v in a.reshape(-1)]
    else:
        data = [int(v) for v in a.reshape(-1)]
    return {"dtype": DTYPE_NAMES[a.dtype], "shape": list(a.shape), "data": data}


def io_spec(value_infos) -> list:
    out = []
    for vi in value_infos:
        tt = vi.type.tensor_type
        shape = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tt.shape.dim]
        out.append(
            {
                "name": vi.name,
                "dtype": DTYPE_NAMES[np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))],
                "shape": shape,
            }
        )
    return out


def dump_json(obj) -> str:
    """Indented JSON, but with each tensor's "shape" and flat "data" lists kept on one line."""
    flat = {}

    def stash(o):
        if isinstance(o, list):
            return [stash(v) for v in o]
        if isinstance(o, dict):
            return {
                k: (stash_list(v) if k in ("data", "shape") and isinstance(v, list) else stash(v))
                for k, v in o.items()
            }
        return o

    def stash_list(v):
        key = f"@@DATA{len(flat)}@@"
        flat[key] = json.dumps(v)
        return key

    text = json.dumps(stash(obj), indent=2)
    for key, compact in flat.items():
        text = text.replace(f'"{key}"', compact)
    return text + "\n"


def main() -> None:
    import onnxruntime as ort

    builders = [
        ("iris", "iris.onnx", build_iris),
        ("tensor_model", "tensor_model.onnx", build_tensor_model),
        ("mlp_small", "mlp_small.onnx", build_mlp_small),
        ("scaler_fp16", "scaler_fp16.onnx", build_scaler_fp16),
        ("greeter", "greeter.onnx", build_greeter),
    ]
    expected = {
        "_comment": "Generated by make_models.py. Outputs computed with onnxruntime "
        "(Python, CPUExecutionProvider). Tensors are row-major flattened; "
        "tolerance is the max absolute difference per element.",
        "tolerance": {"float32": 1e-5, "float16": 1e-2, "int64": 0, "string": 0},
        "models": {},
    }
    for key, filename, build in builders:
        model, inputs, info = build()
        path = save(model, filename)

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        out_names = [o.name for o in sess.get_outputs()]
        results = sess.run(out_names, inputs)

        entry = {
            "file": filename,
            "inputs_spec": io_spec(model.graph.input),
            "outputs_spec": io_spec(model.graph.output),
            "inputs": {k: tensor_json(v) for k, v in inputs.items()},
            "outputs": {n: tensor_json(r) for n, r in zip(out_names, results)},
        }
        entry.update(info)
        expected["models"][key] = entry
        size = os.path.getsize(path)
        extra = "".join(f", {k}={v:.3f}" for k, v in info.items())
        print(f"wrote {filename} ({size} bytes{extra})")

    with open(os.path.join(OUT_DIR, "expected.json"), "w") as f:
        f.write(dump_json(expected))
    print("wrote expected.json")


if __name__ == "__main__":
    main()
