"""The kserve backend against real V2 servers: Triton (nvidia-pytriton, Python-function
models) and MLServer (a custom runtime), fronted by `flight-runner serve` and called with
plain pyarrow Flight. Expected values are computed here with numpy from the inputs, as
the peers' models define them (peers/triton_peer.py, peers/mlserver/runtime.py).

The last test stops MLServer: keep it last.
"""
import json
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

CALL_TIMEOUT_S = 60


def options():
    return flight.FlightCallOptions(timeout=CALL_TIMEOUT_S)


def call(client, runner, batch):
    """One batch in, the one answer batch out (DoExchange on PATH [runner])."""
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path(runner), options=options())
    with writer:
        writer.begin(batch.schema)
        writer.write_batch(batch)
        writer.done_writing()
        chunks = []
        while True:
            try:
                chunks.append(reader.read_chunk())
            except StopIteration:
                break
    batches = [c.data for c in chunks if c.data is not None]
    assert len(batches) == 1, f"one batch in, {len(batches)} out"
    return batches[0]


def tensor_column(array, arrow_type):
    """A fixed_shape_tensor column of per-row shape array.shape[1:] (bool included, which
    FixedShapeTensorArray.from_numpy_ndarray does not take)."""
    shape = list(array.shape[1:])
    size = int(np.prod(shape))
    storage = pa.FixedSizeListArray.from_arrays(pa.array(array.reshape(-1), type=arrow_type), size)
    return pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(arrow_type, shape), storage)


def tensor_values(column, dtype):
    """A fixed_shape_tensor column back as a numpy array [rows, ...shape]."""
    shape = column.type.shape
    flat = column.storage.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=dtype).reshape([len(column), *shape])


def test_triton_every_datatype_round_trips_exactly(kserve_client):
    f16 = np.array([[1.5, -2.25], [65504, 0.0009765625], [-0.0, 3.140625]], dtype=np.float16)
    # 2**53 + 1 is not a double: an int64 that went through a float would come back wrong.
    i64 = np.array([[2**53 + 1], [-(2**62)], [7]], dtype=np.int64)
    flag = np.array([[True, False, True], [False, False, False], [True, True, False]])
    text = ["héllo", "", "naïve Δ"]
    u8 = np.array([[0, 255], [1, 128], [200, 3]], dtype=np.uint8)
    batch = pa.record_batch([
        tensor_column(f16, pa.float16()), tensor_column(i64, pa.int64()), tensor_column(flag, pa.bool_()),
        pa.array(text, pa.string()), tensor_column(u8, pa.uint8()),
    ], names=["f16", "i64", "flag", "text", "u8"])

    out = call(kserve_client, "types", batch)

    assert out.num_rows == 3
    assert out.schema.field("text_out").type == pa.string()
    got_f16 = tensor_values(out.column("f16_out"), np.float16)
    with np.errstate(over="ignore"):  # 65504 * 2 is inf in float16, on both sides
        assert got_f16.tobytes() == (f16 * np.float16(2)).astype(np.float16).tobytes()
    assert out.column("f16_out").type.value_type == pa.float16()
    assert tensor_values(out.column("i64_out"), np.int64).tolist() == (i64 * 3 - 1).tolist()
    assert tensor_values(out.column("flag_out"), np.bool_).tolist() == np.logical_not(flag).tolist()
    assert out.column("text_out").to_pylist() == [(t.encode().upper() + b"!").decode() for t in text]
    assert tensor_values(out.column("u8_out"), np.uint8).tolist() == (255 - u8).tolist()


def test_mlserver_fp32_fp16_and_bytes(kserve_client):
    x = np.array([[1.0, -2.5, 1e30], [0.1, 0.2, 0.3]], dtype=np.float32)
    f16 = np.array([[0.5, -1.0], [1024.0, 0.099975586]], dtype=np.float16)
    text = ["abc", "ünïcode"]
    batch = pa.record_batch([tensor_column(x, pa.float32()), tensor_column(f16, pa.float16()), pa.array(text, pa.string())],
                            names=["x", "f16", "text"])

    out = call(kserve_client, "mtypes", batch)

    assert tensor_values(out.column("y"), np.float32).tobytes() == (x * np.float32(2) + np.float32(1)).astype(np.float32).tobytes()
    assert tensor_values(out.column("f16_out"), np.float16).tobytes() == (f16 * np.float16(2)).astype(np.float16).tobytes()
    assert out.column("text_out").to_pylist() == [(t.encode().upper() + b"!").decode() for t in text]
    # MLServer's per-example scalar ([-1] in its metadata) is a plain int32 column.
    assert out.schema.field("rows").type == pa.int32()
    assert out.column("rows").to_pylist() == [2, 2]


def test_concurrent_callers_share_a_backend_call(kserve_client):
    """A first call holds the runner's one instance (its model sleeps on "hold"); callers that
    arrive meanwhile queue, and the batcher sends them to Triton as one ModelInfer."""
    callers = 6
    results = [None] * (callers + 1)

    def one(i, text):
        batch = pa.record_batch([
            tensor_column(np.array([[i, -i]], dtype=np.float16), pa.float16()),
            tensor_column(np.array([[i]], dtype=np.int64), pa.int64()),
            tensor_column(np.array([[i % 2 == 0, True, False]]), pa.bool_()),
            pa.array([text], pa.string()),
            tensor_column(np.array([[i, 2 * i]], dtype=np.uint8), pa.uint8()),
        ], names=["f16", "i64", "flag", "text", "u8"])
        results[i] = call(kserve_client, "types", batch)

    holder = threading.Thread(target=one, args=(0, "hold"))
    holder.start()
    # Not a timed assertion: only gives the holding call a head start to reach the instance.
    time.sleep(0.5)
    threads = [threading.Thread(target=one, args=(i, f"caller {i}")) for i in range(1, callers + 1)]
    for t in threads:
        t.start()
    for t in [holder, *threads]:
        t.join(timeout=CALL_TIMEOUT_S * 2)
    assert results[0] is not None and results[0].column("text_out").to_pylist() == ["HOLD!"]
    for i in range(1, callers + 1):
        out = results[i]
        assert out is not None, f"caller {i} got no answer"
        assert out.num_rows == 1
        assert out.column("i64_out").storage.flatten().to_pylist() == [3 * i - 1]
        assert out.column("text_out").to_pylist() == [f"CALLER {i}!"]
    # The model reports the rows of the batch it ran: callers merged into one ModelInfer.
    seen = [results[i].column("rows").storage.flatten().to_pylist()[0] for i in range(1, callers + 1)]
    assert max(seen) > 1, f"every caller ran alone: {seen}"


def test_calls_larger_than_max_batch_size_are_split(kserve_client):
    # small_batch has max_batch_size 4 in Triton: a 10-row call must reach it in pieces.
    x = np.arange(40, dtype=np.float32).reshape(10, 4) / 8
    out = call(kserve_client, "small", pa.record_batch([tensor_column(x, pa.float32())], names=["x"]))
    assert tensor_values(out.column("y"), np.float32).tolist() == (x + np.float32(1)).tolist()
    seen = out.column("rows").storage.flatten().to_pylist()
    assert len(seen) == 10 and max(seen) <= 4, seen


def test_signature_comes_from_model_metadata(kserve_client):
    listing = json.loads(next(iter(kserve_client.do_action(flight.Action("list-runners", b""), options=options()))).body.to_pybytes())
    runners = {r["name"]: r for r in listing["runners"]}
    method = runners["small"]["methods"][0]
    assert method["batchable"] is True
    assert method["inputs"] == [{"name": "x", "kind": "tensor", "dtype": "float32", "shape": [4]}]
    assert method["limits"] == {"maxBatchRows": 4}
    # The MLServer model's BYTES [-1] is one string per example, as the config asked.
    mtypes = runners["mtypes"]["methods"][0]
    assert {"name": "text", "kind": "string"} in mtypes["inputs"]


def test_a_model_the_peer_lacks_is_a_visible_failed_runner(kserve_client, triton_peer):
    health = json.loads(next(iter(kserve_client.do_action(flight.Action("health", b""), options=options()))).body.to_pybytes())
    assert health["runners"]["missing"] == "failed"
    assert f"kserve model 'no_such_model' at 127.0.0.1:{triton_peer}" in health["errors"]["missing"]
    assert "NOT_FOUND" in health["errors"]["missing"]
    batch = pa.record_batch([tensor_column(np.zeros((1, 4), np.float32), pa.float32())], names=["x"])
    with pytest.raises(flight.FlightError) as info:
        call(kserve_client, "missing", batch)
    assert "missing" in str(info.value)


def test_nulls_are_refused_not_sent(kserve_client):
    x = pa.ExtensionArray.from_storage(
        pa.fixed_shape_tensor(pa.float32(), [3]),
        pa.FixedSizeListArray.from_arrays(pa.array([1, 2, 3, 4, 5, 6], pa.float32()), 3, mask=pa.array([False, True])),
    )
    f16 = tensor_column(np.zeros((2, 2), np.float16), pa.float16())
    batch = pa.record_batch([x, f16, pa.array(["a", "b"], pa.string())], names=["x", "f16", "text"])
    # Refused before anything is sent: V2 tensors have no nulls, and a zero is not a null.
    with pytest.raises(pa.ArrowInvalid) as info:
        call(kserve_client, "mtypes", batch)
    assert "'x' cannot be null" in str(info.value)


def test_a_model_error_names_the_remote_model(kserve_client, mlserver_peer):
    x = np.array([[1, -999, 3]], dtype=np.float32)
    batch = pa.record_batch([tensor_column(x, pa.float32()), tensor_column(np.zeros((1, 2), np.float16), pa.float16()),
                             pa.array(["a"], pa.string())], names=["x", "f16", "text"])
    with pytest.raises(flight.FlightError) as info:
        call(kserve_client, "mtypes", batch)
    message = str(info.value)
    assert f"kserve model 'mtypes' at 127.0.0.1:{mlserver_peer.grpc_port} failed" in message
    assert "mtypes refuses -999" in message


def test_the_peer_going_away_is_a_clear_unavailable(kserve_client, mlserver_peer):
    """Keep last: stops the MLServer peer."""
    batch = pa.record_batch([tensor_column(np.ones((1, 3), np.float32), pa.float32()),
                             tensor_column(np.zeros((1, 2), np.float16), pa.float16()), pa.array(["a"], pa.string())],
                            names=["x", "f16", "text"])
    assert call(kserve_client, "mtypes", batch).num_rows == 1
    mlserver_peer.stop()
    with pytest.raises(flight.FlightUnavailableError) as info:
        call(kserve_client, "mtypes", batch)
    assert f"kserve model 'mtypes' at 127.0.0.1:{mlserver_peer.grpc_port} failed: UNAVAILABLE" in str(info.value)
    # The other peer's runners still serve.
    x = np.ones((1, 4), np.float32)
    out = call(kserve_client, "small", pa.record_batch([tensor_column(x, pa.float32())], names=["x"]))
    assert tensor_values(out.column("y"), np.float32).tolist() == [[2.0, 2.0, 2.0, 2.0]]
