"""mentor_review_stats: each mentor's visible public reviews, counted by stars (the directory sorts
10,000 mentors by it, and a profile shows it, without reading the reviews).

`adjust` moves one review in or out, as one atomic upsert (INSERT ... ON CONFLICT DO UPDATE SET
n = n + 1, ...), in the caller's transaction: concurrent reviews of one mentor never lose a count.
`rebuild` and `first_difference` recompute it from the reviews (run by `rollups rebuild|verify`).
"""
from __future__ import annotations

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracker.data.models import MentorReviewStats, Review
from tracker.domain.vocabulary import STARS_MAX, STARS_MIN

STAR_COLUMNS = [f"stars_{n}" for n in range(STARS_MIN, STARS_MAX + 1)]
COLUMNS = ["n", "star_sum", *STAR_COLUMNS]
table = MentorReviewStats.__table__


def _values(stars: int, sign: int) -> dict[str, int]:
    return {"n": sign, "star_sum": sign * stars, **{f"stars_{n}": sign * (n == stars) for n in
                                                  range(STARS_MIN, STARS_MAX + 1)}}


def adjust(connection: Connection, mentor_id: int, stars: int, sign: int) -> None:
    """Count a visible review of `stars` in (sign 1) or out (sign -1)."""
    insert_ = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = insert_(table).values(mentor_id=mentor_id, **_values(stars, sign))
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["mentor_id"], set_={name: table.c[name] + stmt.excluded[name] for name in COLUMNS}))


def _fresh():
    r = Review
    return (select(r.mentor_id, func.count(), func.sum(r.stars),
                   *(func.sum(case((r.stars == n, 1), else_=0)) for n in range(STARS_MIN, STARS_MAX + 1)))
            .where(r.hidden_at.is_(None)).group_by(r.mentor_id))


def rebuild(connection: Connection) -> int:
    connection.execute(delete(table))
    rows = [dict(zip(["mentor_id", *COLUMNS], row)) for row in connection.execute(_fresh())]
    if rows:
        connection.execute(insert(table), rows)
    return len(rows)


def first_difference(connection: Connection) -> str | None:
    fresh = {row[0]: tuple(row[1:]) for row in connection.execute(_fresh())}
    stored = {row[0]: tuple(row[1:]) for row in connection.execute(
        select(table.c.mentor_id, *(table.c[name] for name in COLUMNS)))
        if any(row[1:])}
    for mentor_id in sorted(set(fresh) | set(stored)):
        if fresh.get(mentor_id) != stored.get(mentor_id):
            return (f"mentor_review_stats for mentor {mentor_id}: stored {stored.get(mentor_id)}, "
                    f"from the reviews {fresh.get(mentor_id)} ({', '.join(COLUMNS)})")
    return None
