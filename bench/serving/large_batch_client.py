"""Streams batches of mlp_small's input (32 float32 per row) through one DoExchange, a
writer thread sending while the main thread reads the answers (bench/flight's client does
the streaming). Prints one JSON object: the input rate in MiB/s."""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flight"))
from pyarrow_client import MiB, stream_through  # noqa: E402


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
    elapsed = stream_through(flight.connect(args.location), flight.FlightDescriptor.for_path("mlp_small", "predict"), batch, count)
    print(json.dumps({"batch_mib": args.batch_mib, "batches": count, "seconds": elapsed, "mib_per_s": count * args.batch_mib / elapsed}))


if __name__ == "__main__":
    main()
