"""Shared fixtures of the pyarrow interop suite.

The suite talks to the real memory server process (`node bin/flight-runner.js
memory-server --port 0`), started once per session, through a plain pyarrow.flight
client: exactly what a Python user of flight-runner would do.
"""
import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# The flight-runner command from the sources (tsx), with the export condition that makes a
# runner's `import 'flight-runner'` load these same sources (see package.json "exports").
NODE_CLI = ["node", "--conditions=flight-runner-source", "--import", "tsx", "src/cli/main.ts"]
LISTENING = re.compile(r"^flight-runner listening on (grpc://127\.0\.0\.1:\d+)$")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 40


def _read_first_line(stream, timeout_s):
    """The first stdout line, or None after timeout_s: a thread keeps readline() bounded."""
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout_s)
    except queue.Empty:
        return None


@contextlib.contextmanager
def _served(tmp_path_factory, name, args, ready=None):
    """Runs `flight-runner *args` from the sources (NODE_CLI), yields its location once it printed its
    listening line (and `ready(location, proc, log_path)` returned), and at the end
    requires it to drain and exit 0 on SIGTERM."""
    log_path = tmp_path_factory.mktemp(name.replace(" ", "-")) / "stderr.jsonl"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*NODE_CLI, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        line = _read_first_line(proc.stdout, START_TIMEOUT_S)
        if line is None or not LISTENING.match(line.strip()):
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)
            pytest.fail(
                f"{name} did not print its listening line within {START_TIMEOUT_S}s "
                f"(got {line!r}); stderr:\n{log_path.read_text()}"
            )
        location = LISTENING.match(line.strip()).group(1)
        if ready is not None:
            ready(location, proc, log_path)
        yield location
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
                code = None
            assert code == 0, f"{name} exited with {code} after SIGTERM; stderr:\n{log_path.read_text()}"
        else:
            pytest.fail(f"{name} died during the session with {proc.returncode}; stderr:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def memory_server(tmp_path_factory):
    """The location of a running memory server; at the end it must drain and exit 0 on SIGTERM."""
    with _served(tmp_path_factory, "memory server", ["memory-server", "--port", "0"]) as location:
        yield location


@pytest.fixture(scope="session")
def client(memory_server):
    """A plain pyarrow Flight client connected to the memory server."""
    c = flight.connect(memory_server)
    c.wait_for_available(timeout=30)
    yield c
    c.close()


@pytest.fixture
def descriptor(request):
    """A PATH descriptor no other test uses, so tests never see each other's flights."""
    return flight.FlightDescriptor.for_path("pytest", request.node.name, uuid.uuid4().hex)


@pytest.fixture
def call_options():
    """Every call gets a deadline, so a hung server fails the test instead of hanging it."""
    return flight.FlightCallOptions(timeout=float(os.environ.get("FLIGHT_TEST_CALL_TIMEOUT_S", "120")))


class FlightIO:
    """The few client-side steps every test repeats, with the call deadline applied.

    Streams are read with read_chunk() so that batch boundaries and app_metadata
    (including metadata-only messages) are seen exactly as they came over the wire.
    """

    def __init__(self, client, options):
        self.client = client
        self.options = options

    def with_write_options(self, write_options):
        """A copy whose calls write IPC with these options (e.g. compression)."""
        return FlightIO(self.client, flight.FlightCallOptions(timeout=self.options.timeout, write_options=write_options))

    def put(self, descriptor, schema, chunks):
        """DoPut `chunks` of (batch, app_metadata or None); returns the PutResult metadata."""
        writer, results = self.client.do_put(descriptor, schema, options=self.options)
        for batch, metadata in chunks:
            if metadata is None:
                writer.write_batch(batch)
            else:
                writer.write_with_metadata(batch, pa.py_buffer(metadata))
        writer.done_writing()
        received = []
        while (buf := results.read()) is not None:
            received.append(buf.to_pybytes())
        writer.close()
        return received

    @staticmethod
    def assert_same(sent, received):
        assert_same_batches(sent, received)

    def ticket(self, descriptor):
        info = self.client.get_flight_info(descriptor, options=self.options)
        assert len(info.endpoints) == 1
        return info.endpoints[0].ticket

    def get(self, descriptor):
        """DoGet the stored flight: (schema, [(batch, app_metadata or None)])."""
        reader = self.client.do_get(self.ticket(descriptor), options=self.options)
        return reader.schema, read_chunks(reader)

    def exchange(self, descriptor, schema, chunks):
        """DoExchange in lockstep: each chunk written is read back before the next.

        A chunk is (batch, metadata) or (None, metadata) for a metadata-only message.
        """
        writer, reader = self.client.do_exchange(descriptor, options=self.options)
        echoed = []
        with writer:
            writer.begin(schema)
            for batch, metadata in chunks:
                write_chunk(writer, batch, metadata)
                echoed.append(next_chunk(reader))
            writer.done_writing()
            rest = read_chunks(reader)
        assert rest == [], f"the echo sent {len(rest)} messages more than it was sent"
        return reader.schema, echoed


def write_chunk(writer, batch, metadata):
    """Writes one chunk: a batch, a batch with app_metadata, or app_metadata alone (batch None)."""
    if batch is None:
        writer.write_metadata(pa.py_buffer(metadata))
    elif metadata is None:
        writer.write_batch(batch)
    else:
        writer.write_with_metadata(batch, pa.py_buffer(metadata))


def next_chunk(reader):
    chunk = reader.read_chunk()
    return chunk.data, (chunk.app_metadata.to_pybytes() if chunk.app_metadata is not None else None)


def read_chunks(reader):
    """Every (batch, app_metadata) until the stream ends; bounded by the call deadline."""
    out = []
    while True:
        try:
            out.append(next_chunk(reader))
        except StopIteration:
            return out


@pytest.fixture
def io(client, call_options):
    return FlightIO(client, call_options)


def assert_same_batches(sent, received):
    """Same batch boundaries, same data, same app_metadata, in the same order."""
    assert len(received) == len(sent), f"sent {len(sent)} messages, received {len(received)}"
    for i, ((batch, metadata), (got, got_metadata)) in enumerate(zip(sent, received)):
        assert got_metadata == metadata, f"message {i}: app_metadata {got_metadata!r} != {metadata!r}"
        if batch is None:
            assert got is None, f"message {i}: expected metadata only, got a batch"
            continue
        assert got is not None, f"message {i}: expected a batch, got metadata only"
        assert got.schema.equals(batch.schema, check_metadata=True), f"message {i}: {got.schema} != {batch.schema}"
        assert got.equals(batch), f"message {i}: {got.to_pydict()} != {batch.to_pydict()}"


# --- The runner server: examples/serve.yaml, plus test-only runners -----------------------

RUNNER_SERVER_CONFIGS = ["examples/serve.yaml", "test/interop/python/runners/serve-test.yaml"]
RUNNER_READY_TIMEOUT_S = 120


@pytest.fixture(scope="session")
def runner_server(tmp_path_factory):
    """The location of `flight-runner serve examples/serve.yaml` (with the test-only runners of
    test/interop/python/runners/serve-test.yaml alongside), once every runner is ready; at the
    end it must drain and exit 0 on SIGTERM."""
    args = ["serve", *RUNNER_SERVER_CONFIGS, "--port", "0"]
    with _served(tmp_path_factory, "runner server", args, ready=_wait_until_ready) as location:
        yield location


def _wait_until_ready(location, proc, log_path):
    """Polls the `health` action until every runner is ready (runners load in the background)."""
    import json
    import time

    deadline = time.monotonic() + RUNNER_READY_TIMEOUT_S
    health = None
    with flight.connect(location) as c:
        while time.monotonic() < deadline and proc.poll() is None:
            results = list(c.do_action(flight.Action("health", b""), options=flight.FlightCallOptions(timeout=10)))
            health = json.loads(results[0].body.to_pybytes())
            if health["ready"]:
                return
            if "failed" in health["runners"].values():
                break
            time.sleep(0.2)
    pytest.fail(f"runners not ready within {RUNNER_READY_TIMEOUT_S}s: {health}; stderr:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def runner_client(runner_server):
    """A plain pyarrow Flight client connected to the runner server."""
    c = flight.connect(runner_server)
    c.wait_for_available(timeout=30)
    yield c
    c.close()
