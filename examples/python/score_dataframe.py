"""Scores a pandas DataFrame through the loan_scorer runner in one DoExchange, in batches.

    python examples/python/score_dataframe.py grpc://127.0.0.1:8815 [ROWS] [BATCH_ROWS]

loan_scorer/score takes a table: each record batch with columns income (float64),
debt (float64) and age (int64) is one call's input, one row per applicant, and its
answer is a batch of (score float64, approved bool) with the same rows in the same order.
All batches stream through a single exchange; a reader thread collects the answers while
the main thread writes, so neither side waits for the other. Plain pyarrow, no
flight-runner code. Prints a summary, then one JSON line ("SUMMARY {...}").
"""
import json
import sys
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as flight

TIMEOUT_S = 300


def applicants(rows, seed=42):
    """A generated DataFrame of loan applicants."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.uniform(15_000, 150_000, rows).round(2),
        "debt": rng.uniform(0, 60_000, rows).round(2),
        "age": rng.integers(18, 80, rows, dtype=np.int64),
    })


def score(client, df, batch_rows):
    """Streams df through loan_scorer/score; returns the scores as a DataFrame (same index)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    batches = table.to_batches(max_chunksize=batch_rows)
    writer, reader = client.do_exchange(
        flight.FlightDescriptor.for_path("loan_scorer", "score"),
        options=flight.FlightCallOptions(timeout=TIMEOUT_S),
    )
    answers = []
    failure = []

    def read():
        try:
            for chunk in reader:
                # app_metadata comes back on the answer to the batch that carried it.
                answers.append((int(chunk.app_metadata.to_pybytes()), chunk.data))
        except Exception as err:  # reported by the main thread
            failure.append(err)

    reading = threading.Thread(target=read, daemon=True)
    with writer:
        writer.begin(table.schema)
        reading.start()
        try:
            for i, batch in enumerate(batches):
                writer.write_with_metadata(batch, pa.py_buffer(str(i).encode()))
            writer.done_writing()
        finally:
            reading.join(TIMEOUT_S)
    if failure:
        raise failure[0]
    if reading.is_alive():
        raise TimeoutError(f"no complete answer within {TIMEOUT_S}s")
    if [i for i, _ in answers] != list(range(len(batches))):
        raise RuntimeError(f"answers out of order or missing: {[i for i, _ in answers][:20]}")
    for (_, answer), batch in zip(answers, batches):
        if answer.num_rows != batch.num_rows:
            raise RuntimeError(f"a batch of {batch.num_rows} rows came back with {answer.num_rows}")
    result = pa.Table.from_batches([a for _, a in answers]).to_pandas()
    result.index = df.index
    return result, len(batches)


def main(uri, rows=100_000, batch_rows=10_000):
    df = applicants(rows)
    client = flight.connect(uri)
    scores, batches = score(client, df, batch_rows)
    client.close()
    scored = df.join(scores)

    approved = int(scored["approved"].sum())
    print(f"scored {len(scored):,} applicants in {batches} batches through loan_scorer/score")
    print(f"approved: {approved:,} ({approved / len(scored):.1%}); mean score {scored['score'].mean():.4f}")
    by_age = scored.groupby(pd.cut(scored["age"], [17, 30, 45, 60, 80]), observed=True)["score"].mean()
    print("mean score by age:")
    for band, mean in by_age.items():
        print(f"  {band}: {mean:.4f}")
    print("first applicants:")
    print(scored.head(5).to_string())
    print("SUMMARY " + json.dumps({
        "rows": len(scored), "batches": batches, "approved": approved,
        "mean_score": float(scored["score"].mean()),
        "first": scored.head(5).to_dict(orient="records"),
    }))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3, 4):
        sys.exit(f"usage: {sys.argv[0]} grpc://HOST:PORT [ROWS] [BATCH_ROWS]")
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
