"""Calls flight-runner runners with tritonclient over HTTP/REST (KServe V2 / Open Inference
Protocol), as one would call Triton: no flight-runner code on the client.

    flight-runner serve examples/serve.yaml --http-port 8000
    python examples/oip/http_client.py 127.0.0.1:8000 [--token TOKEN]

1. Checks the server is live and ready, and prints iris's model configuration (what
   perf_analyzer reads first: max_batch_size > 0 means batchable).
2. Calls iris.predict_proba with three flowers in the binary tensor data extension
   (the default of tritonclient), and again with JSON data in and out.
3. Calls loan_scorer, a runner taking a table: one V2 input per column.

Results are printed as JSON lines ("RESULT {...}") so they are easy to read back.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient

FLOWERS = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [6.5, 3.0, 5.8, 2.2]], dtype=np.float32)


def main(url, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else None
    client = httpclient.InferenceServerClient(url, network_timeout=60)
    assert client.is_server_live(headers=headers) and client.is_server_ready(headers=headers)
    config = client.get_model_config("iris", headers=headers)
    print("CONFIG", json.dumps({"max_batch_size": config["max_batch_size"], "input": config["input"]}))

    results = {}
    for binary in (True, False):
        features = httpclient.InferInput("features", list(FLOWERS.shape), "FP32")
        features.set_data_from_numpy(FLOWERS, binary_data=binary)
        wanted = [httpclient.InferRequestedOutput("probabilities", binary_data=binary)]
        proba = client.infer("iris.predict_proba", [features], outputs=wanted, headers=headers)
        results["binary" if binary else "json"] = proba.as_numpy("probabilities").tolist()
    print("RESULT", json.dumps({"probabilities": results}))

    columns = {"income": np.array([85000.0, 20000.0]), "debt": np.array([5000.0, 30000.0]), "age": np.array([35, 52], np.int64)}
    inputs = []
    for name, values in columns.items():
        column = httpclient.InferInput(name, [len(values)], "INT64" if values.dtype == np.int64 else "FP64")
        column.set_data_from_numpy(values)
        inputs.append(column)
    scored = client.infer("loan_scorer", inputs, headers=headers)
    print("RESULT", json.dumps({"score": scored.as_numpy("score").tolist(), "approved": scored.as_numpy("approved").tolist()}))
    client.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    token = args[args.index("--token") + 1] if "--token" in args else None
    main(args[0] if args else "127.0.0.1:8000", token)
