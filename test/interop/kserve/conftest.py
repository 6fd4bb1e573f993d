"""Fixtures of the kserve backend suite: real peers started from their own venvs (NVIDIA
Triton from nvidia-pytriton, Seldon MLServer with a custom runtime), and a real
`flight-runner serve` whose kserve runners point at them, called with plain pyarrow.

The peers' venvs are .venv-triton and .venv-mlserver at the repository root
(test/run-all.sh makes them from requirements-triton.txt and requirements-mlserver.txt);
KSERVE_TRITON_PYTHON and KSERVE_MLSERVER_BIN override where they are.
"""
import importlib.util
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pyarrow.flight as flight
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
PEERS = Path(__file__).resolve().parent / "peers"
PEER_START_TIMEOUT_S = 180
READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 40

# The Flight suite's server fixture helper (start, wait for the listening line, drain on SIGTERM).
_spec = importlib.util.spec_from_file_location("flight_interop_conftest", REPO_ROOT / "test/interop/python/conftest.py")
flight_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flight_conftest)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Peer:
    """A V2 server process: its gRPC port, and how to stop it."""

    def __init__(self, name, args, env, ready_url, log_path):
        self.name = name
        self.log_path = log_path
        with open(log_path, "wb") as log:
            # Its own process group: Triton's server and Python stubs are its children.
            self.proc = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + PEER_START_TIMEOUT_S
        while not _ready(ready_url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{name} did not become ready at {ready_url} within {PEER_START_TIMEOUT_S}s; log:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.3)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def triton_peer(tmp_path_factory):
    """Triton serving the test models of peers/triton_peer.py; yields its gRPC port."""
    python = os.environ.get("KSERVE_TRITON_PYTHON", str(REPO_ROOT / ".venv-triton/bin/python"))
    grpc_port, http_port = free_port(), free_port()
    peer = Peer(
        "Triton",
        [python, str(PEERS / "triton_peer.py"), "--grpc-port", str(grpc_port), "--http-port", str(http_port), "--models", "test"],
        dict(os.environ),
        f"http://127.0.0.1:{http_port}/v2/models/small_batch/ready",
        tmp_path_factory.mktemp("triton") / "triton.log",
    )
    yield grpc_port
    peer.stop()


@pytest.fixture(scope="session")
def mlserver_peer(tmp_path_factory):
    """MLServer serving peers/mlserver/test (model mtypes); yields the Peer (its gRPC port in .grpc_port)."""
    mlserver = os.environ.get("KSERVE_MLSERVER_BIN", str(REPO_ROOT / ".venv-mlserver/bin/mlserver"))
    grpc_port, http_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(PEERS / "mlserver"), MLSERVER_HTTP_PORT=str(http_port), MLSERVER_GRPC_PORT=str(grpc_port))
    peer = Peer(
        "MLServer",
        [mlserver, "start", str(PEERS / "mlserver" / "test")],
        env,
        f"http://127.0.0.1:{http_port}/v2/models/mtypes/ready",
        tmp_path_factory.mktemp("mlserver") / "mlserver.log",
    )
    peer.grpc_port = grpc_port
    yield peer
    peer.stop()


def runner_config(triton_port, mlserver_port):
    """The serve config: kserve runners on both peers, and one whose model the peer lacks."""
    def entry(port, model, **extra):
        return {"path": f"grpc://127.0.0.1:{port}", "backend": "kserve", "options": {"model": model}, **extra}

    strings = {"text": "string", "text_out": "string"}
    types = entry(triton_port, "types", scheduling={"batching": {"maxQueueDelayMs": 1000}})
    types["options"]["types"] = strings
    mtypes = entry(mlserver_port, "mtypes")
    mtypes["options"]["types"] = strings
    return {"runners": [
        types,
        entry(triton_port, "small_batch", name="small"),
        mtypes,
        entry(triton_port, "no_such_model", name="missing"),
    ]}


@pytest.fixture(scope="session")
def kserve_server(tmp_path_factory, triton_peer, mlserver_peer):
    """`flight-runner serve` with the kserve runners, once they loaded (and 'missing' failed)."""
    config = tmp_path_factory.mktemp("kserve-serve") / "serve.yaml"
    # JSON is YAML.
    config.write_text(json.dumps(runner_config(triton_peer, mlserver_peer.grpc_port)))

    def wait_until_loaded(location, proc, log_path):
        deadline = time.monotonic() + READY_TIMEOUT_S
        health = None
        with flight.connect(location) as c:
            while time.monotonic() < deadline and proc.poll() is None:
                results = list(c.do_action(flight.Action("health", b""), options=flight.FlightCallOptions(timeout=10)))
                health = json.loads(results[0].body.to_pybytes())
                if all(state != "loading" for state in health["runners"].values()):
                    return
                time.sleep(0.2)
        pytest.fail(f"kserve runners still loading after {READY_TIMEOUT_S}s: {health}; stderr:\n{log_path.read_text()}")

    with flight_conftest._served(tmp_path_factory, "kserve runner server", ["serve", str(config), "--port", "0"], ready=wait_until_loaded) as location:
        yield location


@pytest.fixture(scope="session")
def kserve_client(kserve_server):
    c = flight.connect(kserve_server)
    c.wait_for_available(timeout=30)
    yield c
    c.close()
