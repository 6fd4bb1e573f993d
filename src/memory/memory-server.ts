/**
 * An in-memory Flight service: the reference example of the Flight library and the
 * server the interop suites run against. DoPut stores a stream under its descriptor,
 * ListFlights and GetFlightInfo describe what is stored, DoGet returns it, DoExchange
 * echoes every batch with its app_metadata.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
// From their modules, not the library's index: the index brings in the client and
// grpc-js, which a server process does not use (3.3 MB more live heap for every full GC to mark).
import { FlightDescriptor } from '../flight/descriptor.js';
import { FlightError } from '../flight/errors.js';
import type { ActionType, FlightInfo } from '../flight/messages.js';
import type { FlightHandlers } from '../flight/server.js';

interface StoredFlight {
  descriptor: FlightDescriptor;
  schema: Schema;
  batches: { batch: RecordBatch; appMetadata?: Uint8Array }[];
  rows: number;
  bytes: number;
}

const ACTIONS: ActionType[] = [
  { type: 'clear', description: 'Remove every stored flight, or the one whose path is given as a JSON array body.' },
  { type: 'healthcheck', description: 'Answer {"status":"ok","flights":N}.' },
];

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * The handlers of the in-memory service. `locations` names where DoGet can be called
 * (the server's own address), filled in once the server listens.
 *
 * @example
 * const server = new FlightServer(memoryServerHandlers(locations));
 */
export function memoryServerHandlers(locations: readonly string[]): FlightHandlers {
  const flights = new Map<string, StoredFlight>();

  const find = (descriptor: FlightDescriptor): StoredFlight => {
    const flight = flights.get(FlightDescriptor.key(descriptor));
    if (!flight) {
      const known = [...flights.values()].map((f) => FlightDescriptor.describe(f.descriptor));
      const listed = known.length > 20 ? `${known.slice(0, 20).join(', ')} and ${known.length - 20} more` : known.join(', ');
      throw FlightError.notFound(
        `no flight stored at ${FlightDescriptor.describe(descriptor)}; stored: ${known.length ? listed : 'none'}`,
      );
    }
    return flight;
  };

  const infoOf = (flight: StoredFlight): FlightInfo => ({
    schema: flight.schema,
    descriptor: flight.descriptor,
    endpoints: [{ ticket: new TextEncoder().encode(FlightDescriptor.key(flight.descriptor)), locations: [...locations] }],
    totalRecords: flight.rows,
    totalBytes: flight.bytes,
    ordered: true,
  });

  return {
    async *listFlights() {
      for (const flight of flights.values()) yield infoOf(flight);
    },

    getFlightInfo: (descriptor) => infoOf(find(descriptor)),

    pollFlightInfo: (descriptor) => ({ info: infoOf(find(descriptor)), progress: 1 }),

    getSchema: (descriptor) => find(descriptor).schema,

    async doPut(input, results) {
      const descriptor = input.descriptor;
      if (!descriptor) throw FlightError.invalidArgument('DoPut stream must start with a flight descriptor');
      const schema = await input.schema();
      if (!schema) throw FlightError.invalidArgument('DoPut stream ended before its schema');
      const flight: StoredFlight = { descriptor, schema, batches: [], rows: 0, bytes: 0 };
      for await (const { batch, appMetadata } of input) {
        if (batch) {
          flight.batches.push({ batch, ...(appMetadata ? { appMetadata } : {}) });
          flight.rows += batch.numRows;
          flight.bytes += batch.data.byteLength;
        }
        if (appMetadata) await results.write(appMetadata);
      }
      // Stored only once complete, so a failed upload leaves nothing half-written.
      flights.set(FlightDescriptor.key(descriptor), flight);
    },

    async doGet(ticket, output) {
      const key = new TextDecoder().decode(ticket);
      const flight = flights.get(key);
      if (!flight) throw FlightError.notFound(`no flight for ticket ${JSON.stringify(key)}`);
      await output.begin(flight.schema);
      for (const { batch, appMetadata } of flight.batches) await output.write(batch, appMetadata);
    },

    async doExchange(input, output) {
      // Echo each message as it arrives: waiting for the schema first would hold back
      // metadata-only messages sent before it, and a client awaiting their echo would hang.
      for (let msg = await input.nextMessage(); msg; msg = await input.nextMessage()) {
        if (msg.kind === 'schema') await output.begin(msg.schema);
        if (msg.kind === 'batch') {
          await output.write(msg.batch, msg.appMetadata);
          // Nothing here keeps the batch: once its echo is out, its receive buffer can take
          // a later batch (large batches would otherwise wait for a full GC to be freed).
          input.recycle(msg.batch, output);
        }
        // Only metadata-only messages are echoed alone; see FlightReader for why app_metadata
        // riding on schema and dictionary messages is ignored.
        else if (msg.kind === 'metadata' && msg.appMetadata) await output.writeMetadata(msg.appMetadata);
      }
    },

    async *doAction(action) {
      switch (action.type) {
        case 'clear': {
          const body = new TextDecoder().decode(action.body).trim();
          if (!body) flights.clear();
          else {
            let path: unknown;
            try {
              path = JSON.parse(body);
            } catch {
              throw FlightError.invalidArgument(`clear takes a JSON array path as its body, got ${JSON.stringify(body)}`);
            }
            if (!Array.isArray(path) || !path.every((p) => typeof p === 'string')) {
              throw FlightError.invalidArgument('clear takes a JSON array of strings as its body');
            }
            flights.delete(FlightDescriptor.key(FlightDescriptor.path(...path)));
          }
          yield json({ cleared: true, flights: flights.size });
          return;
        }
        case 'healthcheck':
          yield json({ status: 'ok', flights: flights.size });
          return;
        default:
          throw FlightError.unimplemented(
            `unknown action ${JSON.stringify(action.type)}; this server has: ${ACTIONS.map((a) => a.type).join(', ')}`,
          );
      }
    },

    *listActions() {
      yield* ACTIONS;
    },
  };
}
