"""The C++ peer of the Flight benchmark: a pyarrow Flight server whose DoExchange echoes
every batch with its app_metadata (as the memory-server does) and whose DoAction answers
"healthcheck". Prints the same ready line as flight-runner, and exits on SIGTERM."""
import argparse
import json
import signal
import sys
import threading

import pyarrow.flight as flight


class EchoServer(flight.FlightServerBase):
    def do_exchange(self, context, descriptor, reader, writer):
        # reader.schema waits for the client's schema message, like the Node server does.
        writer.begin(reader.schema)
        for chunk in reader:
            if chunk.data is not None and chunk.app_metadata is not None:
                writer.write_with_metadata(chunk.data, chunk.app_metadata)
            elif chunk.data is not None:
                writer.write_batch(chunk.data)
            elif chunk.app_metadata is not None:
                writer.write_metadata(chunk.app_metadata)

    def do_action(self, context, action):
        if action.type == "healthcheck":
            yield flight.Result(json.dumps({"status": "ok", "flights": 0}).encode())
            return
        raise flight.FlightServerError(f"unknown action {action.type}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = EchoServer(f"grpc://127.0.0.1:{args.port}")
    print(f"pyarrow echo listening on grpc://127.0.0.1:{server.port}", flush=True)
    # shutdown() must not run on the thread that serves; a helper thread does it.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve()
    sys.exit(0)


if __name__ == "__main__":
    main()
