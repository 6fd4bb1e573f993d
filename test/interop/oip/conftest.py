"""Shared fixtures of the V2 (Open Inference Protocol) suite.

Real `flight-runner serve` processes from the sources, called with tritonclient's gRPC
and HTTP clients (what Triton users call servers with) and with pyarrow.flight. The
process handling is the pyarrow suite's (test/interop/python/conftest.py: start, wait
for the listening line, drain and exit 0 on SIGTERM).
"""
import importlib.util
import socket
from pathlib import Path

import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

REPO_ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("flight_conftest", REPO_ROOT / "test/interop/python/conftest.py")
flight_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flight_conftest)

TOKEN = "v2-s3cret"
TIMEOUT_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url):
    """Every runner loaded (JS runners compile in workers): the V2 readiness endpoint says so."""
    client = httpclient.InferenceServerClient(url)
    import time
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if client.is_server_ready():
            return
        time.sleep(0.2)
    pytest.fail(f"server at {url} not ready within {TIMEOUT_S}s")


class Served:
    """One server: its Flight location, its gRPC host:port (the same port) and its REST host:port."""

    def __init__(self, location, http_port):
        self.location = location
        self.grpc_url = location.removeprefix("grpc://")
        self.http_url = f"127.0.0.1:{http_port}"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    http_port = free_port()
    args = ["serve", "examples/serve.yaml", "test/interop/oip/runners/oip-test.yaml", "--port", "0", "--http-port", str(http_port)]
    with flight_conftest._served(tmp_path_factory, "V2 server", args) as location:
        served = Served(location, http_port)
        _wait_ready(served.http_url)
        yield served


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory):
    """A server that needs a bearer token, and takes messages (and REST bodies) of 64 KiB at most."""
    http_port = free_port()
    tokens = tmp_path_factory.mktemp("tokens") / "tokens"
    tokens.write_text(f"ci:{TOKEN}\n")
    args = ["serve", "examples/models/iris.onnx", "--port", "0", "--http-port", str(http_port), "--tokens-file", str(tokens), "--max-message-bytes", "64KiB"]
    with flight_conftest._served(tmp_path_factory, "V2 auth server", args) as location:
        yield Served(location, http_port)


@pytest.fixture(scope="session")
def grpc(server):
    return grpcclient.InferenceServerClient(server.grpc_url)


@pytest.fixture(scope="session")
def http(server):
    return httpclient.InferenceServerClient(server.http_url, network_timeout=TIMEOUT_S)
