"""Calls flight-runner runners from plain pyarrow: no flight-runner code on the client.

    python examples/python/tensor_client.py grpc://127.0.0.1:8815

1. Discovers every runner method with ListFlights and prints its signature (the JSON in
   each FlightInfo's app_metadata).
2. Calls iris/predict_proba with a fixed_shape_tensor column of per-example shape [4].
3. Calls tensor_model/predict with images of shape [3, 8, 8] and prints its two outputs.

A call is a DoExchange on the PATH [runner, method]; columns are the arguments. Results
are printed as JSON lines ("RESULT {...}") so they are easy to read back.
"""
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

TIMEOUT_S = 60


def describe(param):
    if param["kind"] == "tensor":
        return f"{param['name']}: tensor<{param['dtype']}>{param['shape']}"
    if param["kind"] == "scalar":
        return f"{param['name']}: {param['dtype']}"
    if param["kind"] == "table":
        return f"{param['name']}: table{param.get('columns', {})}"
    return f"{param['name']}: {param['kind']}"


def rounded(values, digits):
    return [round(float(v), digits) for v in values]


def call(client, runner, method, batch):
    """One DoExchange: send one batch, read the one answer batch."""
    options = flight.FlightCallOptions(timeout=TIMEOUT_S)
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path(runner, method), options=options)
    with writer:
        writer.begin(batch.schema)
        writer.write_batch(batch)
        writer.done_writing()
        return reader.read_all()


def tensor_column(table, name):
    """A fixed_shape_tensor column as one numpy array of shape [rows, *shape]."""
    column = table.column(name).combine_chunks()
    return column.to_numpy_ndarray()


def main(uri):
    client = flight.connect(uri)

    print("runner methods:")
    for info in client.list_flights(options=flight.FlightCallOptions(timeout=TIMEOUT_S)):
        sig = json.loads(info.app_metadata)
        path = "/".join(p.decode() for p in info.descriptor.path)
        if "method" not in sig:  # a runner that is loading or failed to load: its state and why
            print(f"  {path}: {sig['state']} {sig.get('error', '')}")
            continue
        ins = ", ".join(describe(p) for p in sig["inputs"])
        outs = ", ".join(describe(p) for p in sig["outputs"])
        flags = (" (default)" if sig.get("default") else "") + ("" if sig.get("batchable", True) else " (not batchable)")
        print(f"  {path}{flags}: ({ins}) -> ({outs})")

    # iris: features is tensor<float32>[4]; one row per flower.
    flowers = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [7.2, 3.2, 6.0, 2.2]], dtype=np.float32)
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(flowers)], names=["features"])
    probs = tensor_column(call(client, "iris", "predict_proba", batch), "probabilities")
    print(f"iris/predict_proba: {probs.shape[0]} flowers -> probabilities {list(probs.shape)}")
    for flower, p in zip(flowers, probs):
        print(f"  {rounded(flower, 2)} -> {rounded(p, 4)} (class {int(p.argmax())})")
    print("RESULT " + json.dumps({"call": "iris/predict_proba", "input": flowers.tolist(), "probabilities": probs.tolist()}))

    # tensor_model: image is tensor<float32>[3, 8, 8]; two outputs.
    rng = np.random.default_rng(7)
    images = rng.uniform(-1, 1, size=(2, 3, 8, 8)).astype(np.float32)
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(images)], names=["image"])
    result = call(client, "tensor_model", "predict", batch)
    embedding = tensor_column(result, "embedding")
    feature_map = tensor_column(result, "feature_map")
    print(f"tensor_model/predict: images {list(images.shape)} -> embedding {list(embedding.shape)}, "
          f"feature_map {list(feature_map.shape)}")
    print(f"  embedding: {[rounded(e, 4) for e in embedding]}")
    print("RESULT " + json.dumps({
        "call": "tensor_model/predict", "input": images.tolist(),
        "embedding": embedding.tolist(), "feature_map": feature_map.tolist(),
    }))
    client.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} grpc://HOST:PORT")
    main(sys.argv[1])
