"""Generates the scoring benchmark's input: N rows of iris-like flowers with an id column,
as CSV and as Parquet (the same rows). Columns: id (int64, not the row number),
features_0 .. features_3 (float64, one decimal, as iris measurements are).

    .venv/bin/python bench/scoring/generate.py OUT_DIR [ROWS]
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

out_dir = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
rng = np.random.default_rng(20261130)
# Around the three iris species' means, so the model's classes all occur.
centers = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
species = rng.integers(0, 3, rows)
features = np.round(centers[species] + rng.normal(0, 0.35, (rows, 4)), 1).clip(0.1, None)
ids = (np.arange(rows, dtype=np.int64) * 7919) % 1_000_000_007  # distinct, not in row order
table = pa.table({"id": ids, **{f"features_{j}": features[:, j] for j in range(4)}})
pv.write_csv(table, f"{out_dir}/flowers.csv")
# Row groups of 65,536 rows: readers that go a row group at a time stay bounded.
pq.write_table(table, f"{out_dir}/flowers.parquet", row_group_size=65_536)
print(f"{rows} rows -> {out_dir}/flowers.csv, {out_dir}/flowers.parquet")
