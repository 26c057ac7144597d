"""What the pages read about mail: a person's preferences, and the outbox for operators."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tracker.core.extensions import db
from tracker.data.models import MailPreference, OutboxMail, UsedLink
from tracker.domain import notifications

OUTBOX_PAGE_SIZE = 50


def mail_preferences(user_id: int, role: str) -> dict[str, bool]:
    """{kind: on?} for the optional kinds of the role (no row: on)."""
    stored = dict(db.session.execute(select(MailPreference.kind, MailPreference.enabled)
                                     .where(MailPreference.user_id == user_id)).all())
    return {kind: stored.get(kind, True) for kind in notifications.optional_kinds_for(role)}


@dataclass
class OutboxPage:
    mails: list[OutboxMail]
    counts: dict[str, int]  # every status, with 0 for none
    page: int
    pages: int
    status: str | None


def outbox_page(status: str | None, page: int) -> OutboxPage:
    """Newest first, OUTBOX_PAGE_SIZE a page; `status` one of notifications.STATUSES or None (all)."""
    counts = dict.fromkeys(notifications.STATUSES, 0)
    counts.update(db.session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
    total = counts[status] if status else sum(counts.values())
    pages = max(1, -(-total // OUTBOX_PAGE_SIZE))
    page = min(max(page, 1), pages)
    query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(OUTBOX_PAGE_SIZE)
    query = query.offset((page - 1) * OUTBOX_PAGE_SIZE)
    if status:
        query = query.where(OutboxMail.status == status)
    return OutboxPage(list(db.session.scalars(query)), counts, page, pages, status)


def link_used(link_id: str) -> bool:
    return db.session.get(UsedLink, link_id) is not None
