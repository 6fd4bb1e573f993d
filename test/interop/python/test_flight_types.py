"""Every Arrow type pyarrow can send, through every data RPC of the memory server.

Each case is one column (with nulls wherever the type allows them, and field metadata)
sent as two batches. The server decodes it with apache-arrow JS, stores it and encodes
it again, so a round trip that compares equal (data, schema, field metadata, batch
boundaries, app_metadata) shows both directions of the codec are right for that type.
"""
import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

ROWS = 5


def _ints(type_):
    info = np.iinfo(type_.to_pandas_dtype())
    return pa.array([info.min, None, 0, info.max, 1], type_)


def _timestamps(unit, tz):
    base = {"s": 1_700_000_000, "ms": 1_700_000_000_123, "us": 1_700_000_000_123_456, "ns": 1_700_000_000_123_456_789}[unit]
    return pa.array([base, None, 0, -base, base + 1], pa.timestamp(unit, tz=tz))


def _dense_union():
    type_ids = pa.array([0, 1, 0, 1, 0], pa.int8())
    offsets = pa.array([0, 0, 1, 1, 2], pa.int32())
    return pa.UnionArray.from_dense(
        type_ids, offsets, [pa.array([1, None, 3], pa.int32()), pa.array(["x", None])], ["i", "s"], [0, 1])


def _sparse_union():
    type_ids = pa.array([0, 1, 1, 0, 1], pa.int8())
    return pa.UnionArray.from_sparse(
        type_ids,
        [pa.array([1, 2, 3, None, 5], pa.int64()), pa.array(["a", "b", None, "d", "e"])],
        ["n", "s"], [0, 1])


def _tensor():
    values = np.arange(ROWS * 6, dtype=np.float32).reshape(ROWS, 2, 3)
    return pa.FixedShapeTensorArray.from_numpy_ndarray(values)


CASES = {
    **{name: (lambda t=t: _ints(t)) for name, t in {
        "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
        "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    }.items()},
    "float16": lambda: pa.array(np.array([1.5, 0, -2.25, 65504, -0.0], np.float16), mask=np.array([0, 1, 0, 0, 0], bool)),
    "float32": lambda: pa.array([1.5, None, -np.inf, 3.4e38, -0.0], pa.float32()),
    "float64": lambda: pa.array([1.5, None, np.inf, 1.7e308, 5e-324], pa.float64()),
    "bool": lambda: pa.array([True, None, False, True, False]),
    "null": lambda: pa.nulls(ROWS),
    "utf8": lambda: pa.array(["a", None, "héllo ✓", "", "z" * 100]),
    "large_utf8": lambda: pa.array(["a", None, "héllo ✓", "", "z" * 100], pa.large_string()),
    "binary": lambda: pa.array([b"\x00\xff", None, b"", b"abc", b"\x01" * 50], pa.binary()),
    "large_binary": lambda: pa.array([b"\x00\xff", None, b"", b"abc", b"\x01" * 50], pa.large_binary()),
    "fixed_size_binary": lambda: pa.array([b"abc", None, b"\x00\x00\x00", b"xyz", b"\xff\xfe\xfd"], pa.binary(3)),
    "date32": lambda: pa.array([datetime.date(2024, 2, 29), None, datetime.date(1970, 1, 1), datetime.date(1, 1, 1), datetime.date(9999, 12, 31)], pa.date32()),
    "date64": lambda: pa.array([datetime.date(2024, 2, 29), None, datetime.date(1970, 1, 1), datetime.date(1900, 1, 1), datetime.date(9999, 12, 31)], pa.date64()),
    "time32_s": lambda: pa.array([0, None, 86399, 3600, 1], pa.time32("s")),
    "time32_ms": lambda: pa.array([0, None, 86_399_999, 3_600_000, 1], pa.time32("ms")),
    "time64_us": lambda: pa.array([0, None, 86_399_999_999, 3_600_000_000, 1], pa.time64("us")),
    "time64_ns": lambda: pa.array([0, None, 86_399_999_999_999, 3_600_000_000_000, 1], pa.time64("ns")),
    **{f"timestamp_{unit}_{tz or 'naive'}": (lambda unit=unit, tz=tz: _timestamps(unit, tz))
       for unit in ("s", "ms", "us", "ns") for tz in (None, "UTC", "America/New_York", "+05:30")},
    **{f"duration_{unit}": (lambda unit=unit: pa.array([0, None, -5, 2**40, 1], pa.duration(unit)))
       for unit in ("s", "ms", "us", "ns")},
    "month_day_nano_interval": lambda: pa.array([(1, 2, 3), None, (0, 0, 0), (-1, -2, -3), (12, 30, 10**12)], pa.month_day_nano_interval()),
    "decimal128_10_2": lambda: pa.array([Decimal("1.23"), None, Decimal("-99999999.99"), Decimal("0"), Decimal("12.5")], pa.decimal128(10, 2)),
    "decimal128_38_10": lambda: pa.array([Decimal("1234567890123456789012345678.0123456789"), None, Decimal("-1E-10"), Decimal(0), Decimal(1)], pa.decimal128(38, 10)),
    "list": lambda: pa.array([[1, 2], None, [], [None, 3], [4]], pa.list_(pa.int32())),
    "large_list": lambda: pa.array([[1, 2], None, [], [None, 3], [4]], pa.large_list(pa.int32())),
    "fixed_size_list": lambda: pa.array([[1.0, 2.0], None, [None, 3.0], [4.0, 5.0], [0.0, -1.0]], pa.list_(pa.float32(), 2)),
    "list_of_struct": lambda: pa.array([[{"a": 1}], None, [], [{"a": None}, None], [{"a": 2}]], pa.list_(pa.struct([("a", pa.int16())]))),
    "struct": lambda: pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": None}, {"a": 3, "b": ""}, {"a": 4, "b": "y"}],
                               pa.struct([("a", pa.int32()), ("b", pa.string())])),
    "struct_of_list": lambda: pa.array([{"l": [1]}, None, {"l": None}, {"l": []}, {"l": [2, 3]}], pa.struct([("l", pa.list_(pa.int64()))])),
    "map": lambda: pa.array([[("a", 1), ("b", None)], None, [], [("c", 3)], [("d", 4), ("e", 5)]], pa.map_(pa.string(), pa.int64())),
    "dense_union": _dense_union,
    "sparse_union": _sparse_union,
    "dictionary_utf8_int32": lambda: pa.array(["a", None, "b", "a", "c"]).dictionary_encode(),
    "dictionary_int64_int8": lambda: pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 1, 0], pa.int8()), pa.array([10, 20], pa.int64())),
    "dictionary_ordered": lambda: pa.DictionaryArray.from_arrays(pa.array([1, 0, None, 1, 1], pa.int16()), pa.array(["lo", "hi"]), ordered=True),
    "fixed_shape_tensor": _tensor,
}


@pytest.fixture(params=sorted(CASES), ids=str)
def typed(request):
    """(schema, [(batch, app_metadata)]) of one type: two batches, field and schema metadata."""
    column = CASES[request.param]()
    field = pa.field("value", column.type, nullable=True, metadata={"case": request.param, "unit": "none"})
    schema = pa.schema([field, pa.field("row", pa.int32(), nullable=False)], metadata={"suite": "pyarrow-interop"})
    full = pa.record_batch([column, pa.array(range(ROWS), pa.int32())], schema=schema)
    chunks = [(full.slice(0, 2), b"first"), (full.slice(2), b"second")]
    # Slices keep offsets into the parent buffers: sending them exercises offset handling.
    return schema, chunks


def test_do_put_then_do_get_returns_every_batch_with_its_metadata(io, descriptor, typed):
    schema, chunks = typed
    assert io.put(descriptor, schema, chunks) == [b"first", b"second"]
    got_schema, got = io.get(descriptor)
    assert got_schema.equals(schema, check_metadata=True), f"{got_schema} != {schema}"
    io.assert_same(chunks, got)


def test_flight_info_schema_and_listing_describe_the_upload(io, client, descriptor, typed, call_options):
    schema, chunks = typed
    io.put(descriptor, schema, chunks)

    info = client.get_flight_info(descriptor, options=call_options)
    assert info.schema.equals(schema, check_metadata=True)
    assert info.descriptor == descriptor
    assert info.total_records == ROWS
    assert info.total_bytes > 0

    assert client.get_schema(descriptor, options=call_options).schema.equals(schema, check_metadata=True)

    listed = [i for i in client.list_flights(options=call_options) if i.descriptor == descriptor]
    assert len(listed) == 1
    assert listed[0].schema.equals(schema, check_metadata=True)
    assert listed[0].total_records == ROWS


def test_do_exchange_echoes_every_batch_with_its_metadata(io, descriptor, typed):
    schema, chunks = typed
    got_schema, echoed = io.exchange(descriptor, schema, chunks)
    assert got_schema.equals(schema, check_metadata=True)
    io.assert_same(chunks, echoed)


def test_fixed_shape_tensor_reads_back_as_the_extension_type(io, descriptor):
    values = np.random.default_rng(7).standard_normal((6, 3, 4)).astype(np.float64)
    tensor = pa.FixedShapeTensorArray.from_numpy_ndarray(values)
    batch = pa.record_batch([tensor], names=["t"])
    io.put(descriptor, batch.schema, [(batch, None)])
    _, [(got, _)] = io.get(descriptor)
    column = got.column("t")
    assert isinstance(column.type, pa.FixedShapeTensorType)
    assert column.type.shape == [3, 4]
    assert column.type.value_type == pa.float64()
    np.testing.assert_array_equal(column.to_numpy_ndarray(), values)


def test_cmd_descriptors_are_stored_and_found_like_paths(io, client, call_options):
    descriptor = flight.FlightDescriptor.for_command(b"\x00binary command \xff")
    batch = pa.record_batch([pa.array([1, 2, 3])], names=["x"])
    io.put(descriptor, batch.schema, [(batch, None)])
    info = client.get_flight_info(descriptor, options=call_options)
    assert info.descriptor == descriptor
    _, got = io.get(descriptor)
    io.assert_same([(batch, None)], got)
