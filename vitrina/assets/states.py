"""The states an asset and its step runs go through, as the catalog stores them.

Both are ``StrEnum``: a member equals the string in the database (``AssetStatus.READY
== "ready"``), so rows written before these types existed read back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class AssetStatus(StrEnum):
    """Where an asset's pipeline is, as the API reports it."""

    PENDING = "pending"  # stored, no step claimed yet
    PROCESSING = "processing"  # a worker has claimed one of its steps
    READY = "ready"  # every step done
    FAILED = "failed"  # a step failed for good; ``error`` says which and why


class StepState(StrEnum):
    """One step run of one asset; the job queue claims ``pending`` runs."""

    WAITING = "waiting"  # a step it requires is not done yet
    PENDING = "pending"  # claimable (now or after its retry back-off)
    RUNNING = "running"  # claimed by a worker holding its lease
    DONE = "done"
    FAILED = "failed"
