"""The heartbeat job lives in the project's database and runs the runner of this process."""

from __future__ import annotations

import pickle

from sqlalchemy import text

from newsletter.app import App
from newsletter.schedule.process import (
    HEARTBEAT_REF,
    JOB_ID,
    JOB_TABLE,
    SchedulerRunner,
    build_scheduler,
)


def test_the_stored_job_is_a_textual_reference_bound_to_this_processs_runner(app: App) -> None:
    runner = SchedulerRunner(app, holder="here", drain=False, out=lambda _line: None)
    assert JOB_TABLE == "apscheduler_jobs"
    scheduler = build_scheduler(runner, interval=3600)
    scheduler.start(paused=True)
    try:
        with app.engine.connect() as connection:
            state = connection.execute(
                text("SELECT job_state FROM apscheduler_jobs WHERE id = :id"), {"id": JOB_ID}
            ).scalar_one()
        assert pickle.loads(state)["func"] == HEARTBEAT_REF  # noqa: S301  (our own table)
        job = scheduler.get_job(JOB_ID)
        assert job.func == runner.heartbeat  # read back from the table, bound to this runner
        job.func()
        assert runner.beats == 1
    finally:
        scheduler.shutdown(wait=False)
