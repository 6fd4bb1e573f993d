"""Calls flight-runner runners with tritonclient over gRPC (KServe V2 / Open Inference
Protocol), as one would call Triton: no flight-runner code on the client.

    flight-runner serve examples/serve.yaml            # V2 gRPC on the Flight port
    python examples/oip/grpc_client.py 127.0.0.1:8815 [--token TOKEN]

1. Checks the server is live and ready, and prints iris's V2 metadata.
2. Calls iris.predict_proba (a runner method is the model `runner.method`) and iris (its
   default method, predict) with three flowers, as one FP32 tensor [3, 4].
3. Calls tensor_model with two images [2, 3, 8, 8] and asks for one of its two outputs.

Results are printed as JSON lines ("RESULT {...}") so they are easy to read back.
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient

FLOWERS = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [6.5, 3.0, 5.8, 2.2]], dtype=np.float32)


def main(url, token=None):
    # With --token, every call carries it, as Flight calls do.
    headers = {"authorization": f"Bearer {token}"} if token else None
    client = grpcclient.InferenceServerClient(url)
    assert client.is_server_live(headers=headers) and client.is_server_ready(headers=headers)
    meta = client.get_model_metadata("iris", headers=headers, as_json=True)
    print("METADATA", json.dumps({"inputs": meta["inputs"], "outputs": meta["outputs"]}))

    features = grpcclient.InferInput("features", list(FLOWERS.shape), "FP32")
    features.set_data_from_numpy(FLOWERS)
    proba = client.infer("iris.predict_proba", [features], headers=headers, request_id="flowers-1")
    labels = client.infer("iris", [features], headers=headers)
    print("RESULT", json.dumps({
        "id": proba.get_response().id,
        "probabilities": proba.as_numpy("probabilities").tolist(),
        "label": labels.as_numpy("label").tolist(),
    }))

    images = np.linspace(0, 1, 2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)
    image = grpcclient.InferInput("image", list(images.shape), "FP32")
    image.set_data_from_numpy(images)
    only = [grpcclient.InferRequestedOutput("embedding")]
    result = client.infer("tensor_model", [image], outputs=only, headers=headers)
    print("RESULT", json.dumps({"embedding": result.as_numpy("embedding").tolist()}))
    client.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    token = args[args.index("--token") + 1] if "--token" in args else None
    main(args[0] if args else "127.0.0.1:8815", token)
