"""Per-asset processing: steps, the DAG, the claim-based queue and workers."""
