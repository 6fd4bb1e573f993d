/**
 * KServe V2 datatypes as the kserve backend reads them from a peer: the dtype each
 * numeric datatype carries, and its size on the wire (raw contents are little-endian,
 * row-major; BOOL is one byte per element). BYTES is separate: its elements are
 * length-prefixed.
 */
import { DTYPES, kserveDatatype, type DType } from '../../codecs/dtypes.js';

const byDatatype = new Map<string, DType>(DTYPES.map((d) => [kserveDatatype(d), d]));

/** The datatype names the backend serves (BF16 is not among them: Arrow has no bfloat16). */
export const SERVED_DATATYPES = [...byDatatype.keys(), 'BYTES'];

/** The dtype of a numeric or BOOL V2 datatype; undefined for BYTES and unknown names. */
export function dtypeOfDatatype(datatype: string): DType | undefined {
  return byDatatype.get(datatype);
}

/** Bytes per element of a dtype on the V2 wire. */
export function wireElementBytes(dtype: DType): number {
  switch (dtype) {
    case 'bool': case 'int8': case 'uint8': return 1;
    case 'int16': case 'uint16': case 'float16': return 2;
    case 'int32': case 'uint32': case 'float32': return 4;
    default: return 8;
  }
}
