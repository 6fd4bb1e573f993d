"""Streams batches of mlp_small's input (32 float32 per row) through one DoExchange, a
writer thread sending while the main thread reads the answers. Prints one JSON object:
the input rate in MiB/s."""
import argparse
import json
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

MiB = 1024 * 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("location")
    parser.add_argument("--batch-mib", type=int, default=16)
    parser.add_argument("--total-mib", type=int, default=512)
    args = parser.parse_args()
    rows = args.batch_mib * MiB // (32 * 4)
    x = np.random.default_rng(1).normal(size=(rows, 32)).astype(np.float32)
    batch = pa.record_batch([pa.FixedShapeTensorArray.from_numpy_ndarray(x)], names=["x"])
    count = max(2, args.total_mib // args.batch_mib)
    client = flight.connect(args.location)
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path("mlp_small", "predict"))
    failure = []

    def write():
        try:
            writer.begin(batch.schema)
            for _ in range(count):
                writer.write_batch(batch)
            writer.done_writing()
        except Exception as err:  # reported by the main thread
            failure.append(err)

    start = time.perf_counter()
    thread = threading.Thread(target=write)
    thread.start()
    answered = 0
    for chunk in reader:
        answered += chunk.data.num_rows
    elapsed = time.perf_counter() - start
    thread.join()
    writer.close()
    if failure:
        raise failure[0]
    if answered != count * rows:
        raise RuntimeError(f"answered {answered} rows, sent {count * rows}")
    print(json.dumps({"batch_mib": args.batch_mib, "batches": count, "seconds": elapsed, "mib_per_s": count * args.batch_mib / elapsed}))


if __name__ == "__main__":
    main()
