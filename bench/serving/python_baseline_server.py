"""The serving benchmark's baseline: what a user writes by hand to serve an ONNX model over
Arrow Flight with pyarrow and onnxruntime. Its DoExchange reads each batch, runs the
InferenceSession on it and writes the output batch, with the same descriptor and column
conventions as flight-runner (docs/protocol.md): each input is a column named after the
model input, a per-example tensor as an `arrow.fixed_shape_tensor` column, and each output
likewise. No batching across calls: every call runs the model on its own batch.

Prints the same ready line as flight-runner and exits 0 on SIGTERM.

    python python_baseline_server.py examples/models/mlp_small.onnx --port 0
"""
import argparse
import signal
import sys
import threading

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.flight as flight


class OnnxFlightServer(flight.FlightServerBase):
    def __init__(self, location, model_path, name, threads):
        super().__init__(location)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # One session for every call: InferenceSession.run is thread-safe, and pyarrow
        # serves each call on its own gRPC thread, so calls run concurrently.
        self.session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        self.name = name
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]
        # Every output of this benchmark's model is float32 [batch, *shape].
        self.output_schema = pa.schema([
            pa.field(o.name, pa.fixed_shape_tensor(pa.float32(), o.shape[1:]), nullable=False)
            for o in self.session.get_outputs()
        ])

    def do_exchange(self, context, descriptor, reader, writer):
        path = [p.decode() for p in (descriptor.path or [])]
        if not path or path[0] != self.name:
            raise flight.FlightServerError(f"unknown runner {path}; this server has '{self.name}'")
        writer.begin(self.output_schema)
        for chunk in reader:
            batch = chunk.data
            if batch is None:
                continue
            feeds = {name: tensor_of(batch.column(name)) for name in self.inputs}
            results = self.session.run(self.outputs, feeds)
            out = pa.record_batch(
                [pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(r)) for r in results],
                schema=self.output_schema,
            )
            if chunk.app_metadata is not None:
                writer.write_with_metadata(out, chunk.app_metadata)
            else:
                writer.write_batch(out)


def tensor_of(column):
    """A fixed_shape_tensor (or plain fixed-size list) column as a [rows, ...] ndarray."""
    if isinstance(column, pa.FixedShapeTensorArray):
        return column.to_numpy_ndarray()
    return column.flatten().to_numpy().reshape(len(column), -1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--name", default="mlp_small")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: its default)")
    args = parser.parse_args()
    server = OnnxFlightServer(f"grpc://127.0.0.1:{args.port}", args.model, args.name, args.threads)
    print(f"python baseline listening on grpc://127.0.0.1:{server.port}", flush=True)
    # shutdown() must not run on the thread that serves; a helper thread does it.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve()
    sys.exit(0)


if __name__ == "__main__":
    main()
