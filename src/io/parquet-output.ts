/**
 * Output batches as a Parquet file (hyparquet-writer, pure JS), one row group per
 * batch. Numbers, bools and strings map to their Parquet types; a tensor or list column
 * becomes a Parquet LIST of its element type holding each row's values flattened
 * row-major; `arrow.json` and other nested values are stored as JSON text. The Arrow
 * schema as stored goes in the file's `ARROW:schema` metadata, as Arrow writers do, so
 * Arrow readers get tensor shapes (and other extension types) back.
 */
import {
  Bool, Field, FixedSizeList, Float32, Float64, Int32, Int64, List, Schema, Type, Utf8, type DataType, type RecordBatch, type Vector,
} from 'apache-arrow';
import { encodeSchemaBytes } from '../flight/encode.js';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { dtypeOf, type DType } from '../codecs/dtypes.js';
import { plain } from './json-values.js';
import type { OutputSink } from './output-sink.js';

type ParquetType = 'BOOLEAN' | 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE';

function parquetTypeOf(dtype: DType | undefined): ParquetType | undefined {
  switch (dtype) {
    case 'bool': return 'BOOLEAN';
    case 'int8': case 'int16': case 'int32': case 'uint8': case 'uint16': return 'INT32';
    case 'int64': case 'uint32': case 'uint64': return 'INT64';
    case 'float16': case 'float32': return 'FLOAT';
    case 'float64': return 'DOUBLE';
    default: return undefined;
  }
}

/** How one Arrow column is written: its schema elements and its per-row values. */
interface ColumnPlan {
  elements: SchemaElement[];
  values(vector: Vector): unknown[];
  /**
   * The column as stored, for the file's `ARROW:schema` metadata: Arrow readers
   * (pyarrow, arrow-rs, arrow-go) then read a tensor column back as a fixed-size list
   * with its `arrow.fixed_shape_tensor` shape, not as a plain list of numbers.
   */
  arrowField: Field;
}

/** The Arrow type a Parquet physical type reads back as. */
function arrowTypeOf(type: ParquetType): DataType {
  switch (type) {
    case 'BOOLEAN': return new Bool();
    case 'INT32': return new Int32();
    case 'INT64': return new Int64();
    case 'FLOAT': return new Float32();
    case 'DOUBLE': return new Float64();
  }
}

/** `field` with `type`; its metadata (extension name and shape) only if the type is the one it describes. */
function storedAs(field: Field, type: DataType): Field {
  return new Field(field.name, type, true, String(type) === String(field.type) ? field.metadata : new Map());
}

const toNumber = (type: ParquetType) => (v: unknown): unknown => {
  if (v === null || v === undefined) return null;
  if (type === 'INT64') return BigInt(v as number);
  if (type === 'BOOLEAN') return Boolean(v);
  return Number(v);
};

function planColumn(field: Field): ColumnPlan {
  const name = field.name;
  const type: DataType = field.type;
  const primitive = parquetTypeOf(dtypeOf(type));
  if (primitive) {
    const convert = toNumber(primitive);
    return {
      elements: [{ name, type: primitive, repetition_type: 'OPTIONAL' }],
      values: (v) => Array.from(v as Iterable<unknown>, convert),
      arrowField: storedAs(field, arrowTypeOf(primitive)),
    };
  }
  if (type.typeId === Type.FixedSizeList || type.typeId === Type.List) {
    const element = parquetTypeOf(dtypeOf(type.children[0]!.type));
    if (element) {
      const convert = toNumber(element);
      return {
        elements: [
          { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', type: element, repetition_type: 'OPTIONAL' },
        ],
        values: (v) => Array.from(v as Iterable<Iterable<unknown> | null>, (row) => (row === null ? null : Array.from(row, convert))),
        arrowField: storedAs(field, type.typeId === Type.FixedSizeList
          ? new FixedSizeList((type as FixedSizeList).listSize, new Field('item', arrowTypeOf(element), true))
          : new List(new Field('item', arrowTypeOf(element), true))),
      };
    }
  }
  if (type.typeId === Type.Utf8 || type.typeId === Type.LargeUtf8) {
    return {
      elements: [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
      values: (v) => Array.from(v as Iterable<unknown>),
      arrowField: storedAs(field, new Utf8()),
    };
  }
  return {
    elements: [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
    values: (v) => Array.from(v as Iterable<unknown>, (x) => (x === null ? null : JSON.stringify(plain(x)))),
    arrowField: new Field(name, new Utf8(), true),
  };
}

/** Writes output batches to a Parquet file. */
export class ParquetSink implements OutputSink {
  private writer?: ParquetWriter;
  private plans: ColumnPlan[] = [];

  constructor(private readonly path: string) {}

  async write(batch: RecordBatch): Promise<void> {
    const fields = batch.schema.fields;
    if (!this.writer) {
      // The schema is known only once the first batch arrives (the server's output schema).
      this.plans = fields.map(planColumn);
      const schema: SchemaElement[] = [{ name: 'root', num_children: fields.length }, ...this.plans.flatMap((p) => p.elements)];
      const arrowSchema = new Schema(this.plans.map((p) => p.arrowField), batch.schema.metadata);
      this.writer = new ParquetWriter({
        writer: fileWriter(this.path),
        schema,
        kvMetadata: [{ key: 'ARROW:schema', value: Buffer.from(encodeSchemaBytes(arrowSchema)).toString('base64') }],
      });
    }
    if (batch.numRows === 0) return;
    const columnData = fields.map((f, c) => ({ name: f.name, data: this.plans[c]!.values(batch.getChild(f.name)!) }));
    await this.writer.write({ columnData: columnData as never, rowGroupSize: batch.numRows });
  }

  async close(): Promise<void> {
    if (!this.writer) {
      // No batch at all: still leave a valid (empty) file.
      this.writer = new ParquetWriter({ writer: fileWriter(this.path), schema: [{ name: 'root', num_children: 0 }] });
    }
    await this.writer.finish();
  }
}
