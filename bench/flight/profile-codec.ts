/**
 * A codec loop to run under a profiler (not a benchmark: it prints only ms per loop).
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/flight/profile-codec.ts enc|dec [MiB]
 */
import { tableFromArrays } from 'apache-arrow';
import { FlightDataDecoder, FlightDataEncoder, decodeFlightData, encodeFlightData } from '../../src/flight/index.js';

const mode = process.argv[2] === 'dec' ? 'dec' : 'enc';
const mib = Number(process.argv[3] ?? 1);
const values = new Float64Array((mib * 1024 * 1024) / 8);
for (let i = 0; i < values.length; i++) values[i] = i;
const batch = tableFromArrays({ x: values }).batches[0]!;
const schemaData = encodeFlightData(new FlightDataEncoder().encodeSchema(batch.schema));
// As grpc-js hands messages to the deserializer: 5 bytes into a fresh buffer.
const received = new FlightDataEncoder().encodeBatch(batch).map(encodeFlightData).map((m) => {
  const framed = Buffer.allocUnsafe(m.byteLength + 5);
  m.copy(framed, 5);
  return framed.subarray(5);
});
const loops = Math.max(20, Math.round(3000 / mib));
const t0 = performance.now();
for (let i = 0; i < loops; i++) {
  if (mode === 'enc') new FlightDataEncoder().encodeBatch(batch).map(encodeFlightData);
  else {
    const decoder = new FlightDataDecoder();
    decoder.decode(decodeFlightData(schemaData));
    for (const m of received) decoder.decode(decodeFlightData(m));
  }
}
console.log(mode, `${mib} MiB`, ((performance.now() - t0) / loops).toFixed(3), 'ms per loop');
