"""GOAWAY INTERNAL_ERROR under floods (issue #9, item 7): its cause, and the server's log line.

nghttp2 (inside Node's http2) limits the RST_STREAM frames a client may send on one
connection: a burst of 1000, then 33 a second (CVE-2023-44487, "rapid reset"). Past it,
nghttp2 itself sends GOAWAY with INTERNAL_ERROR, and Node tells the server nothing. A pyarrow
(grpc-core) client sends RST_STREAM for every call it cancels (or whose deadline passes) and
for every call the server ends before the client finished sending (a refusal such as
RESOURCE_EXHAUSTED or NOT_FOUND). Each test drives one of these past the limit on one
connection, from a real pyarrow client in its own process (so its gRPC log can be read), and
requires the client to see the GOAWAY, the next call to succeed, and the server to log the
connection's peer and the code.
"""
import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import REPO_ROOT, _served, _wait_until_ready

# Well past nghttp2's burst of 1000 resets plus 33 a second for the seconds the calls take.
CALLS = 1500
CLIENT_TIMEOUT_S = 240
LOG_WAIT_S = 30
GOAWAY_INTERNAL = re.compile(r"goaway.*(\[2\]|error code: 2)", re.IGNORECASE)
RAPID_RESET_MSG = "HTTP/2 connection over the rapid-reset limit"

CLIENT = textwrap.dedent("""
    import sys
    import pyarrow as pa, pyarrow.flight as flight
    location, mode, path, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = flight.connect(location)
    batch = pa.record_batch([pa.array([1.0, 2.0])], names=["x"])
    errors = set()
    for _ in range(calls):
        try:
            # A refusal can arrive before do_exchange returns: it raises then.
            writer, reader = client.do_exchange(flight.FlightDescriptor.for_path(path))
            writer.begin(batch.schema)
            writer.write_batch(batch)
            if mode == "cancel":
                reader.cancel()
            elif mode == "refused":
                reader.read_all()  # the server refuses before this client half-closes
            else:
                writer.done_writing()
                reader.read_all()
            writer.close()
        except Exception as e:  # NOT_FOUND is an ArrowKeyError, cancelling a FlightCancelledError
            errors.add(type(e).__name__)
    if path == "echo":  # the next call works (on a new connection after a GOAWAY)
        writer, reader = client.do_exchange(flight.FlightDescriptor.for_path(path))
        writer.begin(batch.schema)
        writer.write_batch(batch)
        writer.done_writing()
        assert reader.read_all().num_rows == 2
        writer.close()
    print("errors:" + ",".join(sorted(errors)), flush=True)
""")


class Server:
    def __init__(self, location, log_path):
        self.location = location
        self.log_path = log_path

    def log_lines(self, msg):
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg", "").startswith(msg):
                out.append(entry)
        return out


def _server(tmp_path_factory, name, args, wait_ready):
    found = {}

    def ready(location, proc, log_path):
        if wait_ready:
            _wait_until_ready(location, proc, log_path)
        found["log_path"] = log_path

    return _served(tmp_path_factory, name, args, ready=ready), found


@pytest.fixture(scope="module")
def memory(tmp_path_factory):
    served, found = _server(tmp_path_factory, "goaway memory server", ["memory-server", "--port", "0"], False)
    with served as location:
        yield Server(location, found["log_path"])


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    config = tmp_path_factory.mktemp("goaway-serve") / "serve.yaml"
    config.write_text(
        "runners:\n"
        f"  - path: {REPO_ROOT / 'examples' / 'models' / 'iris.onnx'}\n"
        "    options: { intraOpNumThreads: 1 }\n"
    )
    served, found = _server(tmp_path_factory, "goaway runner server", ["serve", str(config), "--port", "0"], True)
    with served as location:
        yield Server(location, found["log_path"])


def run_client(tmp_path, server, mode, path, calls=CALLS):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    env = {**os.environ, "GRPC_VERBOSITY": "INFO"}
    done = subprocess.run(
        [sys.executable, str(script), server.location, mode, path, str(calls)],
        capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, f"client failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


def wait_for_log(server, msg, before):
    deadline = time.monotonic() + LOG_WAIT_S
    while time.monotonic() < deadline:
        lines = server.log_lines(msg)
        if len(lines) > before:
            return lines[before:]
        time.sleep(0.1)
    return []


def assert_goaway_logged(server, done, before, connections=1):
    goaways = [line for line in done.stderr.splitlines() if GOAWAY_INTERNAL.search(line)]
    assert goaways, f"the client saw no GOAWAY INTERNAL_ERROR; its log:\n{done.stderr[-4000:]}"
    lines = wait_for_log(server, RAPID_RESET_MSG, before)
    assert 1 <= len(lines) <= connections, f"server log lines {lines!r}; server log:\n{server.log_path.read_text()[-4000:]}"
    line = lines[0]
    assert line["level"] == "warn"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", line["peer"]), line
    assert line["code"] == "INTERNAL_ERROR"
    assert line["resets"] > 1000


def test_cancelled_calls_past_the_rapid_reset_limit_get_goaway_and_a_log_line(tmp_path, memory):
    before = len(memory.log_lines(RAPID_RESET_MSG))
    done = run_client(tmp_path, memory, "cancel", "echo")
    assert "errors:FlightCancelledError" in done.stdout
    assert_goaway_logged(memory, done, before)


def test_calls_refused_before_the_client_half_closed_count_as_resets(tmp_path, runners):
    # NOT_FOUND at once, as a full queue answers RESOURCE_EXHAUSTED: the client is still
    # sending, so grpc-core resets each such stream with RST_STREAM(NO_ERROR).
    # The server counts these resets from what it sees; one that crosses its status is
    # missed, so under load its count runs short of the client's: send enough calls that
    # it passes the limit all the same (the client then meets GOAWAY on up to 4 connections, one per ~1,000 resets).
    before = len(runners.log_lines(RAPID_RESET_MSG))
    done = run_client(tmp_path, runners, "refused", "no_such_runner", calls=3 * CALLS)
    assert "errors:" in done.stdout
    assert_goaway_logged(runners, done, before, connections=5)


def test_calls_that_end_normally_neither_get_goaway_nor_log_it(tmp_path, memory):
    before = len(memory.log_lines(RAPID_RESET_MSG))
    done = run_client(tmp_path, memory, "ok", "echo")
    assert "errors:\n" in done.stdout or done.stdout.strip() == "errors:"
    assert not [line for line in done.stderr.splitlines() if GOAWAY_INTERNAL.search(line)], done.stderr[-4000:]
    # The two servers' other tests ran before or after: this one adds no line either way.
    assert memory.log_lines(RAPID_RESET_MSG)[before:] == []
