"""Batch work over the whole catalog: analyser backfills on an engine (a local process
pool or Ray), their job rows, and Parquet exports (decision 026)."""
