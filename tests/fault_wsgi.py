"""What gunicorn serves for the crash test (tests/test_under_gunicorn.py): the real app, plus a fault
injected from here, never from production code: every transaction that stored something holds
still for TEST_PAUSE_BEFORE_COMMIT seconds after its last flush, just before COMMIT, so the test can
kill the worker while the rows are written but not committed.
"""
from __future__ import annotations

import os
import time

from sqlalchemy import event

from tracker import create_app
from tracker.core.extensions import db

PAUSE = float(os.environ["TEST_PAUSE_BEFORE_COMMIT"])

app = create_app()


@event.listens_for(db.session, "after_flush")
def _wrote(session, _flush_context) -> None:
    session.info["wrote"] = True


@event.listens_for(db.session, "before_commit")
def _pause(session) -> None:
    if session.info.pop("wrote", False):
        time.sleep(PAUSE)


@event.listens_for(db.session, "after_rollback")
def _forget(session) -> None:
    session.info.pop("wrote", None)
