"""Stream shapes beyond one batch per type: dictionaries that change mid-stream, delta
dictionaries, compressed bodies, empty and huge batches, long streams, and DoExchange
messages that carry app_metadata only."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest


def assert_no_flight(client, descriptor, call_options):
    with pytest.raises(pa.ArrowKeyError):
        client.get_flight_info(descriptor, options=call_options)


def _dictionary_batch(schema, values, dictionary):
    indices = pa.array([dictionary.index(v) if v is not None else None for v in values], pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, pa.array(dictionary))
    return pa.record_batch([column], schema=schema)


DICT_SCHEMA = pa.schema([pa.field("d", pa.dictionary(pa.int32(), pa.string()), metadata={"kind": "label"})])


def _ipc_stats(chunks, options):
    """What pyarrow's own IPC writer emits for these batches with these options."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, chunks[0][0].schema, options=options) as writer:
        for batch, _ in chunks:
            writer.write_batch(batch)
    return writer.stats


def test_a_dictionary_replaced_mid_stream_survives_do_put_and_do_get(io, descriptor):
    chunks = [
        (_dictionary_batch(DICT_SCHEMA, ["a", "b", None, "a"], ["a", "b"]), b"0"),
        (_dictionary_batch(DICT_SCHEMA, ["x", "y", "x"], ["y", "x"]), b"1"),
        (_dictionary_batch(DICT_SCHEMA, ["q"], ["q"]), b"2"),
    ]
    stats = _ipc_stats(chunks, pa.ipc.IpcWriteOptions())
    assert stats.num_replaced_dictionaries == 2, "the test must really send replacement dictionaries"
    io.put(descriptor, DICT_SCHEMA, chunks)
    _, got = io.get(descriptor)
    io.assert_same(chunks, got)
    assert [v for b, _ in got for v in b.column("d").to_pylist()] == ["a", "b", None, "a", "x", "y", "x", "q"]


def test_a_dictionary_replaced_mid_stream_survives_do_exchange(io, descriptor):
    chunks = [
        (_dictionary_batch(DICT_SCHEMA, ["a", "b"], ["a", "b"]), b"0"),
        (_dictionary_batch(DICT_SCHEMA, ["c", None], ["c"]), b"1"),
    ]
    _, echoed = io.exchange(descriptor, DICT_SCHEMA, chunks)
    io.assert_same(chunks, echoed)


@pytest.mark.parametrize("rpc", ["do_put", "do_exchange"])
def test_delta_dictionaries_are_applied(io, descriptor, rpc):
    chunks = [
        (_dictionary_batch(DICT_SCHEMA, ["a", "b", "a"], ["a", "b"]), b"0"),
        (_dictionary_batch(DICT_SCHEMA, ["c", "a", None], ["a", "b", "c"]), b"1"),
        (_dictionary_batch(DICT_SCHEMA, ["e", "d", "b"], ["a", "b", "c", "d", "e"]), b"2"),
    ]
    options = pa.ipc.IpcWriteOptions(emit_dictionary_deltas=True)
    stats = _ipc_stats(chunks, options)
    assert stats.num_dictionary_deltas == 2, "the test must really send delta dictionaries"
    deltas = io.with_write_options(options)
    if rpc == "do_put":
        deltas.put(descriptor, DICT_SCHEMA, chunks)
        _, got = io.get(descriptor)
    else:
        _, got = deltas.exchange(descriptor, DICT_SCHEMA, chunks)
    io.assert_same(chunks, got)


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_compressed_streams_are_decoded(io, descriptor, codec):
    rng = np.random.default_rng(3)
    schema = pa.schema([("x", pa.float64()), ("s", pa.string()), ("l", pa.list_(pa.int32())),
                        ("d", pa.dictionary(pa.int32(), pa.string()))])
    chunks = []
    for i in range(3):
        n = 10_000 + i
        batch = pa.record_batch([
            pa.array(rng.standard_normal(n)),
            pa.array([f"row {j % 97}" if j % 11 else None for j in range(n)]),
            pa.array([[j, j + 1] if j % 7 else None for j in range(n)], pa.list_(pa.int32())),
            pa.array([f"k{j % 5}" for j in range(n)]).dictionary_encode(),
        ], schema=schema)
        chunks.append((batch, f"batch {i}".encode()))
    # An empty batch, where compressed buffers have zero length.
    chunks.append((pa.RecordBatch.from_pylist([], schema=schema), b"empty"))
    options = pa.ipc.IpcWriteOptions(compression=codec)
    assert io.with_write_options(options).put(descriptor, schema, chunks) == [m for _, m in chunks]
    _, got = io.get(descriptor)
    io.assert_same(chunks, got)


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_large_compressed_batches_are_decoded(io, descriptor, codec):
    """Buffers inflating past 1 MiB take the server's stepped decompression (the event loop
    turns between steps): a 4M-row batch, half runs of one value, half noise."""
    n = 4_000_000
    rng = np.random.default_rng(7)
    schema = pa.schema([("runs", pa.float64()), ("noise", pa.float64())])
    batch = pa.record_batch([pa.array(np.repeat(np.arange(n // 100_000, dtype=np.float64), 100_000)),
                             pa.array(rng.standard_normal(n))], schema=schema)
    chunks = [(batch, b"large")]
    options = pa.ipc.IpcWriteOptions(compression=codec)
    _, echoed = io.with_write_options(options).exchange(descriptor, schema, chunks)
    io.assert_same(chunks, echoed)


def test_zero_row_batches_and_schema_only_streams(io, descriptor):
    schema = pa.schema([("i", pa.int64()), ("s", pa.string()), ("l", pa.list_(pa.float32()))])
    empty = pa.RecordBatch.from_pylist([], schema=schema)
    one = pa.RecordBatch.from_pylist([{"i": 1, "s": "x", "l": [1.0]}], schema=schema)
    chunks = [(empty, b"empty first"), (one, b"one"), (empty, None), (empty, b"empty last")]
    io.put(descriptor, schema, chunks)
    _, got = io.get(descriptor)
    io.assert_same(chunks, got)
    _, echoed = io.exchange(descriptor, schema, chunks)
    io.assert_same(chunks, echoed)


def test_a_stream_with_a_schema_and_no_batches(io, client, descriptor, call_options):
    schema = pa.schema([pa.field("x", pa.int32(), metadata={"m": "1"})], metadata={"s": "2"})
    assert io.put(descriptor, schema, []) == []
    got_schema, got = io.get(descriptor)
    assert got_schema.equals(schema, check_metadata=True)
    assert got == []
    assert client.get_flight_info(descriptor, options=call_options).total_records == 0


def test_a_256_mib_batch_round_trips(io, client, descriptor, call_options):
    rows = 256 * 1024 * 1024 // 8
    values = np.arange(rows, dtype=np.int64)
    values[::1_000_003] *= -1
    batch = pa.record_batch([pa.array(values)], names=["big"])
    assert batch.nbytes >= 256 * 1024 * 1024
    io.put(descriptor, batch.schema, [(batch, b"big")])
    _, got = io.get(descriptor)
    assert len(got) == 1
    big, metadata = got[0]
    assert metadata == b"big"
    assert big.num_rows == rows
    np.testing.assert_array_equal(big.column(0).to_numpy(), values)
    # Free the server's copy: the session's server lives on for the other tests.
    path = json.dumps([p.decode() for p in descriptor.path]).encode()
    list(client.do_action(flight.Action("clear", path), options=call_options))
    assert_no_flight(client, descriptor, call_options)


def test_1000_small_batches_keep_their_order_and_metadata(io, descriptor):
    schema = pa.schema([("i", pa.int32()), ("s", pa.string())])
    chunks = [(pa.record_batch([pa.array([i, -i], pa.int32()), pa.array([str(i), None])], schema=schema), f"m{i}".encode())
              for i in range(1000)]
    assert io.put(descriptor, schema, chunks) == [m for _, m in chunks]
    _, got = io.get(descriptor)
    io.assert_same(chunks, got)
    _, echoed = io.exchange(descriptor, schema, chunks)
    io.assert_same(chunks, echoed)


def test_do_exchange_echoes_metadata_only_messages_in_place(io, descriptor):
    schema = pa.schema([("x", pa.float32())])
    batch = pa.record_batch([pa.array([1.5, None], pa.float32())], schema=schema)
    chunks = [(None, b"hello"), (batch, b"with batch"), (None, b"\x00\x01binary"), (batch, None), (None, b"bye")]
    _, echoed = io.exchange(descriptor, schema, chunks)
    io.assert_same(chunks, echoed)


def test_do_exchange_of_metadata_only_without_a_schema(client, descriptor, call_options):
    writer, reader = client.do_exchange(descriptor, options=call_options)
    with writer:
        writer.write_metadata(pa.py_buffer(b"no schema yet"))
        chunk = reader.read_chunk()
        assert chunk.data is None
        assert chunk.app_metadata.to_pybytes() == b"no schema yet"
        writer.done_writing()
        with pytest.raises(StopIteration):
            reader.read_chunk()


def test_put_results_arrive_while_the_upload_is_still_open(client, descriptor, call_options):
    schema = pa.schema([("i", pa.int64())])
    writer, results = client.do_put(descriptor, schema, options=call_options)
    with writer:
        for i in range(5):
            writer.write_with_metadata(pa.record_batch([pa.array([i])], schema=schema), pa.py_buffer(f"ack {i}".encode()))
            assert results.read().to_pybytes() == f"ack {i}".encode()
        writer.done_writing()
        assert results.read() is None
    assert isinstance(client.get_flight_info(descriptor, options=call_options), flight.FlightInfo)


def test_large_distinct_batches_echo_exactly_when_the_client_reads_late(client, descriptor, call_options):
    """Eight distinct 4 MiB batches sent before the client reads anything: the server's echo
    queues, and it reuses a batch's receive memory only once that batch's echo has been
    written out, so every echo is exactly its batch (an early reuse would return a later
    batch's values)."""
    import threading
    import time

    batches = [pa.record_batch([pa.array(np.arange(524288, dtype=np.float64) + i * 1e7)], names=["x"]) for i in range(8)]
    writer, reader = client.do_exchange(descriptor, options=call_options)
    failure = []

    def write():
        try:
            writer.begin(batches[0].schema)
            for batch in batches:
                writer.write_batch(batch)
            writer.done_writing()
        except Exception as err:  # reported below
            failure.append(err)

    with writer:
        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        time.sleep(0.5)
        echoed = [chunk.data for chunk in reader]
        thread.join(60)
    assert not failure, failure
    assert len(echoed) == len(batches)
    for i, (got, sent) in enumerate(zip(echoed, batches)):
        assert got.equals(sent), f"echo {i} differs from batch {i}"
