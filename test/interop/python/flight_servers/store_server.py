"""A pyarrow Flight server for the TypeScript client's interop tests.

It stores DoPut streams (validating every batch with pyarrow), lists them, serves them
back by DoGet with their batch boundaries and app_metadata, echoes DoExchange, answers
a few actions, and raises the exception it is asked to, so the client's mapping of
each gRPC status can be checked against what real pyarrow sends.

Usage: python store_server.py
Prints "pyarrow flight server listening on grpc://127.0.0.1:PORT" once serving; exits
on SIGTERM or SIGINT, or when stdin closes (its parent is gone).
"""
import json
import signal
import sys
import threading

import pyarrow as pa
import pyarrow.flight as flight

# What the "raise" action may raise, by name: pyarrow turns each into a gRPC status.
ERRORS = {
    "ArrowKeyError": pa.ArrowKeyError,
    "KeyError": KeyError,
    "ArrowInvalid": pa.ArrowInvalid,
    "ValueError": ValueError,
    "ArrowTypeError": pa.ArrowTypeError,
    "ArrowIndexError": pa.ArrowIndexError,
    "ArrowCapacityError": pa.ArrowCapacityError,
    "ArrowNotImplementedError": pa.ArrowNotImplementedError,
    "NotImplementedError": NotImplementedError,
    "ArrowException": pa.ArrowException,
    "FlightUnauthenticatedError": flight.FlightUnauthenticatedError,
    "FlightUnauthorizedError": flight.FlightUnauthorizedError,
    "FlightUnavailableError": flight.FlightUnavailableError,
    "FlightCancelledError": flight.FlightCancelledError,
    "FlightTimedOutError": flight.FlightTimedOutError,
    "FlightInternalError": flight.FlightInternalError,
    "FlightServerError": flight.FlightServerError,
    "RuntimeError": RuntimeError,
}

ACTIONS = [
    ("healthcheck", 'Answer {"status": "ok", "flights": N}.'),
    ("clear", "Remove the flight whose ticket is the body, or every flight if it is empty."),
    ("echo", "Return the body unchanged."),
    ("describe", "Describe a stored flight as pyarrow sees it; body: the ticket."),
    ("raise", 'Raise an error; body: {"error": NAME, "message": TEXT}.'),
]


def ticket_of(descriptor):
    """A stable key: the descriptor's kind and contents as JSON."""
    if descriptor.descriptor_type == flight.DescriptorType.PATH:
        return json.dumps({"path": [p.decode() for p in descriptor.path]}).encode()
    return json.dumps({"cmd": descriptor.command.hex()}).encode()


def read_chunks(reader):
    """Every (batch or None, app_metadata or None) of a stream, in order."""
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            return
        yield chunk.data, chunk.app_metadata


def _pylist_json(column):
    """The column's Python values as JSON, or None for the interval types that pyarrow 26
    has no Python array class for (to_pylist raises KeyError on them)."""
    try:
        return json.dumps(column.to_pylist(), default=str)
    except KeyError:
        return None


class StoreServer(flight.FlightServerBase):
    def __init__(self, location):
        super().__init__(location)
        self.flights = {}
        self.lock = threading.Lock()

    def _flight(self, ticket):
        with self.lock:
            stored = self.flights.get(ticket)
        if stored is None:
            raise pa.ArrowKeyError(f"no flight for ticket {ticket.decode(errors='replace')}")
        return stored

    def _info(self, ticket, stored):
        rows = sum(b.num_rows for b, _ in stored["chunks"])
        size = sum(b.nbytes for b, _ in stored["chunks"])
        endpoint = flight.FlightEndpoint(ticket, [flight.Location.for_grpc_tcp("127.0.0.1", self.port)])
        return flight.FlightInfo(stored["schema"], stored["descriptor"], [endpoint], rows, size)

    def list_flights(self, context, criteria):
        prefix = criteria.decode() if criteria else None
        with self.lock:
            items = list(self.flights.items())
        for ticket, stored in items:
            path = stored["descriptor"].path or []
            if prefix is None or (path and path[0].decode() == prefix):
                yield self._info(ticket, stored)

    def get_flight_info(self, context, descriptor):
        ticket = ticket_of(descriptor)
        return self._info(ticket, self._flight(ticket))

    def get_schema(self, context, descriptor):
        return flight.SchemaResult(self._flight(ticket_of(descriptor))["schema"])

    def do_put(self, context, descriptor, reader, writer):
        chunks = []
        for i, (batch, metadata) in enumerate(read_chunks(reader)):
            if batch is not None:
                try:
                    batch.validate(full=True)
                except pa.ArrowInvalid as e:
                    raise pa.ArrowInvalid(f"message {i} is not a valid {batch.schema}: {e}") from e
                chunks.append((batch, metadata))
            if metadata is not None:
                writer.write(metadata)
        with self.lock:
            self.flights[ticket_of(descriptor)] = {"descriptor": descriptor, "schema": reader.schema, "chunks": chunks}

    def do_get(self, context, ticket):
        stored = self._flight(ticket.ticket)
        schema, chunks = stored["schema"], stored["chunks"]
        if any(pa.types.is_dictionary(f.type) for f in schema):
            # pyarrow 26's GeneratorStream sends no dictionary batches for RecordBatch
            # items (its own client then fails "did not have the expected number of
            # dictionaries"), so dictionary flights go through an IPC reader, which
            # keeps batch boundaries and dictionary replacement but not app_metadata.
            return flight.RecordBatchStream(pa.RecordBatchReader.from_batches(schema, [b for b, _ in chunks]))
        return flight.GeneratorStream(schema, ((b, m) if m is not None else b for b, m in chunks))

    def do_exchange(self, context, descriptor, reader, writer):
        started = False
        for batch, metadata in read_chunks(reader):
            if batch is not None:
                if not started:
                    writer.begin(reader.schema)
                    started = True
                if metadata is None:
                    writer.write_batch(batch)
                else:
                    writer.write_with_metadata(batch, metadata)
            elif metadata is not None:
                writer.write_metadata(metadata)
        if not started:
            try:
                schema = reader.schema
            except (pa.ArrowException, flight.FlightError):
                return  # the client sent no schema: nothing to begin
            writer.begin(schema)

    def list_actions(self, context):
        return ACTIONS

    def do_action(self, context, action):
        body = action.body.to_pybytes()
        if action.type == "healthcheck":
            with self.lock:
                yield json.dumps({"status": "ok", "flights": len(self.flights)}).encode()
        elif action.type == "clear":
            with self.lock:
                if body:
                    self.flights.pop(body, None)
                else:
                    self.flights.clear()
            yield b'{"cleared": true}'
        elif action.type == "echo":
            yield body
        elif action.type == "describe":
            yield json.dumps(self._describe(self._flight(body))).encode()
        elif action.type == "raise":
            request = json.loads(body)
            raise ERRORS[request["error"]](request["message"])
        else:
            raise NotImplementedError(f"unknown action {action.type!r}")

    @staticmethod
    def _describe(stored):
        """The flight as pyarrow decoded it: types by pyarrow's names, counts, metadata."""
        table = pa.Table.from_batches([b for b, _ in stored["chunks"]], schema=stored["schema"])
        decode = lambda m: {k.decode(): v.decode() for k, v in (m or {}).items()}
        return {
            "fields": [{"name": f.name, "type": str(f.type), "nullable": f.nullable, "metadata": decode(f.metadata)}
                       for f in table.schema],
            "metadata": decode(table.schema.metadata),
            "rows": table.num_rows,
            "batches": [b.num_rows for b, _ in stored["chunks"]],
            "nullCounts": [c.null_count for c in table.columns],
            "pylist": [_pylist_json(c) for c in table.columns],
        }


def main():
    server = StoreServer("grpc://127.0.0.1:0")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # A parent that dies without signalling still closes our stdin.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print(f"pyarrow flight server listening on grpc://127.0.0.1:{server.port}", flush=True)
    stop.wait()
    server.shutdown()
    server.wait()


if __name__ == "__main__":
    main()
