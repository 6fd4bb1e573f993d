"""The one client of the Flight benchmark, run against each server in turn so that both
are measured by the same C++ code. Prints one JSON object on stdout.

  echo:    DoExchange throughput, a writer thread streaming batches while the main thread
           reads the echo (so flow control, not lockstep, sets the pace).
  latency: one-row DoExchange round trips (a fresh exchange per call) and DoAction calls.
"""
import argparse
import json
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

MiB = 1024 * 1024


def float_batch(nbytes):
    values = np.random.default_rng(1).random(nbytes // 8)
    return pa.record_batch([pa.array(values)], names=["x"])


def stream_through(client, descriptor, batch, count):
    """Sends `batch` `count` times through one DoExchange from a writer thread while this
    thread reads the answers (flow control, not lockstep, sets the pace). Returns the seconds
    it took; fails unless exactly as many rows came back as went."""
    writer, reader = client.do_exchange(descriptor)
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
    rows = 0
    for chunk in reader:
        rows += chunk.data.num_rows
    elapsed = time.perf_counter() - start
    thread.join()
    writer.close()
    if failure:
        raise failure[0]
    if rows != count * batch.num_rows:
        raise RuntimeError(f"{rows} rows came back, {count * batch.num_rows} went")
    return elapsed


def echo(client, batch_mib, total_mib):
    batch = float_batch(batch_mib * MiB)
    count = max(2, total_mib // batch_mib)
    elapsed = stream_through(client, flight.FlightDescriptor.for_path("bench"), batch, count)
    return {"batch_mib": batch_mib, "batches": count, "seconds": elapsed,
            "mib_per_s": count * batch_mib / elapsed}


def exchange_round_trip(client, batch):
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path("ping"))
    writer.begin(batch.schema)
    writer.write_batch(batch)
    reader.read_chunk()
    writer.done_writing()
    for _ in reader:
        pass
    writer.close()


def action_round_trip(client, action):
    for _ in client.do_action(action):
        pass


def latencies(fn, calls):
    for _ in range(min(50, calls)):  # warm-up: connections, code paths, allocators
        fn()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e6)
    out.sort()
    return {"p50_us": out[len(out) // 2], "p99_us": out[min(len(out) - 1, int(len(out) * 0.99))], "calls": calls}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("location")
    parser.add_argument("--mode", choices=["echo", "latency"], required=True)
    parser.add_argument("--sizes", default="1,4,16,64", help="echo batch sizes in MiB")
    parser.add_argument("--total-mib", type=int, default=256, help="echo bytes per size")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    client = flight.FlightClient(args.location)
    client.wait_for_available(10)
    if args.mode == "echo":
        float_batch(MiB)  # numpy/arrow warm-up outside the timings
        echo(client, 1, 16)  # warm-up: connection and windows
        result = {"echo": [echo(client, int(s), args.total_mib) for s in args.sizes.split(",")]}
    else:
        one_row = pa.record_batch([pa.array([1.0])], names=["x"])
        result = {
            "exchange": latencies(lambda: exchange_round_trip(client, one_row), args.calls),
            "action": latencies(lambda: action_round_trip(client, flight.Action("healthcheck", b"")), args.calls),
        }
    client.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
