"""Stale results: a step whose version went up must run again over the catalog."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from vitrina.pipeline import steps as step_registry
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, StepRun


def _current_versions() -> dict[str, str]:
    kinds = {"image", "video"}
    return {s.name: s.version for kind in kinds for s in step_registry.steps_for(kind)}


def stale_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Finished runs per step whose recorded version is not the step's current one."""
    counts: dict[str, int] = {}
    with sessions() as s:
        for name, version in _current_versions().items():
            n = s.scalar(select(func.count()).select_from(StepRun).where(
                StepRun.step == name, StepRun.state.in_(("done", "failed")), StepRun.version != version))
            if n:
                counts[name] = n
    return counts


def requeue_stale(sessions: sessionmaker[Session], step: str | None = None) -> int:
    """Send stale runs back to the queue; their assets read as processing until done."""
    total = 0
    with transaction(sessions) as s:
        for name, version in _current_versions().items():
            if step and name != step:
                continue
            stale = (StepRun.step == name, StepRun.state.in_(("done", "failed")), StepRun.version != version)
            asset_ids = s.scalars(select(StepRun.asset_id).where(*stale)).all()
            if not asset_ids:
                continue
            s.execute(update(StepRun).where(*stale).values(
                state="pending", attempts=0, error=None, version=version, next_attempt_at=func.now())
                .execution_options(synchronize_session=False))
            s.execute(update(Asset).where(Asset.id.in_(asset_ids)).values(status="processing")
                      .execution_options(synchronize_session=False))
            total += len(asset_ids)
    return total
