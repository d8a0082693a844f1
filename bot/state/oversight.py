"""What maintainers oversee in the state database: pauses (the kill switch) and shadow answers.

A mixin of `bot.state.store.StateStore` (it needs only its `engine`). A pause is a row per
scope, read by every worker before each stage and before any write, so `navbot pause` takes
effect on all processes sharing the database (SQLite or Postgres) at once. A shadow answer is
the newest answer a run kept instead of posting on an issue, scored when a fix merges.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.state.records import ShadowAnswer
from bot.state.schema import pauses, shadow_answers, storable

#: The longest reason kept with a shadow answer.
REASON_CHARS = 500


class OversightState:
    """Pauses and shadow answers, over the state database's `engine`."""

    engine: Engine

    # The kill switch -------------------------------------------------------------------------
    def pause(self, scope: str, by: str | None = None) -> bool:
        """Pause writes on `scope` (owner/name, or ALL_REPOSITORIES); False if it already was."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(pauses).values(scope=scope.lower(), paused_at=time.time(),
                                                   paused_by=by))
            return True
        except IntegrityError:
            return False

    def resume(self, scope: str) -> bool:
        """Lift the pause on `scope`; False when it was not paused."""
        with self.engine.begin() as conn:
            done = conn.execute(delete(pauses).where(pauses.c.scope == scope.lower()))
        return bool(done.rowcount)

    def paused_scopes(self) -> dict[str, float]:
        """Every paused scope, with when it was paused."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(pauses.c.scope, pauses.c.paused_at))
            return {str(scope): float(at) for scope, at in rows}

    # Shadow answers ----------------------------------------------------------------------------
    def save_shadow_answer(self, answer: ShadowAnswer) -> None:
        """Keep `answer` as the issue's newest shadow answer (unscored: the text changed)."""
        values = asdict(answer)
        values.update(files=list(answer.files), reason=storable(answer.reason, REASON_CHARS),
                      fix=None, hit=None)
        key = and_(shadow_answers.c.repo_id == answer.repo_id,
                   shadow_answers.c.number == answer.number)
        with self.engine.begin() as conn:
            if not conn.execute(update(shadow_answers).where(key).values(**values)).rowcount:
                conn.execute(insert(shadow_answers).values(**values))

    def shadow_answers(self, repo_id: int | None = None) -> list[ShadowAnswer]:
        """The shadow answers of one repository, or of all, oldest first."""
        query = select(shadow_answers).order_by(shadow_answers.c.analysed_at)
        if repo_id is not None:
            query = query.where(shadow_answers.c.repo_id == repo_id)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return [ShadowAnswer(**{**row, "files": tuple(row["files"])}) for row in rows]

    def score_shadow_answers(self, scored: Iterable[ShadowAnswer]) -> None:
        """Store the fix and the hit of answers `bot.shadow.score` scored."""
        with self.engine.begin() as conn:
            for answer in scored:
                conn.execute(update(shadow_answers).where(and_(
                    shadow_answers.c.repo_id == answer.repo_id,
                    shadow_answers.c.number == answer.number,
                    shadow_answers.c.run_id == answer.run_id)).values(fix=answer.fix,
                                                                      hit=answer.hit))
