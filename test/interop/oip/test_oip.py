"""The Open Inference Protocol (KServe V2) as flight-runner serves it (docs/oip.md), called
with tritonclient's gRPC and HTTP clients and, for the same answers, with pyarrow.flight.

Runs against `flight-runner serve examples/serve.yaml test/interop/oip/runners/oip-test.yaml`
(V2 gRPC on the Flight port, REST on --http-port) and an iris server with a bearer token.
"""
import base64
import json
import queue
import urllib.error
import urllib.request

import grpc as grpcio
import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from conftest import TIMEOUT_S, TOKEN

FLOWERS = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [7.2, 3.2, 6.0, 2.2]], dtype=np.float32)

# Three rows of two values per datatype, with each type's extremes.
VALUES = {
    "bool": np.array([[True, False], [False, False], [True, True]]),
    "int8": np.array([[-128, 127], [0, -1], [5, 6]], np.int8),
    "int16": np.array([[-32768, 32767], [0, -1], [300, 301]], np.int16),
    "int32": np.array([[-2**31, 2**31 - 1], [0, -1], [70000, 70001]], np.int32),
    "int64": np.array([[-2**63, 2**63 - 1], [0, -1], [2**53 + 1, 5]], np.int64),
    "uint8": np.array([[0, 255], [1, 2], [3, 4]], np.uint8),
    "uint16": np.array([[0, 65535], [1, 2], [3, 4]], np.uint16),
    "uint32": np.array([[0, 2**32 - 1], [1, 2], [3, 4]], np.uint32),
    "uint64": np.array([[0, 2**64 - 1], [1, 2], [2**63, 4]], np.uint64),
    "float16": np.array([[0.5, -2.25], [65504, 0.099975586], [1, 3]], np.float16),
    "float32": np.array([[0.1, -1.5], [3.4028235e38, 1e-20], [2, 7]], np.float32),
    "float64": np.array([[0.1, -1.5], [1.7976931348623157e308, 5e-324], [2, 7]], np.float64),
}
TEXT = np.array(["héllo", "", "three words here"], dtype=np.object_)
BLOB = np.array([b"\x00\xff\x10", b"", b"abc"], dtype=np.object_)
V2_TYPE = {
    "bool": "BOOL", "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64", "uint8": "UINT8", "uint16": "UINT16",
    "uint32": "UINT32", "uint64": "UINT64", "float16": "FP16", "float32": "FP32", "float64": "FP64",
}
JSON_SAFE = {  # values JSON carries exactly: 64-bit integers within ±(2^53-1)
    **VALUES,
    "int64": np.array([[-2**53 + 1, 2**53 - 1], [0, -1], [7, 5]], np.int64),
    "uint64": np.array([[0, 2**53 - 1], [1, 2], [3, 4]], np.uint64),
}


def js_number(x):
    """How JavaScript's String() writes a number: integers without '.0'."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e21 else repr(x).replace("e-0", "e-").replace("e+0", "e+")


def seen_rows(values, text, blob):
    """What v2_types' `seen` must say per row, computed here from the values sent."""
    rows = []
    for i in range(len(text)):
        parts = []
        for dtype, array in values.items():
            row = array[i]
            if dtype == "bool":
                parts.append(f"{dtype}=" + " ".join("true" if v else "false" for v in row))
            elif dtype.startswith(("int", "uint")):
                parts.append(f"{dtype}=" + " ".join(str(int(v)) for v in row))
            else:
                parts.append(f"{dtype}=" + " ".join(js_number(v) for v in row))
        parts.append(f"text={text[i]}")
        parts.append(f"blob={bytes(blob[i]).hex()}")
        rows.append(";".join(parts))
    return rows


def types_inputs(module, values, text, blob, binary=True):
    inputs = []
    for dtype, array in values.items():
        inp = module.InferInput(dtype, list(array.shape), V2_TYPE[dtype])
        inp.set_data_from_numpy(array, **({} if module is grpcclient else {"binary_data": binary}))
        inputs.append(inp)
    for name, array in (("text", np.array([t.encode() for t in text], dtype=np.object_)), ("blob", blob)):
        inp = module.InferInput(name, [len(array)], "BYTES")
        inp.set_data_from_numpy(array, **({} if module is grpcclient else {"binary_data": binary}))
        inputs.append(inp)
    return inputs


def check_types_answer(result, values, text, blob):
    for dtype, array in values.items():
        got = result.as_numpy(dtype)
        assert got.dtype == array.dtype and got.shape == array.shape, dtype
        assert got.tobytes() == array.tobytes(), dtype
    assert [bytes(t).decode() if isinstance(t, bytes) else t for t in result.as_numpy("text")] == list(text)
    assert [bytes(b) if not isinstance(b, str) else b.encode() for b in result.as_numpy("blob")] == [bytes(b) for b in blob]
    seen = [s.decode() if isinstance(s, bytes) else s for s in result.as_numpy("seen")]
    assert seen == seen_rows(values, text, blob)


# ------------------------------------------------------------------ health and metadata

def test_health_and_server_metadata(grpc, http):
    assert grpc.is_server_live() and grpc.is_server_ready()
    assert http.is_server_live() and http.is_server_ready()
    for meta in (grpc.get_server_metadata(as_json=True), http.get_server_metadata()):
        assert meta["name"] == "flight-runner"
        assert {"model_configuration", "statistics", "binary_tensor_data"} <= set(meta["extensions"])
    assert grpc.is_model_ready("iris") and http.is_model_ready("iris") and http.is_model_ready("iris", "1")
    assert grpc.is_model_ready("iris.predict_proba") and http.is_model_ready("text_tools.concat")
    assert not grpc.is_model_ready("no_such_model") and not http.is_model_ready("no_such_model")
    assert not http.is_model_ready("iris", "7")


def test_model_metadata_has_the_batch_dimension(grpc, http):
    for meta in (grpc.get_model_metadata("iris", as_json=True), http.get_model_metadata("iris")):
        assert meta["name"] == "iris" and meta["versions"] == ["1"] and meta["platform"] == "onnxruntime-node"
        assert [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in meta["inputs"]] == [("features", "FP32", [-1, 4])]
        assert [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in meta["outputs"]] == [("label", "INT64", [-1])]
    proba = http.get_model_metadata("iris.predict_proba")
    assert [(t["name"], t["shape"]) for t in proba["outputs"]] == [("probabilities", [-1, 3])]
    loan = http.get_model_metadata("loan_scorer")  # a table input: one V2 input per column
    assert [(t["name"], t["datatype"], t["shape"]) for t in loan["inputs"]] == [("income", "FP64", [-1]), ("debt", "FP64", [-1]), ("age", "INT64", [-1])]
    text = http.get_model_metadata("text_tools")
    assert [(t["name"], t["datatype"]) for t in text["inputs"]] == [("text", "BYTES")]


def test_model_config_says_how_to_batch(grpc, http):
    for config in (grpc.get_model_config("iris", as_json=True)["config"], http.get_model_config("iris")):
        assert config["name"] == "iris"
        assert int(config["max_batch_size"]) > 0
        assert [(i["name"], i["data_type"], [int(d) for d in i["dims"]]) for i in config["input"]] == [("features", "TYPE_FP32", [4])]
        assert [(o["name"], o["data_type"], [int(d) for d in o.get("dims", [])]) for o in config["output"]] == [("label", "TYPE_INT64", [])]
    concat = http.get_model_config("text_tools.concat")  # not batchable: no batch dimension, rows are a free one
    assert concat["max_batch_size"] == 0
    assert [(i["name"], i["data_type"], i["dims"]) for i in concat["input"]] == [("text", "TYPE_STRING", [-1])]
    grpc_concat = grpc.get_model_config("text_tools.concat", as_json=True)["config"]
    assert int(grpc_concat.get("max_batch_size", 0)) == 0


# ------------------------------------------------------------------ datatypes

def test_every_datatype_over_grpc(grpc):
    result = grpc.infer("v2_types", types_inputs(grpcclient, VALUES, TEXT, BLOB), request_id="types-1")
    check_types_answer(result, VALUES, TEXT, BLOB)
    assert result.get_response().id == "types-1"


def test_every_datatype_over_http_binary(http):
    outputs = [httpclient.InferRequestedOutput(n, binary_data=True) for n in [*VALUES, "text", "blob", "seen"]]
    result = http.infer("v2_types", types_inputs(httpclient, VALUES, TEXT, BLOB), outputs=outputs, request_id="types-2")
    check_types_answer(result, VALUES, TEXT, BLOB)
    assert result.get_response()["id"] == "types-2"


def test_every_datatype_over_http_json(http):
    blob = np.array([b"plain", b"", b"abc"], dtype=np.object_)  # JSON BYTES are strings: UTF-8 only
    outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in [*JSON_SAFE, "text", "blob", "seen"]]
    result = http.infer("v2_types", types_inputs(httpclient, JSON_SAFE, TEXT, blob, binary=False), outputs=outputs)
    response = result.get_response()
    assert all("data" in o for o in response["outputs"])
    check_types_answer(result, JSON_SAFE, TEXT, blob)


def test_json_int64_output_is_exact(http):
    """64-bit integers past 2^53 sent as binary come back in JSON as exact digits."""
    outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in ("int64", "uint64")]
    result = http.infer("v2_types", types_inputs(httpclient, VALUES, TEXT, BLOB), outputs=outputs)
    assert result.as_numpy("int64").tolist() == VALUES["int64"].tolist()
    assert result.as_numpy("uint64").tolist() == VALUES["uint64"].tolist()


def typed_request(model, tensors, **fields):
    """A ModelInferRequest with typed contents (tritonclient always sends raw data)."""
    request = service_pb2.ModelInferRequest(model_name=model, **fields)
    for name, datatype, shape, contents in tensors:
        tensor = request.inputs.add(name=name, datatype=datatype, shape=shape)
        for field, values in contents.items():
            getattr(tensor.contents, field).extend(values)
    return request


@pytest.fixture(scope="module")
def stub(server):
    channel = grpcio.insecure_channel(server.grpc_url)
    yield service_pb2_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


CONTENTS_FIELD = {
    "bool": "bool_contents", "int8": "int_contents", "int16": "int_contents", "int32": "int_contents", "int64": "int64_contents",
    "uint8": "uint_contents", "uint16": "uint_contents", "uint32": "uint_contents", "uint64": "uint64_contents",
    "float32": "fp32_contents", "float64": "fp64_contents",
}


def test_typed_contents_of_every_datatype(stub):
    """Every typed list (InferTensorContents) reaches the runner with its values."""
    values = {k: v for k, v in VALUES.items() if k != "float16"}  # FP16 has no typed list: raw only
    tensors = [(d, V2_TYPE[d], list(a.shape), {CONTENTS_FIELD[d]: a.flatten().tolist()}) for d, a in values.items()]
    tensors += [("text", "BYTES", [3], {"bytes_contents": [t.encode() for t in TEXT]}), ("blob", "BYTES", [3], {"bytes_contents": list(BLOB)})]
    answer = stub.ModelInfer(typed_request("v2_types.typed", tensors, id="typed-1"), timeout=TIMEOUT_S)
    assert answer.id == "typed-1" and not any(o.HasField("contents") for o in answer.outputs)  # answers are raw
    raw = {o.name: (o, answer.raw_output_contents[i]) for i, o in enumerate(answer.outputs)}
    for dtype, array in values.items():
        out, data = raw[dtype]
        assert out.datatype == V2_TYPE[dtype] and list(out.shape) == [3, 2], dtype
        assert np.frombuffer(data, array.dtype).reshape(3, 2).tolist() == array.tolist(), dtype
    seen = grpcclient.InferResult(answer).as_numpy("seen")
    assert [s.decode() for s in seen] == seen_rows(values, TEXT, BLOB)


def test_typed_contents_in_the_wrong_list_or_for_fp16_are_refused(stub):
    fp16 = typed_request("scaler_fp16", [("x", "FP16", [1, 4], {"fp32_contents": [1.0] * 4})])
    with pytest.raises(grpcio.RpcError) as err:
        stub.ModelInfer(fp16, timeout=TIMEOUT_S)
    assert err.value.code() == grpcio.StatusCode.INVALID_ARGUMENT and "FP16 data cannot travel in typed contents" in err.value.details()
    wrong = typed_request("iris", [("features", "FP32", [1, 4], {"int_contents": [1, 2, 3, 4]})])
    with pytest.raises(grpcio.RpcError) as err:
        stub.ModelInfer(wrong, timeout=TIMEOUT_S)
    assert "FP32 data goes in contents.fp32_contents, but the request filled contents.int_contents" in err.value.details()
    narrow = typed_request("v2_types.typed", [(d, V2_TYPE[d], [1, 2], {CONTENTS_FIELD[d]: [0, 0]}) for d in CONTENTS_FIELD if d != "bool"]
                           + [("bool", "BOOL", [1, 2], {"bool_contents": [True, False]}),
                              ("text", "BYTES", [1], {"bytes_contents": [b""]}), ("blob", "BYTES", [1], {"bytes_contents": [b""]})])
    next(t for t in narrow.inputs if t.name == "int8").contents.int_contents[0] = 200
    with pytest.raises(grpcio.RpcError) as err:
        stub.ModelInfer(narrow, timeout=TIMEOUT_S)
    assert "input 'int8': element 0 is 200, outside INT8's range -128..127" in err.value.details()


def test_typed_contents_widen_like_flight_columns(stub):
    request = typed_request("loan_scorer", [
        ("income", "FP64", [2], {"fp64_contents": [85000.0, 20000.0]}),
        ("debt", "FP64", [2], {"fp64_contents": [5000.0, 30000.0]}),
        ("age", "INT32", [2], {"int_contents": [35, 52]}),  # INT32 widens to the declared INT64, as over Flight
    ])
    answer = stub.ModelInfer(request, timeout=TIMEOUT_S)
    names = [o.name for o in answer.outputs]
    approved = np.frombuffer(answer.raw_output_contents[names.index("approved")], np.uint8)
    assert names == ["score", "approved"] and approved.tolist() == [1, 0]


# ------------------------------------------------------------------ shapes, several inputs and outputs

def test_several_outputs_and_the_outputs_list(grpc, http):
    image = np.random.default_rng(7).random((2, 3, 8, 8), dtype=np.float32)
    for module, client in ((grpcclient, grpc), (httpclient, http)):
        inp = module.InferInput("image", [2, 3, 8, 8], "FP32")
        inp.set_data_from_numpy(image)
        full = client.infer("tensor_model", [inp])
        assert full.as_numpy("embedding").shape == (2, 2) and full.as_numpy("feature_map").shape == (2, 4, 8, 8)
        only = client.infer("tensor_model", [inp], outputs=[module.InferRequestedOutput("embedding")])
        assert only.as_numpy("feature_map") is None
        assert only.as_numpy("embedding").tobytes() == full.as_numpy("embedding").tobytes()


def test_table_runner_takes_one_input_per_column(http):
    inputs = []
    for name, datatype, values in (("income", "FP64", [85000.0, 20000.0, 52000.0]), ("debt", "FP64", [5000.0, 30000.0, 12000.0]), ("age", "INT64", [35, 52, 61])):
        inp = httpclient.InferInput(name, [3], datatype)
        inp.set_data_from_numpy(np.array(values, dtype=np.float64 if datatype == "FP64" else np.int64))
        inputs.append(inp)
    result = http.infer("loan_scorer", inputs)
    assert result.as_numpy("approved").dtype == np.bool_ and result.as_numpy("approved").tolist() == [True, False, True]
    assert result.as_numpy("score").shape == (3,)


def test_free_dimensions_and_non_batchable_methods(grpc):
    m = np.arange(12, dtype=np.float32).reshape(2, 2, 3)  # test_ragged takes matrices of any shape
    inp = grpcclient.InferInput("m", [2, 2, 3], "FP32")
    inp.set_data_from_numpy(m)
    result = grpc.infer("test_ragged", [inp])
    assert result.as_numpy("total").tolist() == [15.0, 51.0]
    assert [s.decode() for s in result.as_numpy("shape")] == ["2x3", "2x3"]
    # text_tools.concat is not batchable: the rows are one call, answered by one row.
    text = grpcclient.InferInput("text", [3], "BYTES")
    text.set_data_from_numpy(np.array([b"a", b"b", b"c"], dtype=np.object_))
    joined = grpc.infer("text_tools.concat", [text], parameters={"separator": "+"})
    assert joined.as_numpy("joined").tolist() == [b"a+b+c"]


def test_json_outputs_are_bytes_of_json_text_and_params_reach_the_runner(grpc, http):
    text = grpcclient.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array([b"A A a"], dtype=np.object_))
    lower = json.loads(grpc.infer("text_tools", [text]).as_numpy("stats")[0])
    kept = json.loads(grpc.infer("text_tools", [text], parameters={"lowercase": False}).as_numpy("stats")[0])
    assert lower == {"chars": 5, "words": 3, "top": "a"} and kept == {"chars": 5, "words": 3, "top": "A"}
    inp = httpclient.InferInput("text", [1], "BYTES")
    inp.set_data_from_numpy(np.array(["A A a"], dtype=np.object_), binary_data=False)
    result = http.infer("text_tools", [inp], outputs=[httpclient.InferRequestedOutput("stats", binary_data=False)])
    assert json.loads(result.as_numpy("stats")[0]) == lower


def test_fp16_model(grpc):
    x = np.array([[1, 2, 3, 4], [0.5, -1, 8, 65504]], dtype=np.float16)
    inp = grpcclient.InferInput("x", [2, 4], "FP16")
    inp.set_data_from_numpy(x)
    y = grpc.infer("scaler_fp16", [inp]).as_numpy("y")
    assert y.dtype == np.float16 and y.shape == (2, 4)


def test_stream_infer_answers_in_order_with_errors_in_line(grpc):
    answers = queue.Queue()
    grpc.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        for i, flowers in enumerate((FLOWERS, FLOWERS[:1], FLOWERS[1:])):
            inp = grpcclient.InferInput("features", list(flowers.shape), "FP32")
            inp.set_data_from_numpy(flowers)
            grpc.async_stream_infer("iris", [inp], request_id=f"s{i}")
        bad = grpcclient.InferInput("features", [1, 3], "FP32")
        bad.set_data_from_numpy(np.zeros((1, 3), np.float32))
        grpc.async_stream_infer("iris", [bad], request_id="bad")
        inp = grpcclient.InferInput("features", [1, 4], "FP32")
        inp.set_data_from_numpy(FLOWERS[2:])
        grpc.async_stream_infer("iris", [inp], request_id="after")
        got = [answers.get(timeout=TIMEOUT_S) for _ in range(5)]
    finally:
        grpc.stop_stream()
    labels = [(r.get_response().id, r.as_numpy("label").tolist()) for r, e in got if e is None]
    assert labels == [("s0", [0, 1, 2]), ("s1", [0]), ("s2", [1, 2]), ("after", [2])]
    errors = [e for r, e in got if e is not None]
    assert len(errors) == 1 and "shape [1,3]" in str(errors[0]) and "INVALID_ARGUMENT" in str(errors[0])


# ------------------------------------------------------------------ the same answers as Flight, the same stats

def flight_call(location, path, batch):
    client = flight.connect(location)
    try:
        writer, reader = client.do_exchange(flight.FlightDescriptor.for_path(*path), options=flight.FlightCallOptions(timeout=TIMEOUT_S))
        with writer:
            writer.begin(batch.schema)
            writer.write_batch(batch)
            writer.done_writing()
            table = reader.read_all()
        return table
    finally:
        client.close()


def test_flight_and_v2_answers_are_bit_identical(server, grpc, http):
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(FLOWERS)], names=["features"])
    over_flight = flight_call(server.location, ["iris", "predict_proba"], batch)
    expected = over_flight.column("probabilities").combine_chunks().to_numpy_ndarray()
    for module, client in ((grpcclient, grpc), (httpclient, http)):
        inp = module.InferInput("features", [3, 4], "FP32")
        inp.set_data_from_numpy(FLOWERS)
        got = client.infer("iris.predict_proba", [inp]).as_numpy("probabilities")
        assert got.dtype == np.float32 and got.tobytes() == expected.astype(np.float32).tobytes()
    labels = flight_call(server.location, ["iris"], batch).column("label").to_pylist()
    inp = grpcclient.InferInput("features", [3, 4], "FP32")
    inp.set_data_from_numpy(FLOWERS)
    assert grpc.infer("iris", [inp]).as_numpy("label").tolist() == labels == [0, 1, 2]


def flight_stats(location):
    client = flight.connect(location)
    try:
        return json.loads(next(iter(client.do_action(flight.Action("stats", b"")))).body.to_pybytes())
    finally:
        client.close()


def test_v2_calls_count_in_stats_and_statistics(server, grpc, http):
    before_flight = flight_stats(server.location)["runners"].get("mlp_small", {}).get("predict", {"calls": 0, "rows": 0})
    before = http.get_inference_statistics("mlp_small")["model_stats"][0]
    meta = http.get_model_metadata("mlp_small")
    shape = [5, *meta["inputs"][0]["shape"][1:]]
    x = np.ones(shape, np.float32)
    for module, client in ((grpcclient, grpc), (httpclient, http)):
        inp = module.InferInput(meta["inputs"][0]["name"], shape, "FP32")
        inp.set_data_from_numpy(x)
        client.infer("mlp_small", [inp])
    after = http.get_inference_statistics("mlp_small")["model_stats"][0]
    assert after["inference_count"] - before["inference_count"] == 10
    assert after["inference_stats"]["success"]["count"] - before["inference_stats"]["success"]["count"] == 2
    # perf_analyzer finds the version it measures by the queue count rising.
    assert after["inference_stats"]["queue"]["count"] - before["inference_stats"]["queue"]["count"] == 2
    grpc_stats = grpc.get_inference_statistics("mlp_small", as_json=True)["model_stats"][0]
    assert int(grpc_stats["inference_count"]) == after["inference_count"]
    after_flight = flight_stats(server.location)["runners"]["mlp_small"]["predict"]
    assert after_flight["calls"] - before_flight["calls"] == 2 and after_flight["rows"] - before_flight["rows"] == 10


# ------------------------------------------------------------------ errors

def grpc_error(call):
    with pytest.raises(InferenceServerException) as err:
        call()
    return err.value.status(), err.value.message()


def http_post(server, path, body, headers=None):
    request = urllib.request.Request(f"http://{server.http_url}{path}", data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def iris_input(module, shape=(1, 4), datatype="FP32", name="features", array=None):
    inp = module.InferInput(name, list(shape), datatype)
    inp.set_data_from_numpy(array if array is not None else np.zeros(shape, np.float32))
    return inp


def test_unknown_model_is_not_found(grpc, http, server):
    status, message = grpc_error(lambda: grpc.infer("no_such_model", [iris_input(grpcclient)]))
    assert status == "StatusCode.NOT_FOUND" and "unknown model 'no_such_model'" in message and "'iris'" in message
    status, message = grpc_error(lambda: grpc.get_model_metadata("no_such_model"))
    assert status == "StatusCode.NOT_FOUND"
    status, message = grpc_error(lambda: grpc.get_model_config("iris.no_such_method"))
    assert status == "StatusCode.NOT_FOUND" and "no method 'no_such_method'" in message
    status, message = grpc_error(lambda: grpc.get_model_metadata("iris", "7"))
    assert status == "StatusCode.NOT_FOUND" and "no version '7'" in message
    code, body = http_post(server, "/v2/models/no_such_model/infer", b'{"inputs": []}')
    assert code == 404 and "unknown model 'no_such_model'" in json.loads(body)["error"]
    with pytest.raises(InferenceServerException) as err:
        http.get_model_metadata("no_such_model")
    assert "unknown model" in err.value.message()


def test_bad_inputs_are_invalid_argument(grpc, http):
    cases = [
        ([iris_input(grpcclient, datatype="FP64", array=np.zeros((1, 4)))], "has datatype FP64; the model takes FP32"),
        ([iris_input(grpcclient, shape=(1, 3), array=np.zeros((1, 3), np.float32))], "has shape [1,3]; the model takes [-1,4]"),
        ([iris_input(grpcclient, shape=(4,), array=np.zeros(4, np.float32))], "has shape [4]; the model takes [-1,4]"),
        ([iris_input(grpcclient, name="petals")], "unknown input 'petals'; its inputs are 'features'"),
        ([], "missing input 'features' (FP32 [-1,4])"),
        ([iris_input(grpcclient), iris_input(grpcclient)], "input 'features' is given twice"),
        ([iris_input(grpcclient, name=f"n{i}" + "x" * 100) for i in range(10)], "unknown input 'n0" + "x" * 58 + "', "),
        ([iris_input(grpcclient, name=f"n{i}") for i in range(10)], "unknown input 'n0', 'n1', 'n2', 'n3', 'n4' and 5 more; its inputs are 'features'"),
    ]
    for inputs, expected in cases:
        status, message = grpc_error(lambda: grpc.infer("iris", inputs))
        assert status == "StatusCode.INVALID_ARGUMENT" and expected in message, (expected, message)
    status, message = grpc_error(lambda: grpc.infer("iris", [iris_input(grpcclient)], outputs=[grpcclient.InferRequestedOutput("nope")]))
    assert status == "StatusCode.INVALID_ARGUMENT" and "unknown output 'nope' requested; its outputs are 'label'" in message
    with pytest.raises(InferenceServerException) as err:
        http.infer("iris", [iris_input(httpclient, datatype="INT64", array=np.zeros((1, 4), np.int64))])
    assert "has datatype INT64; the model takes FP32" in err.value.message()


def test_raw_data_is_checked_against_shape_and_datatype(stub):
    def raw(model, tensors, contents):
        request = service_pb2.ModelInferRequest(model_name=model)
        for name, datatype, shape in tensors:
            request.inputs.add(name=name, datatype=datatype, shape=shape)
        request.raw_input_contents.extend(contents)
        with pytest.raises(grpcio.RpcError) as err:
            stub.ModelInfer(request, timeout=TIMEOUT_S)
        return err.value.code(), err.value.details()

    code, details = raw("iris", [("features", "FP32", [2, 4])], [b"\0" * 31])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "raw data of 31 bytes does not fit shape [2,4] of FP32 (8 elements x 4 bytes = 32 bytes)" in details
    code, details = raw("iris", [("features", "FP32", [2, 4])], [b"\0" * 32, b"\0"])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "raw_input_contents has 2 entries for 1 inputs" in details
    code, details = raw("iris", [("features", "FP32", [2**40, 4])], [b"\0" * 32])  # a huge shape allocates nothing
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "does not fit shape" in details
    code, details = raw("iris", [("features", "FP32", [-2, 4])], [b"\0" * 32])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "dimensions are integers >= 0" in details
    code, details = raw("iris", [("features", "FLOAT", [1, 4])], [b"\0" * 16])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "not a V2 datatype" in details
    code, details = raw("text_tools", [("text", "BYTES", [1])], [b"\x05\0\0\0abc"])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "BYTES element 0 declares 5 bytes, but only 3 remain" in details
    code, details = raw("text_tools", [("text", "BYTES", [1])], [b"\x01\0\0\0ab"])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "1 bytes after its 1 elements" in details
    code, details = raw("text_tools", [("text", "BYTES", [1000000])], [b"\x01\0\0\0a"])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "needs 1000000 BYTES elements, each at least its 4-byte length, but the raw data has only 5 bytes" in details
    code, details = raw("text_tools", [("text", "BYTES", [1])], [b"\x02\0\0\0\xff\xfe"])
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "not valid UTF-8" in details
    bool_tensors = [(d, V2_TYPE[d], [1, 2]) for d in VALUES] + [("text", "BYTES", [1]), ("blob", "BYTES", [1])]
    contents = [b"\x02\x00"] + [b"\0" * (np.dtype(d).itemsize * 2) for d in list(VALUES)[1:]] + [b"\0\0\0\0", b"\0\0\0\0"]
    code, details = raw("v2_types", bool_tensors, contents)
    assert code == grpcio.StatusCode.INVALID_ARGUMENT and "BOOL element 0 is byte 2" in details
    request = service_pb2.ModelInferRequest(model_name="iris")
    request.inputs.add(name="features", datatype="FP32", shape=[1, 4]).contents.int_contents.extend([1, 2, 3, 4])
    with pytest.raises(grpcio.RpcError) as err:
        stub.ModelInfer(request, timeout=TIMEOUT_S)
    assert "FP32 data goes in contents.fp32_contents, but the request filled contents.int_contents" in err.value.details()


def test_malformed_messages_cost_only_their_call(server, stub):
    channel = grpcio.insecure_channel(server.grpc_url)
    try:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpcio.RpcError) as err:
            call(b"\x0a\x10abc", timeout=TIMEOUT_S)  # model_name of 16 bytes, 3 present
        assert err.value.code() == grpcio.StatusCode.INVALID_ARGUMENT and "malformed request message" in err.value.details()
    finally:
        channel.close()
    assert stub.ServerLive(service_pb2.ServerLiveRequest(), timeout=TIMEOUT_S).live


def test_rest_errors(server):
    code, body = http_post(server, "/v2/models/iris/infer", b"{not json")
    assert code == 400 and "not valid JSON" in json.loads(body)["error"]
    header = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "parameters": {"binary_data_size": 32}}]}).encode()
    code, body = http_post(server, "/v2/models/iris/infer", header + b"\0" * 16, {"Inference-Header-Content-Length": str(len(header))})
    assert code == 400 and "binary_data_size 32 runs past the end of the body" in json.loads(body)["error"]
    code, body = http_post(server, "/v2/models/iris/infer", header + b"\0" * 16, {"Inference-Header-Content-Length": "99999"})
    assert code == 400 and "Inference-Header-Content-Length" in json.loads(body)["error"]
    body_json = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3]}]}).encode()
    code, body = http_post(server, "/v2/models/iris/infer", body_json)
    assert code == 400 and "shape [1,4] needs 4 elements, the request carries 3" in json.loads(body)["error"]
    body_json = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, "x", 4]}]}).encode()
    code, body = http_post(server, "/v2/models/iris/infer", body_json)
    assert code == 400 and "element 2 is \"x\"; FP32 elements are numbers" in json.loads(body)["error"]
    code, body = http_post(server, "/v2/nowhere", b"")
    assert code == 404 and "no V2 endpoint" in json.loads(body)["error"]


def test_auth_is_the_flight_ports(auth_server):
    inp = iris_input(grpcclient, array=FLOWERS[:1])
    anonymous = grpcclient.InferenceServerClient(auth_server.grpc_url)
    status, message = grpc_error(lambda: anonymous.infer("iris", [inp]))
    assert status == "StatusCode.UNAUTHENTICATED" and "missing authorization header" in message
    status, message = grpc_error(lambda: anonymous.is_server_live())
    assert status == "StatusCode.UNAUTHENTICATED"
    status, message = grpc_error(lambda: anonymous.infer("iris", [inp], headers={"authorization": "Bearer wrong"}))
    assert status == "StatusCode.UNAUTHENTICATED" and "invalid bearer token" in message
    basic = base64.b64encode(b"ci:" + TOKEN.encode()).decode()
    status, message = grpc_error(lambda: anonymous.infer("iris", [inp], headers={"authorization": f"Basic {basic}"}))
    assert status == "StatusCode.UNAUTHENTICATED" and "invalid username or password" in message
    good = {"authorization": f"Bearer {TOKEN}"}
    assert anonymous.infer("iris", [inp], headers=good).as_numpy("label").tolist() == [0]

    http = httpclient.InferenceServerClient(auth_server.http_url, network_timeout=TIMEOUT_S)
    hin = iris_input(httpclient, array=FLOWERS[:1])
    with pytest.raises(InferenceServerException) as err:
        http.infer("iris", [hin])
    assert "missing authorization header" in err.value.message()
    code, body = http_post(auth_server, "/v2/models/iris/infer", b"{}", {"authorization": "Bearer wrong"})
    assert code == 401 and "invalid bearer token" in json.loads(body)["error"]
    assert not http.is_server_live()
    assert http.is_server_live(headers=good)
    assert http.infer("iris", [hin], headers=good).as_numpy("label").tolist() == [0]


def test_message_and_body_limits_are_the_flight_ports(auth_server):
    good = {"authorization": f"Bearer {TOKEN}"}
    big = np.zeros((5000, 4), np.float32)  # 80,000 bytes of data, past the 64 KiB limit
    client = grpcclient.InferenceServerClient(auth_server.grpc_url)
    status, message = grpc_error(lambda: client.infer("iris", [iris_input(grpcclient, shape=big.shape, array=big)], headers=good))
    assert status == "StatusCode.RESOURCE_EXHAUSTED"
    header = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [5000, 4], "parameters": {"binary_data_size": big.nbytes}}]}).encode()
    code, body = http_post(auth_server, "/v2/models/iris/infer", header + big.tobytes(), {**good, "Inference-Header-Content-Length": str(len(header))})
    assert code == 429 and "larger than the limit of 65536 bytes (--max-message-bytes)" in json.loads(body)["error"]
    small = np.zeros((100, 4), np.float32)
    assert client.infer("iris", [iris_input(grpcclient, shape=small.shape, array=small)], headers=good).as_numpy("label").shape == (100,)
