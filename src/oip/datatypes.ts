/**
 * V2 datatypes (BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES) and the
 * element layout of their raw data: what both the gRPC and the REST codecs agree on.
 */
import { DTYPES, kserveDatatype, type DType } from '../codecs/dtypes.js';
import { FlightError } from '../flight/index.js';

/** The V2 datatype of variable-length elements: strings and byte strings. */
export const BYTES = 'BYTES';

const byDatatype = new Map<string, DType>(DTYPES.map((d) => [kserveDatatype(d), d]));

/** Bytes per element of each dtype in raw V2 data (BOOL: one byte). */
export const ELEMENT_BYTES: Record<DType, number> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8,
};

/** The dtype of a numeric V2 datatype, undefined for BYTES, INVALID_ARGUMENT for anything else. */
export function dtypeOfDatatype(datatype: string, where: string): DType | undefined {
  if (datatype === BYTES) return undefined;
  const dtype = byDatatype.get(datatype);
  if (!dtype) {
    throw FlightError.invalidArgument(
      `${where} has datatype ${JSON.stringify(datatype.slice(0, 40))}, which is not a V2 datatype; use one of ${[...byDatatype.keys(), BYTES].join(', ')}`,
    );
  }
  return dtype;
}

/**
 * Triton's ModelConfig DataType enum name of a V2 datatype (TYPE_FP32; BYTES is
 * TYPE_STRING), as tritonclient and perf_analyzer read it.
 */
export function configDataType(datatype: string): string {
  return datatype === BYTES ? 'TYPE_STRING' : `TYPE_${datatype}`;
}
