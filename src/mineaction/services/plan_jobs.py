"""Planning runs in the background of the web server: one worker thread, a short queue, progress.

The web app is one uvicorn process whose writes go through one writer lock, and the machine
may have two cores: so runs are done one at a time by a single daemon thread (the others
wait in a short queue), and a page polls the job for its progress. A run is what
``mineaction plan run`` does (load, calibrate, cut packages, plan, bound, store the draft),
optionally followed by a forecast stored with the plan (P10/P50/P90, probability of meeting a
deadline, one more team per class). Jobs live in memory: a restart forgets them (a plan that
was stored stays stored).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mineaction.errors import ConflictError, NotFoundError, ValidationError
from mineaction.services import planning as svc
from mineaction.store.engine import Store

#: Jobs waiting (not counting the running one) before new runs are refused.
MAX_QUEUED = 3
#: Finished jobs remembered (oldest forgotten first).
MAX_KEPT = 50


@dataclass(frozen=True)
class ForecastRequest:
    """A forecast to run on the plan's inputs and store with the plan."""

    samples: int = 30
    deadline: date | None = None
    marginal: bool = True


@dataclass
class PlanJob:
    """One background planning run and how far it got."""

    job_id: str
    created_by: str | None
    options: svc.PlanOptions
    teams_rows: Sequence[Mapping[str, Any]] | None = None
    calendars: Mapping[str, Any] | None = None
    forecast: ForecastRequest | None = None
    status: str = "queued"  # queued, running, done, failed
    message: str = "waiting for the planner"
    plan_id: str | None = None
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    # progress: the current phase runs from lo to hi, expected to last ``expect`` seconds
    _phase: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 0.0)

    def fraction(self, now: float | None = None) -> float:
        """Share of the run done (estimated inside a phase from its expected duration).

        >>> j = PlanJob("j", None, svc.PlanOptions())
        >>> j.fraction(), PlanJob("k", None, svc.PlanOptions(), status="done").fraction()
        (0.0, 1.0)
        """
        if self.status == "done":
            return 1.0
        lo, hi, expect, t0 = self._phase
        if hi <= lo:
            return lo
        elapsed = max(0.0, (now if now is not None else time.time()) - t0)
        return lo + (hi - lo) * min(0.99, elapsed / max(expect, 1e-6))

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible state for the page and its polling."""
        now = time.time()
        end = self.finished or now
        return {
            "job_id": self.job_id,
            "status": self.status,
            "message": self.message,
            "fraction": round(self.fraction(now), 4),
            "plan_id": self.plan_id,
            "error": self.error,
            "created_by": self.created_by,
            "elapsed_s": round(end - (self.started or end), 1),
            "queued_s": round((self.started or now) - self.submitted, 1),
            "scope": self.options.scope,
            "time_limit": self.options.time_limit,
        }


def _phase_of(
    message: str, options: svc.PlanOptions, fc: ForecastRequest | None
) -> tuple[float, float, float]:
    """Progress range and expected seconds of a phase announced by ``message``."""
    plan_end = 0.8 if fc else 0.95
    if message.startswith("loading"):
        return 0.0, 0.08, 10.0
    if message.startswith("calibrating"):
        return 0.08, 0.15, 10.0
    if message.startswith("planning"):
        top = 0.75 * plan_end if options.bound else plan_end
        return 0.15, top, options.time_limit + 2.0
    if message.startswith("lower bound"):
        return 0.75 * plan_end, plan_end, options.bound_time + 2.0
    if message.startswith("forecast"):
        n = fc.samples if fc else 30
        return plan_end, 0.9 if fc and fc.marginal else 0.97, 0.5 * n
    if message.startswith("marginal"):
        n = fc.samples if fc else 30
        return 0.9, 0.97, 2.5 * n
    if message.startswith("storing"):
        return 0.97, 1.0, 3.0
    return 0.0, 0.0, 1.0


class PlanJobs:
    """The background planner of one web app (one worker thread, started on first use)."""

    def __init__(
        self,
        store: Store,
        runner: Callable[[PlanJob, Store, Callable[[str], None]], str] | None = None,
    ) -> None:
        self.store = store
        self._runner = runner or run_job
        self._jobs: dict[str, PlanJob] = {}
        self._queue: queue.Queue[PlanJob] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(
        self,
        options: svc.PlanOptions,
        *,
        created_by: str | None,
        teams_rows: Sequence[Mapping[str, Any]] | None = None,
        calendars: Mapping[str, Any] | None = None,
        forecast: ForecastRequest | None = None,
    ) -> PlanJob:
        """Queue a run; refused (409) when ``MAX_QUEUED`` runs are already waiting."""
        with self._lock:
            waiting = sum(1 for j in self._jobs.values() if j.status == "queued")
            if waiting >= MAX_QUEUED:
                raise ConflictError(
                    f"{waiting} plan runs are already waiting: try again when one has finished",
                    where="plan run",
                )
            job = PlanJob(
                uuid.uuid4().hex[:12], created_by, options, teams_rows, calendars, forecast
            )
            self._jobs[job.job_id] = job
            done = [j for j in self._jobs.values() if j.finished is not None]
            for old in sorted(done, key=lambda j: j.finished or 0.0)[
                : max(0, len(done) - MAX_KEPT)
            ]:
                self._jobs.pop(old.job_id, None)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="mineaction-planner", daemon=True
                )
                self._thread.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> PlanJob:
        """A job by id (404 when unknown or forgotten)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"plan run {job_id!r} not found (runs are kept in memory until a restart)"
            )
        return job

    def counts(self) -> dict[str, int]:
        """Runs kept by state: ``queued``, ``running``, ``done``, ``failed``."""
        with self._lock:
            out = dict.fromkeys(("queued", "running", "done", "failed"), 0)
            for job in self._jobs.values():
                out[job.status] = out.get(job.status, 0) + 1
            return out

    def recent(self, limit: int = 10) -> list[PlanJob]:
        """The latest jobs, newest first."""
        return sorted(self._jobs.values(), key=lambda j: -j.submitted)[:limit]

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            job.status, job.started = "running", time.time()

            def progress(message: str, job: PlanJob = job) -> None:
                lo, hi, expect = _phase_of(message, job.options, job.forecast)
                job.message = message
                job._phase = (lo, hi, expect, time.time())

            try:
                job.plan_id = self._runner(job, self.store, progress)
                job.status, job.message = "done", "plan stored"
            except Exception as exc:  # noqa: BLE001 - reported on the page, the worker lives on
                job.status = "failed"
                job.error = str(exc) or type(exc).__name__
                job.message = "failed"
            finally:
                job.finished = time.time()
                self._queue.task_done()


def run_job(job: PlanJob, store: Store, progress: Callable[[str], None]) -> str:
    """Plan (and forecast) as ``mineaction plan run`` does; store the draft; its id."""
    progress("loading approved data")
    data = svc.load_programme(store)
    progress("calibrating and cutting work packages")
    inputs = svc.build_inputs(
        store, data, job.options, teams_rows=job.teams_rows, calendars=job.calendars
    )
    result = svc.make_plan(inputs, job.options, progress)
    if job.forecast is not None:
        fc = job.forecast
        summary, _ = svc.forecast_inputs(
            inputs,
            samples=fc.samples,
            seed=job.options.seed,
            deadline=fc.deadline,
            marginal=fc.marginal,
            progress=progress,
        )
        result.extra["forecast"] = summary
    progress("storing the plan")
    return svc.save_plan(store, result, created_by=job.created_by)


def options_from_form(form: Mapping[str, str]) -> tuple[svc.PlanOptions, ForecastRequest | None]:
    """Plan options and forecast request from the web form's fields (errors name the field).

    >>> o, f = options_from_form({"time_limit": "30", "horizon_years": "", "deadline": "2030-12-31",
    ...                           "samples": "20", "forecast": "1", "bound": "1"})
    >>> o.time_limit, o.horizon_years, o.bound, f.deadline.isoformat(), f.marginal
    (30.0, None, True, '2030-12-31', False)
    """

    def number(name: str, default: float, lo: float, hi: float) -> float:
        raw = (form.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValidationError(f"{name} must be a number", where=name) from None
        if not lo <= value <= hi:
            raise ValidationError(f"{name} must be between {lo:g} and {hi:g}", where=name)
        return value

    def day(name: str) -> date | None:
        raw = (form.get(name) or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(f"{name} must be a date YYYY-MM-DD", where=name) from None

    weights = form.get("weights") or "priority"
    if weights not in ("priority", "equal"):
        raise ValidationError("weights are priority or equal", where="weights")
    horizon = number("horizon_years", 0.0, 0.0, 50.0)
    options = svc.PlanOptions(
        start=day("start"),
        max_team_days=number("max_team_days", svc.DEFAULT_MAX_TEAM_DAYS, 1.0, 1000.0),
        time_limit=number("time_limit", 20.0, 0.0, 900.0),
        seed=int(number("seed", 0, 0, 2**31)),
        bound=bool(form.get("bound")),
        bound_time=number("bound_time", 30.0, 0.1, 300.0),
        horizon_years=horizon or None,
        weights=weights,
        scope=(form.get("scope") or "").strip() or None,
        utilisation=not form.get("no_utilisation"),
    )
    fc = None
    if form.get("forecast"):
        fc = ForecastRequest(
            samples=int(number("samples", 30, 1, 200)),
            deadline=day("deadline"),
            marginal=bool(form.get("marginal")),
        )
    return options, fc
