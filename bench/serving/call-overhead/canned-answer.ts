/**
 * The answer both call-overhead servers give: what a runner like mlp_small returns for
 * one row (column `y`, a float32 tensor of shape [8]), as a record batch.
 */
import { Field, type RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../../../src/codecs/batch.js';
import { Tensor, fixedShapeColumn } from '../../../src/codecs/tensor.js';

export function cannedAnswer(): RecordBatch {
  const y = fixedShapeColumn(new Tensor('float32', new Float32Array(8).fill(0.5), [1, 8]));
  return batchFromColumns([new Field('y', y.type, false)], [y], 1);
}
