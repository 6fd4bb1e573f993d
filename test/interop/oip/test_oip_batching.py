"""V2 and Flight callers of one method share its batches: the adaptive batcher merges a
V2 request and a Flight call that queue together into one backend call, as it merges two
Flight calls (docs/scheduling.md).

Deterministic, not timed: a first call holds the runner's only instance until the test
creates a file; the test waits for the instance to be busy (the `health` action), sends a
V2 request and a Flight call, waits until both are queued (the queue-rows gauge on
--metrics-port), then frees the instance. The runner answers each row with the number of
rows of the backend call it ran in.

The same gate makes the statistics test deterministic: the time a call is seen queued or
running before the gate opens is a lower bound of the queue and compute time the server
reports for it, however fast or slow the machine.
"""
import json
import re
import threading
import time
import urllib.request

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from conftest import TIMEOUT_S, Served, flight_conftest, free_port


@pytest.fixture(scope="module")
def gate_server(tmp_path_factory):
    http_port, metrics_port = free_port(), free_port()
    args = ["serve", "test/interop/oip/runners/gate.yaml", "--port", "0", "--http-port", str(http_port), "--metrics-port", str(metrics_port)]
    with flight_conftest._served(tmp_path_factory, "V2 gate server", args) as location:
        served = Served(location, http_port)
        served.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        yield served


def wait_for(what, check):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def flight_hold(location, texts, answers, key):
    client = flight.connect(location)
    try:
        batch = pa.record_batch([pa.array(texts, pa.string())], names=["text"])
        writer, reader = client.do_exchange(flight.FlightDescriptor.for_path("v2_gate"), options=flight.FlightCallOptions(timeout=TIMEOUT_S))
        with writer:
            writer.begin(batch.schema)
            writer.write_batch(batch)
            writer.done_writing()
            answers[key] = reader.read_all().to_pydict()
    finally:
        client.close()


def health(location):
    client = flight.connect(location)
    try:
        return json.loads(next(iter(client.do_action(flight.Action("health", b"")))).body.to_pybytes())
    finally:
        client.close()


def queued_rows(metrics_url):
    text = urllib.request.urlopen(metrics_url, timeout=TIMEOUT_S).read().decode()
    match = re.search(r'^flight_runner_queue_rows\{runner="v2_gate",method="hold"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_v2_request_and_a_flight_call_share_one_backend_call(gate_server, tmp_path):
    wait_for("v2_gate to load", lambda: health(gate_server.location)["ready"])
    gate = tmp_path / "gate"
    answers = {}
    holder = threading.Thread(target=flight_hold, args=(gate_server.location, [f"wait:{gate}"], answers, "held"))
    holder.start()
    wait_for("the instance to be busy", lambda: health(gate_server.location)["instances"].get("v2_gate") == ["busy"])

    v2_answers = []
    client = grpcclient.InferenceServerClient(gate_server.grpc_url)
    text = grpcclient.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array([b"over V2"], dtype=np.object_))
    client.async_infer("v2_gate", [text], callback=lambda result, error: v2_answers.append((result, error)))
    flight_caller = threading.Thread(target=flight_hold, args=(gate_server.location, ["over Flight"], answers, "flight"))
    flight_caller.start()
    wait_for("both calls to queue", lambda: queued_rows(gate_server.metrics_url) == 2)

    gate.write_text("open")
    holder.join(TIMEOUT_S)
    flight_caller.join(TIMEOUT_S)
    wait_for("the V2 answer", lambda: v2_answers)
    result, error = v2_answers[0]
    assert error is None, error
    assert answers["held"] == {"text": [f"wait:{gate}"], "rows": [1]}
    # The V2 request and the Flight call ran in one backend call of 2 rows.
    assert answers["flight"] == {"text": ["over Flight"], "rows": [2]}
    assert result.as_numpy("text").tolist() == [b"over V2"] and result.as_numpy("rows").tolist() == [2]


def gate_statistics(served):
    rest = httpclient.InferenceServerClient(served.http_url, network_timeout=TIMEOUT_S).get_inference_statistics("v2_gate")["model_stats"][0]
    over_grpc = grpcclient.InferenceServerClient(served.grpc_url).get_inference_statistics("v2_gate", as_json=True)["model_stats"][0]
    return rest, over_grpc


def test_statistics_measure_queue_and_compute_time(gate_server, tmp_path):
    wait_for("v2_gate to load", lambda: health(gate_server.location)["ready"])
    before, _ = gate_statistics(gate_server)
    started_ms = time.time() * 1000
    gate = tmp_path / "gate"
    answers = {}
    holder = threading.Thread(target=flight_hold, args=(gate_server.location, [f"wait:{gate}"], answers, "held"))
    holder.start()
    wait_for("the instance to be busy", lambda: health(gate_server.location)["instances"].get("v2_gate") == ["busy"])
    busy_at = time.monotonic()

    client = grpcclient.InferenceServerClient(gate_server.grpc_url)
    v2_answers = []
    for word in (b"first", b"second"):
        text = grpcclient.InferInput("text", [1], "BYTES")
        text.set_data_from_numpy(np.array([word], dtype=np.object_))
        client.async_infer("v2_gate", [text], callback=lambda result, error: v2_answers.append((result, error)))
    wait_for("both calls to queue", lambda: queued_rows(gate_server.metrics_url) == 2)
    queued_at = time.monotonic()
    # Longer holds make larger lower bounds; the bounds themselves are measured below.
    time.sleep(0.2)
    opened_at = time.monotonic()
    gate.write_text("open")
    holder.join(TIMEOUT_S)
    wait_for("both V2 answers", lambda: len(v2_answers) == 2)
    assert [error for _, error in v2_answers] == [None, None]
    failing = grpcclient.InferInput("text", [1], "BYTES")
    failing.set_data_from_numpy(np.array([b"fail"], dtype=np.object_))
    with pytest.raises(Exception, match="asked to fail"):
        client.infer("v2_gate", [failing])

    after, over_grpc = gate_statistics(gate_server)
    stats = after["inference_stats"]

    def grew(*path):
        a, b = after, before
        for key in path:
            a, b = a[key], b[key]
        return a - b

    # Three calls answered (one failed after); three rows in two backend calls (the two
    # queued calls merged); the failed call counts only as a failure.
    assert grew("inference_stats", "success", "count") == 3 and grew("inference_stats", "fail", "count") == 1
    assert grew("inference_stats", "fail", "ns") > 0
    assert grew("inference_count") == 3 and grew("execution_count") == 2
    for phase in ("queue", "compute_input", "compute_infer", "compute_output"):
        assert grew("inference_stats", phase, "count") == 3, phase
    # Nanoseconds, as Triton reports them: the two queued calls waited at least from when the
    # gauge showed them queued until the gate opened; the held call's backend call ran at
    # least from when its instance was seen busy until then.
    assert grew("inference_stats", "queue", "ns") >= 2 * (opened_at - queued_at) * 1e9
    assert grew("inference_stats", "compute_infer", "ns") >= (opened_at - busy_at) * 1e9
    # Each phase lies within its call, so the phases together take no longer than the calls.
    phases = sum(grew("inference_stats", p, "ns") for p in ("queue", "compute_input", "compute_infer", "compute_output"))
    assert phases <= grew("inference_stats", "success", "ns")
    assert started_ms <= after["last_inference"] <= time.time() * 1000
    # gRPC reports the same numbers (uint64s, which protobuf's JSON writes as strings).
    assert int(over_grpc["inference_stats"]["queue"]["ns"]) == stats["queue"]["ns"]
    assert int(over_grpc["inference_stats"]["compute_infer"]["ns"]) == stats["compute_infer"]["ns"]
    assert int(over_grpc["execution_count"]) == after["execution_count"] and int(over_grpc["last_inference"]) == after["last_inference"]
