"""The runner protocol (docs/protocol.md) from plain pyarrow, with no flight-runner code:
discovery, calls as DoExchange, columns as arguments, type rules, call parameters,
app_metadata, streaming, the error status table and the actions.

Runs against `flight-runner serve examples/serve.yaml` with the test-only runners of
runners/serve-test.yaml alongside (test_faulty fails on purpose, test_slow sleeps).
"""
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from conftest import _served, next_chunk, read_chunks, write_chunk

CALL_TIMEOUT_S = 60
PARAMS_KEY = b"flight-runner.params"
FLOWERS = np.array([[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [7.2, 3.2, 6.0, 2.2]], dtype=np.float32)
FLOWER_LABELS = [0, 1, 2]
EXAMPLE_RUNNERS = {
    "iris": ["predict", "predict_proba"],
    "tensor_model": ["predict"],
    "mlp_small": ["predict"],
    "scaler_fp16": ["predict"],
    "loan_scorer": ["score"],
    "text_tools": ["stats", "concat"],
}
ACTIONS = {"health", "server-metadata", "model-metadata", "list-runners", "stats"}


def options(timeout=CALL_TIMEOUT_S):
    return flight.FlightCallOptions(timeout=timeout)


def tensor_batch(name, array):
    return pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(array)], names=[name])


def flowers_batch(flowers=FLOWERS):
    return tensor_batch("features", flowers)


def text_batch(texts):
    return pa.record_batch([pa.array(texts, pa.string())], names=["text"])


def applicants_batch(age_type=pa.int64(), income_type=pa.float64()):
    return pa.record_batch({
        "income": pa.array([85_000.0, 20_000.0, 52_000.0], income_type),
        "debt": pa.array([5_000.0, 30_000.0, 12_000.0], pa.float64()),
        "age": pa.array([35, 52, 61], age_type),
    })


def exchange(client, descriptor, schema, chunks, timeout=CALL_TIMEOUT_S):
    """DoExchange: writes (batch or None, app_metadata or None) chunks in lockstep (each
    answer is read before the next chunk is written), then reads to the end of the stream.
    Returns (output schema, [(batch or None, app_metadata bytes or None)])."""
    if isinstance(descriptor, (list, tuple)):
        descriptor = flight.FlightDescriptor.for_path(*descriptor)
    writer, reader = client.do_exchange(descriptor, options=options(timeout))
    received = []
    with writer:
        writer.begin(schema)
        for batch, metadata in chunks:
            write_chunk(writer, batch, metadata)
            received.append(next_chunk(reader))
        writer.done_writing()
        received.extend(read_chunks(reader))
    return reader.schema, received


def call(client, descriptor, batch, schema=None, timeout=CALL_TIMEOUT_S):
    """One batch in, the one answer batch out."""
    _, received = exchange(client, descriptor, schema or batch.schema, [(batch, None)], timeout)
    assert len(received) == 1, f"one batch in, {len(received)} messages out"
    return received[0][0]


def action(client, name, body=b""):
    results = list(client.do_action(flight.Action(name, body), options=options()))
    assert len(results) == 1, f"action {name} gave {len(results)} results"
    return json.loads(results[0].body.to_pybytes())


def assert_raises(exc_class, fn, *fragments):
    with pytest.raises(exc_class) as info:
        fn()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# --- Discovery ---------------------------------------------------------------------------


def test_list_flights_gives_one_info_per_runner_method(runner_client, runner_server):
    infos = list(runner_client.list_flights(options=options()))
    paths = [tuple(p.decode() for p in info.descriptor.path) for info in infos]
    assert len(paths) == len(set(paths)), f"a method listed twice: {paths}"
    # Exactly the methods list-runners names.
    listed = {(r["name"], m["method"]) for r in action(runner_client, "list-runners")["runners"] for m in r["methods"]}
    assert set(paths) == listed
    for runner, methods in EXAMPLE_RUNNERS.items():
        for method in methods:
            assert (runner, method) in paths

    for info, (runner, method) in zip(infos, paths):
        assert info.descriptor.descriptor_type == flight.DescriptorType.PATH
        assert info.total_records == -1 and info.total_bytes == -1
        assert len(info.endpoints) == 1
        endpoint = info.endpoints[0]
        assert json.loads(endpoint.ticket.ticket) == {"runner": runner, "method": method}
        assert [loc.uri.decode() for loc in endpoint.locations] == [runner_server]
        sig = json.loads(info.app_metadata)
        assert sig["runner"] == runner and sig["method"] == method
        assert isinstance(sig["default"], bool) and isinstance(sig["batchable"], bool)
        assert sig["inputs"] and sig["outputs"] and "limits" in sig
        # The schema is the input schema: one column per declared input (a table's columns).
        if sig["inputs"][0]["kind"] == "table":
            assert info.schema.names == list(sig["inputs"][0]["columns"])
        else:
            assert info.schema.names == [p["name"] for p in sig["inputs"]]


def test_signatures_and_input_schemas_of_the_examples(runner_client):
    infos = {tuple(p.decode() for p in i.descriptor.path): i for i in runner_client.list_flights(options=options())}

    iris = infos[("iris", "predict")]
    assert json.loads(iris.app_metadata) | {"doc": None} == {
        "runner": "iris", "method": "predict", "default": True, "batchable": True,
        "inputs": [{"name": "features", "kind": "tensor", "dtype": "float32", "shape": [4]}],
        "outputs": [{"name": "label", "kind": "tensor", "dtype": "int64", "shape": []}],
        "limits": {}, "doc": None,
    }
    proba = json.loads(infos[("iris", "predict_proba")].app_metadata)
    assert proba["default"] is False
    assert proba["outputs"] == [{"name": "probabilities", "kind": "tensor", "dtype": "float32", "shape": [3]}]

    # pyarrow sees the tensor columns as its own fixed_shape_tensor extension type.
    features = iris.schema.field("features").type
    assert isinstance(features, pa.FixedShapeTensorType)
    assert features.value_type == pa.float32() and features.shape == [4]
    image = infos[("tensor_model", "predict")].schema.field("image").type
    assert isinstance(image, pa.FixedShapeTensorType)
    assert image.value_type == pa.float32() and image.shape == [3, 8, 8]
    assert image.storage_type == pa.list_(pa.float32(), 192)
    fp16 = infos[("scaler_fp16", "predict")].schema.field("x").type
    assert isinstance(fp16, pa.FixedShapeTensorType) and fp16.value_type == pa.float16()
    tensor_sig = json.loads(infos[("tensor_model", "predict")].app_metadata)
    assert [(o["name"], o["shape"]) for o in tensor_sig["outputs"]] == [("embedding", [2]), ("feature_map", [4, 8, 8])]

    loan = infos[("loan_scorer", "score")]
    assert loan.schema.types == [pa.float64(), pa.float64(), pa.int64()]
    assert loan.schema.names == ["income", "debt", "age"]
    assert json.loads(loan.app_metadata)["inputs"] == [
        {"name": "applicants", "kind": "table", "columns": {"income": "float64", "debt": "float64", "age": "int64"}},
    ]
    assert infos[("text_tools", "stats")].schema.field("text").type == pa.string()
    assert json.loads(infos[("text_tools", "concat")].app_metadata)["batchable"] is False


@pytest.mark.parametrize("path, method", [(("iris", "predict_proba"), "predict_proba"), (("iris",), "predict"),
                                          (("text_tools",), "stats"), (("loan_scorer", "score"), "score")])
def test_get_flight_info_and_get_schema(runner_client, path, method):
    listed = {tuple(p.decode() for p in i.descriptor.path): i for i in runner_client.list_flights(options=options())}
    want = listed[(path[0], method)]
    descriptor = flight.FlightDescriptor.for_path(*path)
    info = runner_client.get_flight_info(descriptor, options=options())
    assert [p.decode() for p in info.descriptor.path] == [path[0], method]
    assert info.schema.equals(want.schema, check_metadata=True)
    assert json.loads(info.app_metadata) == json.loads(want.app_metadata)
    assert info.total_records == -1 and info.total_bytes == -1
    assert info.endpoints[0].ticket.ticket == want.endpoints[0].ticket.ticket
    assert runner_client.get_schema(descriptor, options=options()).schema.equals(want.schema, check_metadata=True)


def test_discovery_of_unknown_runner_or_method_is_not_found(runner_client):
    for rpc in (runner_client.get_flight_info, runner_client.get_schema):
        assert_raises(pa.ArrowKeyError,
                      lambda: rpc(flight.FlightDescriptor.for_path("no_such_runner"), options=options()),
                      "no_such_runner", "'iris'", "'loan_scorer'", "'text_tools'")
        assert_raises(pa.ArrowKeyError,
                      lambda: rpc(flight.FlightDescriptor.for_path("iris", "no_such_method"), options=options()),
                      "'iris'", "no_such_method", "'predict'", "'predict_proba'")


# --- Calls -------------------------------------------------------------------------------


def test_iris_predict_and_predict_proba(runner_client):
    out = call(runner_client, ("iris", "predict"), flowers_batch())
    assert out.schema.names == ["label"] and out.schema.field("label").type == pa.int64()
    assert out.column("label").to_pylist() == FLOWER_LABELS
    # [runner] alone is the default method.
    assert call(runner_client, ("iris",), flowers_batch()).column("label").to_pylist() == FLOWER_LABELS

    out = call(runner_client, ("iris", "predict_proba"), flowers_batch())
    probs = out.column("probabilities")
    assert isinstance(probs.type, pa.FixedShapeTensorType) and probs.type.shape == [3]
    array = probs.to_numpy_ndarray()
    assert array.shape == (3, 3) and array.dtype == np.float32
    np.testing.assert_allclose(array.sum(axis=1), 1, atol=1e-5)
    assert array.argmax(axis=1).tolist() == FLOWER_LABELS


def test_tensor_model_multi_dimensional_tensors(runner_client):
    images = np.random.default_rng(1).uniform(-1, 1, size=(4, 3, 8, 8)).astype(np.float32)
    out = call(runner_client, ("tensor_model", "predict"), tensor_batch("image", images))
    assert out.schema.names == ["embedding", "feature_map"]
    assert out.column("embedding").type.shape == [2]
    assert out.column("feature_map").type.shape == [4, 8, 8]
    assert out.column("embedding").to_numpy_ndarray().shape == (4, 2)
    assert out.column("feature_map").to_numpy_ndarray().shape == (4, 4, 8, 8)
    # A plain FixedSizeList whose size is the product of the declared shape is accepted too.
    plain = pa.record_batch([pa.FixedSizeListArray.from_arrays(pa.array(images.ravel()), 192)], names=["image"])
    again = call(runner_client, ("tensor_model", "predict"), plain)
    assert again.column("embedding").equals(out.column("embedding"))


def test_plain_fixed_size_list_is_accepted_for_a_vector(runner_client):
    plain = pa.record_batch([pa.FixedSizeListArray.from_arrays(pa.array(FLOWERS.ravel()), 4)], names=["features"])
    assert call(runner_client, ("iris", "predict"), plain).column("label").to_pylist() == FLOWER_LABELS


def test_empty_batch_gives_empty_answer(runner_client):
    out = call(runner_client, ("iris", "predict"), flowers_batch().slice(0, 0))
    assert out.num_rows == 0 and out.schema.names == ["label"]


def test_closing_without_a_schema_gives_the_output_schema_and_no_batches(runner_client):
    writer, reader = runner_client.do_exchange(flight.FlightDescriptor.for_path("iris", "predict"), options=options())
    with writer:
        writer.done_writing()
        table = reader.read_all()
    assert table.schema.names == ["label"] and table.num_rows == 0


def test_table_input_from_a_dataframe(runner_client):
    out = call(runner_client, ("loan_scorer", "score"), applicants_batch())
    assert out.schema.names == ["score", "approved"]
    assert out.schema.types == [pa.float64(), pa.bool_()]
    assert out.num_rows == 3
    scores = out.column("score").to_pylist()
    assert out.column("approved").to_pylist() == [s >= 0.5 for s in scores]
    # Extra columns are allowed and passed on; the answer is the same.
    extra = applicants_batch().append_column("name", pa.array(["a", "b", "c"]))
    assert call(runner_client, ("loan_scorer", "score"), extra).equals(out)


def test_non_batchable_method_answers_each_batch_once(runner_client):
    batches = [text_batch(["a", "b", "c"]), text_batch(["d"]), text_batch(["e", "f"])]
    schema, received = exchange(runner_client, ("text_tools", "concat"), batches[0].schema,
                                [(b, f"{i}".encode()) for i, b in enumerate(batches)])
    assert schema.names == ["joined"]
    assert [(b.column("joined").to_pylist(), m) for b, m in received] == [
        (["a b c"], b"0"), (["d"], b"1"), (["e f"], b"2"),
    ]


# --- Safe widening -----------------------------------------------------------------------


@pytest.mark.parametrize("age_type", [pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32()])
def test_integer_columns_widen_to_int64(runner_client, age_type):
    want = call(runner_client, ("loan_scorer", "score"), applicants_batch())
    got = call(runner_client, ("loan_scorer", "score"), applicants_batch(age_type=age_type))
    assert got.equals(want)


@pytest.mark.parametrize("income_type", [pa.float32(), pa.float16()])
def test_float_columns_widen_to_float64(runner_client, income_type):
    want = call(runner_client, ("loan_scorer", "score"), applicants_batch())
    got = call(runner_client, ("loan_scorer", "score"), applicants_batch(income_type=income_type))
    # 85000, 20000 and 52000 are exact in float32; float16 rounds them (max 65504 -> inf), so
    # only check that the call is accepted and answers every row there.
    if income_type == pa.float32():
        assert got.equals(want)
    else:
        assert got.num_rows == 3


def test_float16_tensor_widens_to_float32(runner_client):
    out = call(runner_client, ("iris", "predict"), flowers_batch(FLOWERS.astype(np.float16)))
    assert out.column("label").to_pylist() == FLOWER_LABELS


# --- The error status table --------------------------------------------------------------


def test_unknown_runner_is_not_found_listing_runners(runner_client):
    message = assert_raises(pa.ArrowKeyError, lambda: call(runner_client, ("no_such_runner", "predict"), flowers_batch()),
                            "unknown runner 'no_such_runner'")
    for runner in EXAMPLE_RUNNERS:
        assert f"'{runner}'" in message


def test_unknown_method_is_not_found_listing_methods(runner_client):
    assert_raises(pa.ArrowKeyError, lambda: call(runner_client, ("iris", "no_such_method"), flowers_batch()),
                  "runner 'iris'", "'no_such_method'", "'predict'", "'predict_proba'")


def test_unknown_runner_in_a_cmd_descriptor_is_not_found(runner_client):
    descriptor = flight.FlightDescriptor.for_command(json.dumps({"runner": "no_such_runner"}))
    assert_raises(pa.ArrowKeyError, lambda: call(runner_client, descriptor, flowers_batch()), "no_such_runner", "'iris'")


def test_bad_descriptors_are_invalid_argument(runner_client):
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, flight.FlightDescriptor.for_command(b"not json"), flowers_batch()),
                  "CMD descriptor")
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("iris", "predict", "extra"), flowers_batch()),
                  "[runner] or [runner, method]")


WHERE_IRIS = "runner 'iris' method 'predict'"
NULLED = pa.FixedSizeListArray.from_arrays(pa.array(FLOWERS.ravel()), 4, mask=pa.array([False, True, False]))


@pytest.mark.parametrize("case, batch, fragments", [
    ("missing column", pa.record_batch([pa.array([1.0, 2.0])], names=["x"]),
     [WHERE_IRIS, "missing input column 'features'", "tensor<float32>[4]", "received 'x'", "rename column 'x' to 'features'"]),
    ("no columns", pa.RecordBatch.from_pydict({}, schema=pa.schema([])),
     [WHERE_IRIS, "missing input column 'features'", "no columns"]),
    ("unknown column", flowers_batch().append_column("x", pa.array([1, 2, 3])),
     [WHERE_IRIS, "unknown input column 'x'", "'features'"]),
    ("wrong type", pa.record_batch([pa.array(["a", "b"])], names=["features"]),
     [WHERE_IRIS, "column 'features'", "expected tensor<float32>[4]", "received Utf8"]),
    ("narrowing float64 -> float32", flowers_batch(FLOWERS.astype(np.float64)),
     [WHERE_IRIS, "column 'features'", "expected tensor<float32>[4]", "float64"]),
    ("int tensor", flowers_batch(FLOWERS.astype(np.int64)),
     [WHERE_IRIS, "column 'features'", "int64"]),
    ("wrong shape [2,2]", tensor_batch("features", FLOWERS.reshape(3, 2, 2)),
     [WHERE_IRIS, "column 'features'", "expected tensor<float32>[4]", "[2,2]"]),
    ("wrong shape [5]", tensor_batch("features", np.zeros((3, 5), np.float32)),
     [WHERE_IRIS, "column 'features'", "expected tensor<float32>[4]", "[5]"]),
    ("wrong list size", pa.record_batch([pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(15, np.float32)), 5)], names=["features"]),
     [WHERE_IRIS, "column 'features'", "expected tensor<float32>[4]"]),
    ("a list column is not a tensor", pa.record_batch([pa.array(FLOWERS.tolist())], names=["features"]),
     [WHERE_IRIS, "column 'features'", "expected tensor<float32>[4]", "received List<Float64>",
      "pa.FixedShapeTensorArray.from_numpy_ndarray(np.asarray(rows, dtype=np.float32))"]),
    ("null rows in a fixed_size_list", pa.record_batch([NULLED], names=["features"]),
     [WHERE_IRIS, "column 'features'", "1 null row", "the first at row 1", "cannot be null"]),
    ("null rows in a fixed_shape_tensor",
     pa.record_batch([pa.ExtensionArray.from_storage(pa.fixed_shape_tensor(pa.float32(), [4]), NULLED)], names=["features"]),
     [WHERE_IRIS, "column 'features'", "1 null row", "cannot be null"]),
])
def test_invalid_inputs_are_invalid_argument(runner_client, case, batch, fragments):
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("iris", "predict"), batch), *fragments)


@pytest.mark.parametrize("case, batch, fragments", [
    ("missing table column", applicants_batch().drop_columns(["age"]),
     ["runner 'loan_scorer' method 'score'", "column 'age'", "received 'income', 'debt'"]),
    ("float64 age narrows to int64", applicants_batch(age_type=pa.float64()),
     ["runner 'loan_scorer' method 'score'", "column 'age'", "expected Int64", "received Float64"]),
    ("string income", applicants_batch().set_column(0, "income", pa.array(["1", "2", "3"])),
     ["runner 'loan_scorer' method 'score'", "column 'income'", "Float64"]),
    # int64 -> float64 is not a safe widening (not every int64 is a float64): the message says the cast.
    ("int64 income", applicants_batch().set_column(0, "income", pa.array([85_000, 20_000, 52_000])),
     ["runner 'loan_scorer' method 'score'", "column 'income'", "expected Float64", "received Int64",
      "pa.array(values, pa.float64())", "column.cast(pa.float64())"]),
    ("null debt", applicants_batch().set_column(1, "debt", pa.array([5_000.0, None, None])),
     ["runner 'loan_scorer' method 'score'", "column 'debt'", "2 null row(s)", "the first at row 1", "cannot be null", "fill_null"]),
    ("null income", applicants_batch().set_column(0, "income", pa.array([1.0, None, 3.0])),
     ["runner 'loan_scorer' method 'score'", "column 'income'", "1 null row(s)", "the first at row 1"]),
])
def test_invalid_tables_are_invalid_argument(runner_client, case, batch, fragments):
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("loan_scorer", "score"), batch), *fragments)


# --- Nullable inputs, casts, variable-shape tensors (test_nullable, test_ragged: runners/data.ts) ---


def test_nullable_inputs_reach_the_runner_as_nulls(runner_client):
    batch = pa.record_batch({"x": pa.array([1.5, None, 3.0]), "label": pa.array([None, "a", "b"])})
    out = call(runner_client, ("test_nullable", "describe"), batch)
    assert out.column("seen").to_pylist() == ["1.5/null", "null/a", "3/b"]


def test_nullable_input_schema_says_which_columns_may_be_null(runner_client):
    info = runner_client.get_flight_info(flight.FlightDescriptor.for_path("test_nullable", "table"), options=options())
    assert [(f.name, f.nullable) for f in info.schema] == [("a", False), ("b", True), ("c", True)]
    sig = json.loads(info.app_metadata)
    assert sig["inputs"][0]["nullable"] == ["b", "c"]
    describe = json.loads(runner_client.get_flight_info(flight.FlightDescriptor.for_path("test_nullable", "describe"), options=options()).app_metadata)
    assert [i.get("nullable") for i in describe["inputs"]] == [True, True]


def test_nullable_table_columns_are_nan_or_null_in_the_dataframe(runner_client):
    batch = pa.record_batch({"a": pa.array([1.0, 2.0]), "b": pa.array([None, 4.0]), "c": pa.array(["x", None])})
    assert call(runner_client, ("test_nullable", "table"), batch).column("seen").to_pylist() == ["1/NaN/x", "2/4/null"]
    bad = pa.record_batch({"a": pa.array([1.0, None]), "b": pa.array([None, 4.0]), "c": pa.array(["x", None])})
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("test_nullable", "table"), bad),
                  "column 'a'", "the first at row 1", "cannot be null")


def test_an_int64_column_for_a_float64_input_names_the_cast(runner_client):
    batch = pa.record_batch({"x": pa.array([1, 2]), "label": pa.array(["a", "b"])})
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("test_nullable", "describe"), batch),
                  "column 'x'", "expected scalar<float64>?", "received Int64", "pa.array(values, pa.float64())")
    # Doing what the message says works.
    fixed = batch.set_column(0, "x", batch.column("x").cast(pa.float64()))
    assert call(runner_client, ("test_nullable", "describe"), fixed).column("seen").to_pylist() == ["1/a", "2/b"]


class VariableShapeTensorType(pa.ExtensionType):
    """The recipe of docs/protocol.md: arrow.variable_shape_tensor as a pyarrow extension type."""

    def __init__(self, value_type, ndim):
        self._value_type, self._ndim = value_type, ndim
        storage = pa.struct([("data", pa.list_(value_type)), ("shape", pa.list_(pa.int32(), ndim))])
        super().__init__(storage, "arrow.variable_shape_tensor")

    def __arrow_ext_serialize__(self):
        return json.dumps({"uniform_shape": [None] * self._ndim}).encode()

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type, serialized):
        return cls(storage_type.field("data").type.value_type, storage_type.field("shape").type.list_size)


def variable_shape_tensor(arrays, value_type=pa.float32()):
    """numpy arrays of one rank and any shapes -> an arrow.variable_shape_tensor array."""
    ndim = arrays[0].ndim
    storage = pa.StructArray.from_arrays(
        [pa.array([a.ravel() for a in arrays], pa.list_(value_type)),
         pa.array([list(a.shape) for a in arrays], pa.list_(pa.int32(), ndim))],
        names=["data", "shape"])
    return pa.ExtensionArray.from_storage(VariableShapeTensorType(value_type, ndim), storage)


def test_variable_shape_tensor_recipe(runner_client):
    mats = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((1, 1), np.float32), np.full((3, 2), 0.5, np.float32)]
    # The extension type subclass...
    out = call(runner_client, ("test_ragged", "sum"), pa.record_batch([variable_shape_tensor(mats)], names=["m"]))
    assert out.column("total").to_pylist() == [15.0, 1.0, 3.0]
    assert out.column("shape").to_pylist() == ["2x3", "1x1", "3x2"]
    # ... or by hand: the storage struct, with the extension name on the field.
    storage = variable_shape_tensor(mats).storage
    field = pa.field("m", storage.type, metadata={b"ARROW:extension:name": b"arrow.variable_shape_tensor",
                                                   b"ARROW:extension:metadata": b'{"uniform_shape":[null,null]}'})
    by_hand = pa.RecordBatch.from_arrays([storage], schema=pa.schema([field]))
    assert call(runner_client, ("test_ragged", "sum"), by_hand).column("total").to_pylist() == [15.0, 1.0, 3.0]


def test_onnx_string_tensors_in_and_out(runner_client):
    """greeter.onnx (StringConcat): a utf8 column in, a utf8 column out, values from expected.json."""


    greeter = json.loads((Path(__file__).resolve().parents[3] / "examples/models/expected.json").read_text())["models"]["greeter"]
    names, want = greeter["inputs"]["name"]["data"], greeter["outputs"]["greeting"]["data"]
    info = runner_client.get_flight_info(flight.FlightDescriptor.for_path("greeter"), options=options())
    assert json.loads(info.app_metadata)["inputs"] == [{"name": "name", "kind": "string"}]
    for string_type in (pa.string(), pa.large_string()):
        out = call(runner_client, ("greeter", "predict"), pa.record_batch([pa.array(names, string_type)], names=["name"]))
        assert out.schema.field("greeting").type == pa.string()
        assert out.column("greeting").to_pylist() == want
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("greeter",), pa.record_batch([pa.array(["a", None])], names=["name"])),
                  "column 'name'", "the first at row 1", "cannot be null")


def test_nulls_in_a_string_column_are_invalid_argument(runner_client):
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("text_tools", "stats"), text_batch(["a", None])),
                  "runner 'text_tools' method 'stats'", "column 'text'", "null")


def test_an_invalid_batch_later_in_the_stream_fails_the_call(runner_client):
    """The schema is fine, the second batch has a null: the call fails, naming the column."""
    good = pa.record_batch([pa.FixedSizeListArray.from_arrays(pa.array(FLOWERS.ravel()), 4)], names=["features"])
    bad = pa.record_batch([NULLED], names=["features"])

    def run():
        writer, reader = runner_client.do_exchange(flight.FlightDescriptor.for_path("iris", "predict"), options=options())
        with writer:
            writer.begin(good.schema)
            writer.write_batch(good)
            assert next_chunk(reader)[0].column("label").to_pylist() == FLOWER_LABELS
            writer.write_batch(bad)
            writer.done_writing()
            reader.read_all()

    assert_raises(pa.ArrowInvalid, run, WHERE_IRIS, "column 'features'", "null")


def test_model_error_is_internal_and_the_server_keeps_serving(runner_client):
    before = action(runner_client, "stats")["runners"]["test_faulty"]["check"]
    message = assert_raises(flight.FlightInternalError,
                            lambda: call(runner_client, ("test_faulty", "check"), text_batch(["fine", "boom here"])),
                            "runner 'test_faulty' method 'check'", "the model refused 'boom here'")
    assert "INTERNAL" in message
    # pyarrow raises FlightInternalError for INTERNAL (a FlightError, not a FlightServerError).
    # The same runner, other runners, and the same client keep working.
    out = call(runner_client, ("test_faulty", "check"), text_batch(["fine", "ok"]))
    assert out.column("upper").to_pylist() == ["FINE", "OK"]
    assert call(runner_client, ("iris", "predict"), flowers_batch()).column("label").to_pylist() == FLOWER_LABELS
    after = action(runner_client, "stats")["runners"]["test_faulty"]["check"]
    assert after["errors"] == before["errors"] + 1
    assert after["calls"] == before["calls"] + 2
    assert action(runner_client, "health")["runners"]["test_faulty"] == "ready"


def test_client_deadline_is_timed_out_and_the_server_keeps_serving(runner_client):
    # test_slow sleeps 5 s per batch; the client allows 0.5 s.
    assert_raises(flight.FlightTimedOutError,
                  lambda: call(runner_client, ("test_slow", "echo"), text_batch(["x"]), timeout=0.5))
    assert call(runner_client, ("iris", "predict"), flowers_batch()).column("label").to_pylist() == FLOWER_LABELS
    # The slow runner itself answers a call with time enough (it may first finish the
    # abandoned call, which is at most 10 s by its own bound).
    fast = text_batch(["y"]).schema.with_metadata({PARAMS_KEY: b'{"ms": 1}'})
    out = call(runner_client, ("test_slow", "echo"), text_batch(["y"]), schema=fast)
    assert out.column("text").to_pylist() == ["y"]


# --- Call parameters ---------------------------------------------------------------------


TEXTS = ["The the cat", "A Dog a dog DOG"]


def stats_of(batch):
    return [json.loads(s) for s in batch.column("stats").to_pylist()]


def test_call_params_in_schema_metadata(runner_client):
    batch = text_batch(TEXTS)
    default = call(runner_client, ("text_tools", "stats"), batch)
    assert default.schema.field("stats").type.extension_name == "arrow.json"
    assert [s["top"] for s in stats_of(default)] == ["the", "dog"]
    assert stats_of(default)[0] == {"chars": 11, "words": 3, "top": "the"}
    schema = batch.schema.with_metadata({PARAMS_KEY: json.dumps({"lowercase": False}).encode()})
    kept = call(runner_client, ("text_tools", "stats"), batch, schema=schema)
    assert [s["top"] for s in stats_of(kept)] == ["cat", "a"]


def test_call_params_in_a_cmd_descriptor(runner_client):
    descriptor = flight.FlightDescriptor.for_command(
        json.dumps({"runner": "text_tools", "method": "stats", "params": {"lowercase": False}}))
    assert [s["top"] for s in stats_of(call(runner_client, descriptor, text_batch(TEXTS)))] == ["cat", "a"]
    # Without a method, the CMD descriptor names the default method.
    descriptor = flight.FlightDescriptor.for_command(json.dumps({"runner": "text_tools"}))
    assert [s["top"] for s in stats_of(call(runner_client, descriptor, text_batch(TEXTS)))] == ["the", "dog"]


def test_schema_params_win_over_cmd_params(runner_client):
    descriptor = flight.FlightDescriptor.for_command(
        json.dumps({"runner": "text_tools", "method": "concat", "params": {"separator": "|"}}))
    batch = text_batch(["a", "b"])
    assert call(runner_client, descriptor, batch).column("joined").to_pylist() == ["a|b"]
    schema = batch.schema.with_metadata({PARAMS_KEY: b'{"separator": "+"}'})
    assert call(runner_client, descriptor, batch, schema=schema).column("joined").to_pylist() == ["a+b"]


# --- app_metadata and streaming ----------------------------------------------------------


def test_app_metadata_comes_back_on_each_answer(runner_client):
    batch = flowers_batch()
    chunks = [(batch, b"req-1"), (None, b"only-metadata"), (batch, None), (batch.slice(1, 1), b"req-3")]
    schema, received = exchange(runner_client, ("iris", "predict"), batch.schema, chunks)
    assert schema.names == ["label"]
    assert [m for _, m in received] == [b"req-1", b"only-metadata", None, b"req-3"]
    assert received[1][0] is None
    assert received[0][0].column("label").to_pylist() == FLOWER_LABELS
    assert received[2][0].column("label").to_pylist() == FLOWER_LABELS
    assert received[3][0].column("label").to_pylist() == [1]


def stream_ahead(client, path, batches, metadata=None):
    """Streams `batches` through one DoExchange without waiting for the answers (a reader thread
    collects them, so neither side's flow control can stall the other); returns every
    (batch, app_metadata) answered. `metadata(i)`, if given, is batch i's app_metadata."""
    import threading

    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path(*path), options=options())
    received, failure = [], []

    def read():
        try:
            while True:
                received.append(next_chunk(reader))
        except StopIteration:
            pass
        except Exception as err:
            failure.append(err)

    reading = threading.Thread(target=read, daemon=True)
    with writer:
        writer.begin(batches[0].schema)
        reading.start()
        for i, batch in enumerate(batches):
            if metadata:
                writer.write_with_metadata(batch, pa.py_buffer(metadata(i)))
            else:
                writer.write_batch(batch)
        writer.done_writing()
        reading.join(CALL_TIMEOUT_S)
    assert not reading.is_alive(), "the answers did not end within the call deadline"
    assert not failure, failure
    return received


def test_many_batches_in_one_exchange_come_back_in_order(runner_client):
    """200 batches of 1..50 rows streamed without waiting: each answer matches its batch, and
    app_metadata keeps the order."""
    rng = np.random.default_rng(3)
    batches = []
    for i in range(200):
        rows = int(rng.integers(1, 51))
        batches.append(flowers_batch(FLOWERS[rng.integers(0, 3, rows)]))
    received = stream_ahead(runner_client, ("iris", "predict"), batches, metadata=lambda i: str(i).encode())
    assert [m for _, m in received] == [str(i).encode() for i in range(len(batches))]
    for (got, _), sent in zip(received, batches):
        want = [FLOWER_LABELS[int(np.argmin(np.abs(FLOWERS - row).sum(axis=1)))] for row in sent.column(0).to_numpy_ndarray()]
        assert got.column("label").to_pylist() == want


# --- Actions -----------------------------------------------------------------------------


def test_list_actions_describes_every_action(runner_client):
    actions = {a.type: a.description for a in runner_client.list_actions(options=options())}
    assert set(actions) == ACTIONS
    assert all(description for description in actions.values())


def test_unknown_action_is_unimplemented_listing_actions(runner_client):
    message = assert_raises(pa.ArrowNotImplementedError,
                            lambda: list(runner_client.do_action(flight.Action("no-such-action", b""), options=options())),
                            "no-such-action")
    for name in ACTIONS:
        assert name in message


def test_health(runner_client):
    health = action(runner_client, "health")
    assert health["live"] is True and health["ready"] is True
    for runner in [*EXAMPLE_RUNNERS, "test_faulty", "test_slow"]:
        assert health["runners"][runner] == "ready"


def test_server_metadata(runner_client):
    meta = action(runner_client, "server-metadata")
    assert meta["name"] == "flight-runner"
    assert isinstance(meta["version"], str) and meta["version"]
    assert {"arrow.fixed_shape_tensor", "arrow.json", "flight-runner.params"} <= set(meta["extensions"])


def test_model_metadata_uses_kserve_datatypes(runner_client):
    iris = action(runner_client, "model-metadata", json.dumps({"runner": "iris"}).encode())
    assert iris["name"] == "iris" and iris["platform"] == "onnxruntime-node" and iris["versions"]
    assert [(i["name"], i["datatype"], i["shape"], i["exampleShape"]) for i in iris["inputs"]] == [("features", "FP32", [-1, 4], [4])]
    assert [(o["name"], o["datatype"], o["shape"]) for o in iris["outputs"]] == [("label", "INT64", [-1])]
    assert iris["inputs"][0]["arrowType"] == "FixedSizeList[4]<Float32>"
    assert set(iris["methods"]) == {"predict", "predict_proba"}
    proba = iris["methods"]["predict_proba"]
    assert [(o["name"], o["datatype"], o["shape"]) for o in proba["outputs"]] == [("probabilities", "FP32", [-1, 3])]

    fp16 = action(runner_client, "model-metadata", b'{"runner": "scaler_fp16"}')
    assert [i["datatype"] for i in fp16["inputs"]] == ["FP16"] and [o["datatype"] for o in fp16["outputs"]] == ["FP16"]
    tensor = action(runner_client, "model-metadata", b'{"runner": "tensor_model"}')
    assert [(o["name"], o["shape"]) for o in tensor["outputs"]] == [("embedding", [-1, 2]), ("feature_map", [-1, 4, 8, 8])]

    loan = action(runner_client, "model-metadata", b'{"runner": "loan_scorer"}')
    assert [(i["name"], i["datatype"]) for i in loan["inputs"]] == [("income", "FP64"), ("debt", "FP64"), ("age", "INT64")]
    assert [(o["name"], o["datatype"]) for o in loan["outputs"]] == [("score", "FP64"), ("approved", "BOOL")]
    text = action(runner_client, "model-metadata", b'{"runner": "text_tools"}')
    assert [(i["name"], i["datatype"]) for i in text["inputs"]] == [("text", "BYTES")]


def test_model_metadata_errors(runner_client):
    assert_raises(pa.ArrowKeyError, lambda: action(runner_client, "model-metadata", b'{"runner": "no_such_runner"}'),
                  "no_such_runner", "'iris'")
    assert_raises(pa.ArrowInvalid, lambda: action(runner_client, "model-metadata", b"not json"), "model-metadata")


def test_list_runners(runner_client):
    listing = action(runner_client, "list-runners")
    runners = {r["name"]: r for r in listing["runners"]}
    for name, methods in EXAMPLE_RUNNERS.items():
        assert runners[name]["state"] == "ready"
        assert [m["method"] for m in runners[name]["methods"]] == methods
    assert runners["iris"]["platform"] == "onnxruntime-node" and runners["loan_scorer"]["platform"] == "js"
    assert runners["iris"]["methods"][0]["inputs"] == [{"name": "features", "kind": "tensor", "dtype": "float32", "shape": [4]}]


def test_stats_count_calls_rows_and_errors(runner_client):
    """mlp_small is called by this test only, so its counters move by exactly what it sends."""
    before = action(runner_client, "stats")["runners"]["mlp_small"]["predict"]
    x = np.random.default_rng(5).normal(size=(10, 32)).astype(np.float32)
    batch = tensor_batch("x", x)
    _, received = exchange(runner_client, ("mlp_small", "predict"), batch.schema, [(batch, None), (batch.slice(0, 3), None)])
    assert [b.num_rows for b, _ in received] == [10, 3]
    assert received[0][0].column("y").to_numpy_ndarray().shape == (10, 8)
    assert_raises(pa.ArrowInvalid, lambda: call(runner_client, ("mlp_small", "predict"), tensor_batch("x", x[:, :16])), "column 'x'")
    after = action(runner_client, "stats")["runners"]["mlp_small"]["predict"]
    assert after["rows"] - before["rows"] == 13
    assert after["calls"] - before["calls"] >= 1
    assert after["batches"] >= before["batches"] + 1
    assert set(after) >= {"calls", "rows", "errors", "batches", "batchRows", "latencyMs"}
    assert set(after["batchRows"]) == {"mean", "max"} and set(after["latencyMs"]) == {"p50", "p99"}
    assert after["batchRows"]["max"] >= 1


# --- A runner that failed to load (its own server: iris and a file that is not an ONNX model) ---


def _settled(location, proc, log_path):
    """Waits until no runner is loading (one of them fails, so `ready` never comes)."""
    import time

    deadline = time.monotonic() + 120
    with flight.connect(location) as c:
        while time.monotonic() < deadline and proc.poll() is None:
            if "loading" not in action(c, "health")["runners"].values():
                return
            time.sleep(0.1)
    pytest.fail(f"runners did not settle; stderr:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def half_failed_client(tmp_path_factory):
    # It exists (a missing path is a config error, exit 2) but does not load.
    broken = tmp_path_factory.mktemp("broken-model") / "no-such-model.onnx"
    broken.write_text("not an onnx model\n")
    args = ["serve", "examples/models/iris.onnx", str(broken), "--port", "0"]
    with _served(tmp_path_factory, "half-failed server", args, ready=_settled) as location:
        with flight.connect(location) as c:
            yield c


def test_a_failed_runner_is_listed_with_its_reason_and_calls_to_it_are_unavailable(half_failed_client):
    infos = {tuple(p.decode() for p in i.descriptor.path): i for i in half_failed_client.list_flights(options=options())}
    assert ("iris", "predict") in infos
    failed = infos[("no-such-model",)]
    meta = json.loads(failed.app_metadata)
    assert meta["state"] == "failed" and "method" not in meta and "Protobuf parsing failed" in meta["error"]
    assert failed.endpoints == []

    assert_raises(flight.FlightUnavailableError, lambda: call(half_failed_client, ("no-such-model",), flowers_batch()),
                  "runner 'no-such-model' failed to load", "Protobuf parsing failed")
    assert_raises(flight.FlightUnavailableError,
                  lambda: half_failed_client.get_flight_info(flight.FlightDescriptor.for_path("no-such-model"), options=options()),
                  "failed to load")
    # The other runner serves.
    assert call(half_failed_client, ("iris", "predict"), flowers_batch()).column("label").to_pylist() == FLOWER_LABELS


def test_large_batches_streamed_ahead_match_onnxruntime(runner_client):
    """Eight distinct 4 MiB batches of mlp_small's input, streamed without waiting for the answers:
    the server receives later batches into the memory of answered ones (ONNX keeps nothing of its
    input), so a batch reused too early would come back with another's answer. Each answer must
    match onnxruntime run in Python on its own batch."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(Path(__file__).resolve().parents[3] / "examples/models/mlp_small.onnx"))
    rows = 4 * 1024 * 1024 // (32 * 4)
    inputs = [np.random.default_rng(100 + i).normal(size=(rows, 32)).astype(np.float32) for i in range(8)]
    received = stream_ahead(runner_client, ("mlp_small", "predict"), [tensor_batch("x", x) for x in inputs])
    assert len(received) == len(inputs)
    for i, ((batch, _), x) in enumerate(zip(received, inputs)):
        want = session.run(None, {"x": x})[0]
        got = batch.column("y").to_numpy_ndarray()
        assert got.shape == want.shape, f"answer {i}"
        assert np.allclose(got, want, rtol=1e-4, atol=1e-5), f"answer {i} differs from onnxruntime by {np.abs(got - want).max()}"
