/**
 * Checks decoded arrays against their own buffers, so a corrupt message is refused with
 * INVALID_ARGUMENT instead of being stored or served as garbage: apache-arrow trusts
 * offsets, lengths and dictionary indices, and peers (arrow-go, pyarrow) refuse what it
 * would hand them. Linear in the number of values; no copies.
 */
import { Type, type Data } from 'apache-arrow';
import { FlightError } from './errors.js';

/** Throws INVALID_ARGUMENT naming the column and what is inconsistent. */
export function validateColumns(columns: readonly Data[], names: readonly string[], dictionaries: Map<number, { length: number }>): void {
  columns.forEach((data, i) => validateData(data, `column '${names[i] ?? i}'`, dictionaries));
}

function fail(where: string, what: string): never {
  throw FlightError.invalidArgument(`malformed record batch: ${where} ${what}`);
}

function validateData(data: Data, where: string, dictionaries: Map<number, { length: number }>): void {
  const { length, offset, typeId } = data;
  if (data.nullCount > 0 && data.nullBitmap && data.nullBitmap.byteLength * 8 < offset + length) {
    fail(where, `validity bitmap holds ${data.nullBitmap.byteLength * 8} bits for ${length} values`);
  }
  switch (typeId) {
    case Type.Null:
      return;
    case Type.Bool: {
      const bits = (data.values as Uint8Array | undefined)?.byteLength ?? 0;
      if (bits * 8 < offset + length) fail(where, `holds ${bits * 8} bits for ${length} bools`);
      return;
    }
    case Type.Int: case Type.Float: case Type.Date: case Type.Time: case Type.Timestamp:
    case Type.Duration: case Type.Decimal: case Type.FixedSizeBinary: case Type.Interval: {
      const have = (data.values as ArrayLike<unknown> | undefined)?.length ?? 0;
      if (have < length * data.stride) fail(where, `values buffer holds ${have} elements for ${length} values`);
      return;
    }
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: {
      checkOffsets(data, where, (data.values as Uint8Array | undefined)?.byteLength ?? 0, 'value bytes');
      return;
    }
    case Type.List: case Type.LargeList: case Type.Map: {
      const child = data.children[0]!;
      checkOffsets(data, where, child.length, 'child values');
      validateData(child, `${where} values`, dictionaries);
      return;
    }
    case Type.FixedSizeList: {
      const child = data.children[0]!;
      const size = (data.type as unknown as { listSize: number }).listSize;
      if (child.length < length * size) fail(where, `child holds ${child.length} values for ${length} lists of ${size}`);
      validateData(child, `${where} values`, dictionaries);
      return;
    }
    case Type.Struct:
      data.children.forEach((child, i) => {
        if (child.length < length) fail(where, `field ${i} holds ${child.length} values for ${length} rows`);
        validateData(child, `${where}.${data.type.children[i]?.name ?? i}`, dictionaries);
      });
      return;
    case Type.Dictionary: {
      const dictionary = data.dictionary;
      const size = dictionary?.length ?? 0;
      const indices = data.values as unknown as ArrayLike<number | bigint>;
      if (!indices || indices.length < length) fail(where, `indices buffer holds ${indices?.length ?? 0} values for ${length} rows`);
      for (let i = 0; i < length; i++) {
        const index = Number(indices[i]!);
        if ((index < 0 || index >= size) && isValid(data, i)) fail(where, `row ${i} has dictionary index ${index}, outside a dictionary of ${size}`);
      }
      return;
    }
    default:
      // Unions and view types: apache-arrow checks what it reads; children are checked here.
      data.children.forEach((child, i) => validateData(child, `${where} child ${i}`, dictionaries));
  }
}

/** Offsets must start at 0 or more, never decrease, and end within `limit`. */
function checkOffsets(data: Data, where: string, limit: number, what: string): void {
  const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  const length = data.length;
  // The format lets an empty array omit its offsets buffer.
  if (length === 0) return;
  if (!offsets || offsets.length < length + 1) fail(where, `offsets buffer holds ${offsets?.length ?? 0} entries for ${length} values`);
  let previous = Number(offsets[0]!);
  if (previous < 0) fail(where, `first offset is ${previous}`);
  for (let i = 1; i <= length; i++) {
    const current = Number(offsets[i]!);
    if (current < previous) fail(where, `offsets decrease at row ${i - 1} (${previous} then ${current})`);
    previous = current;
  }
  if (previous > limit) fail(where, `last offset ${previous} is past the ${limit} ${what}`);
}

function isValid(data: Data, i: number): boolean {
  if (data.nullCount <= 0 || !data.nullBitmap) return true;
  const bit = data.offset + i;
  return ((data.nullBitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}
