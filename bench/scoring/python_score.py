"""The Python ways a data team scores a file with an ONNX model, for the scoring benchmark.

    python_score.py pandas MODEL INPUT OUTPUT          # pandas + onnxruntime, one process
    python_score.py flight URI INPUT OUTPUT            # pyarrow Flight calls to a flight-runner server

INPUT is a .csv or .parquet with id, features_0..features_3; OUTPUT an Arrow IPC file (.arrow)
with id and probabilities (3 per row). Prints one JSON line: rows, seconds (reading to written, after
imports), checksum (sums of id, of probabilities[:, 0] and of (id mod 1009) * probabilities[:, 0],
to compare contenders: the last one catches an id joined to the wrong row).
"""
import json
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = [f"features_{j}" for j in range(4)]
BATCH_ROWS = 65_536


def joined(ids, first_probability):
    """Sum of (id mod 1009) * p0: changes if any id is joined to another row's score."""
    return float(np.sum((np.asarray(ids) % 1009) * np.asarray(first_probability, dtype=np.float64)))


def checksum(ids, first_probability):
    return {"ids": int(np.sum(ids, dtype=np.int64)), "p0": float(np.sum(first_probability, dtype=np.float64)),
            "joined": joined(ids, first_probability)}


def pandas_way(model, path, output):
    import onnxruntime as ort
    import pandas as pd

    started = time.perf_counter()
    df = pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as the server's iris runner (examples/serve.yaml)
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    probabilities = session.run(["probabilities"], {"features": df[FEATURES].to_numpy(np.float32)})[0]
    out = pd.DataFrame({"id": df["id"], **{f"probabilities_{j}": probabilities[:, j] for j in range(3)}})
    out.to_feather(output)
    seconds = time.perf_counter() - started
    return len(df), seconds, checksum(df["id"].to_numpy(), probabilities[:, 0])


def batches_of(path):
    """The file's rows in batches of at most BATCH_ROWS rows (as `flight-runner call` sends)."""
    if path.endswith(".csv"):
        import pyarrow.csv as pv
        # pyarrow's CSV blocks hold ~160k rows here; sent whole, two of them in flight
        # overrun the server's default queue (262,144 rows): RESOURCE_EXHAUSTED.
        for block in pv.open_csv(path, read_options=pv.ReadOptions(block_size=4 << 20)):
            for start in range(0, block.num_rows, BATCH_ROWS):
                yield block.slice(start, BATCH_ROWS)
    else:
        yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)


def flight_way(uri, path, output):
    import pyarrow.flight as flight

    started = time.perf_counter()
    client = flight.connect(uri)
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path("iris", "predict_proba"))
    ids = []  # the id column of each batch sent, to join the answers back (docs/protocol.md)
    error = []

    def send():
        try:
            begun = False
            for batch in batches_of(path):
                values = np.column_stack([batch.column(name).to_numpy() for name in FEATURES]).astype(np.float32)
                features = pa.FixedShapeTensorArray.from_numpy_ndarray(values)
                request = pa.record_batch([features], names=["features"])
                if not begun:
                    writer.begin(request.schema)
                    begun = True
                ids.append(batch.column("id"))
                writer.write_batch(request)
            writer.done_writing()
        except Exception as err:  # surfaced after the read loop
            error.append(err)
            writer.done_writing()

    thread = threading.Thread(target=send)
    thread.start()
    sink = None
    rows = 0
    id_sum = 0
    p0_sum = 0.0
    joined_sum = 0.0
    for i, chunk in enumerate(reader):
        probabilities = chunk.data.column("probabilities")
        values = probabilities.storage.flatten().to_numpy().reshape(-1, 3)
        id_column = ids[i]
        out = pa.record_batch([id_column, *[pa.array(values[:, j]) for j in range(3)]],
                              names=["id", *[f"probabilities_{j}" for j in range(3)]])
        if sink is None:
            sink = pa.ipc.new_file(output, out.schema)
        sink.write_batch(out)
        rows += out.num_rows
        id_sum += int(np.sum(id_column.to_numpy(), dtype=np.int64))
        p0_sum += float(np.sum(values[:, 0], dtype=np.float64))
        joined_sum += joined(id_column.to_numpy(), values[:, 0])
    thread.join()
    if error:
        raise error[0]
    if sink is not None:
        sink.close()
    writer.close()
    seconds = time.perf_counter() - started
    return rows, seconds, {"ids": id_sum, "p0": p0_sum, "joined": joined_sum}


if __name__ == "__main__":
    mode, target, path, output = sys.argv[1:5]
    rows, seconds, sums = (pandas_way if mode == "pandas" else flight_way)(target, path, output)
    print(json.dumps({"rows": rows, "seconds": seconds, "checksum": sums}))
