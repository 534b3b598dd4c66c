"""/v1/batch/jobs: backfill jobs and their progress (decision 026), for admins.

An admin key sees its project's jobs; a key that is also an organisation admin sees
every job, including backfills over the whole catalog (no project). Jobs are started
by `vitrina batch backfill`; the API only reads them, so a running backfill is
visible while the service keeps serving.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import ORG
from vitrina.api.deps import get_runtime, require
from vitrina.batch.jobs import BackfillJobs, JobView

router = APIRouter(prefix="/v1/batch", tags=["batch"])


class JobOut(BaseModel):
    id: str
    project: str | None = Field(description="null: every project's assets")
    analysers: list[str] | None = Field(description="null: every analyser with stale results")
    force: bool = Field(description="every result recomputed, not only stale ones")
    engine: str = Field(description="local or ray")
    state: str = Field(description="running, done, failed or cancelled")
    stalled: bool = Field(description="running, but its driver stopped (killed): resume it with "
                                      "`vitrina batch backfill --resume <id>`")
    total: int = Field(description="assets to visit")
    done: int = Field(description="assets whose results are written (or were already current)")
    failed: int = Field(description="assets an analyser or the input refused in the latest run")
    left: int = Field(description="total - done - failed")
    written: int = Field(description="result rows written")
    rate: float | None = Field(description="assets a second in the latest run")
    eta_seconds: int | None = Field(description="left / rate while running")
    error: str | None
    started_at: datetime
    updated_at: datetime
    heartbeat_at: datetime | None
    finished_at: datetime | None


class JobList(BaseModel):
    items: list[JobOut]


def out(j: JobView) -> JobOut:
    return JobOut(**{k: v for k, v in j.__dict__.items() if k in JobOut.model_fields})


def _scope(request: Request) -> str | None:
    """The project whose jobs the caller sees; None: every job (organisation admins)."""
    principal = request.state.principal
    return None if principal.allows(ORG) else principal.project_id


@router.get("/jobs", response_model=JobList, dependencies=[Depends(require("admin"))])
async def list_jobs(request: Request, limit: int = Query(50, ge=1, le=500)) -> JobList:
    """Backfill jobs, newest first."""
    jobs = BackfillJobs(get_runtime(request).sessions)
    found = await run_in_threadpool(jobs.list, _scope(request), limit)
    return JobList(items=[out(j) for j in found])


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=[Depends(require("admin"))])
async def get_job(job_id: str, request: Request) -> JobOut:
    """One job: state, counts, rate and the estimated time left (404 backfill_job_not_found)."""
    jobs = BackfillJobs(get_runtime(request).sessions)
    return out(await run_in_threadpool(jobs.get, job_id, _scope(request)))
