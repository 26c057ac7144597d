"""The monthly pulse: the mentee's progress and how useful the month was, once per period."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import Mentorship, Pulse, UsedLink
from tracker.domain import lifecycle
from tracker.domain.vocabulary import PROGRESS_MAX, PROGRESS_MIN, USEFULNESS_MAX, USEFULNESS_MIN
from tracker.services.errors import Conflict, Invalid, NotFound


def answer_pulse(mentee_id: int, mentorship_id: int, period: int, progress: int | None,
                 usefulness: int | None, at: datetime, link_id: str | None = None) -> Pulse:
    """Store the mentee's pulse for `period`; both answers may be empty (a skip).

    link_id: the single-use link from a mail that this answer came through; recorded as used in the
    same transaction, so it can act once."""
    if progress is not None and not PROGRESS_MIN <= progress <= PROGRESS_MAX:
        raise Invalid(f"Progress is a percentage from {PROGRESS_MIN} to {PROGRESS_MAX}.", field="progress")
    if usefulness is not None and not USEFULNESS_MIN <= usefulness <= USEFULNESS_MAX:
        raise Invalid(f"Choose from {USEFULNESS_MIN} to {USEFULNESS_MAX}.", field="usefulness")
    with unit_of_work():
        m = db.session.get(Mentorship, mentorship_id)
        if m is None or m.mentee_id != mentee_id:
            raise NotFound("No such mentorship.")
        answered = set(db.session.scalars(select(Pulse.period).where(Pulse.mentorship_id == m.id)))
        due = lifecycle.pulse_due(m.trial_started_at, m.state(at), answered, at) if m.trial_started_at else None
        if due != period:
            raise Conflict("These questions are not open any more; thank you all the same.")
        pulse = Pulse(mentorship_id=m.id, period=period, progress=progress, usefulness=usefulness,
                      submitted_at=at)
        db.session.add(pulse)
        if link_id is not None:
            if db.session.get(UsedLink, link_id) is not None:
                raise Conflict("This link has already been used.")
            db.session.add(UsedLink(link_id=link_id, used_at=at))
        try:
            db.session.flush()
        except IntegrityError:
            raise Conflict("You have already answered for this month.") from None
    return pulse
