"""Calls a flight-runner server that needs a bearer token (`serve --token`, `--tokens-file`
or `server.auth`) with tritonclient, over gRPC and HTTP, in the two ways tritonclient sends
a header:

    flight-runner serve examples/models/iris.onnx --http-port 8000 --token s3cret
    python examples/oip/token_auth.py 127.0.0.1:8815 127.0.0.1:8000 s3cret

1. `headers=` on each call: {"authorization": "Bearer <token>"}.
2. A client plugin registered once (`register_plugin`): it adds the header to every call
   the client makes, health and metadata included.

tritonclient's BasicAuth plugin sends "authorization: Basic <user:password>"; serve's
credentials are tokens, not users, so a server started by serve refuses it.
Results are printed as JSON lines ("RESULT {...}").
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

FLOWERS = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [6.5, 3.0, 5.8, 2.2]], dtype=np.float32)


class BearerToken(grpcclient.InferenceServerClientPlugin):
    """Adds "authorization: Bearer <token>" to every request of the client it is registered on."""

    def __init__(self, token):
        self._value = f"Bearer {token}"

    def __call__(self, request):
        request.headers["authorization"] = self._value


def labels(module, client, headers=None):
    features = module.InferInput("features", list(FLOWERS.shape), "FP32")
    features.set_data_from_numpy(FLOWERS)
    return client.infer("iris", [features], headers=headers).as_numpy("label").tolist()


def main(grpc_url, http_url, token):
    headers = {"authorization": f"Bearer {token}"}
    for protocol, module, url in (("grpc", grpcclient, grpc_url), ("http", httpclient, http_url)):
        # 1. The header on each call.
        client = module.InferenceServerClient(url)
        assert client.is_server_ready(headers=headers)
        print("RESULT", json.dumps({"protocol": protocol, "way": "headers", "label": labels(module, client, headers)}))
        client.close()
        # 2. A plugin: every call of this client carries the token.
        client = module.InferenceServerClient(url)
        client.register_plugin(BearerToken(token))
        assert client.is_server_ready()
        print("RESULT", json.dumps({"protocol": protocol, "way": "plugin", "label": labels(module, client)}))
        client.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
