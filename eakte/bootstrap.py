"""The composition root: the one place that builds a `Runtime` with everything plugged in.

It sits above everything else (it imports the jobs, which import the services, which import the runtime), so
the runtime never has to import the jobs to find its queue. Every entry point (the CLI, the server, tests,
benchmarks) builds its runtime here."""
from __future__ import annotations

from eakte.config import Settings
from eakte.jobs import Jobs
from eakte.runtime import Runtime


def build_runtime(settings: Settings) -> Runtime:
    """A runtime whose services enqueue their background work into eakte's Huey queue."""
    return Runtime(settings, job_queue=Jobs)
