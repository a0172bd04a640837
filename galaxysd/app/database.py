"""The app's database: quiz answers and candidate marks, through SQLAlchemy.

SQLite in the app data folder by default; any SQLAlchemy URL through
``GALAXYSD_DATABASE_URL`` (see :mod:`galaxysd.app.appdata`). Tables are created on first use.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint, create_engine, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from galaxysd.app.quiz import CHOICES, human_realism, human_realism_interval

MARK_STATUSES = ("confirmed", "rejected")
MAX_NOTE = 2000
MAX_NAME = 60
# Databases with an atomic INSERT ... ON CONFLICT DO UPDATE (others use a retrying upsert).
_UPSERT_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def trimmed_note(note: str | None, limit: int) -> str:
    """``note`` without surrounding blanks; ``ValueError`` when longer than ``limit`` characters."""
    note = str(note or "").strip()
    if len(note) > limit:
        raise ValueError(f"the note is {len(note)} characters long; the limit here is {limit}")
    return note


class Base(DeclarativeBase):
    pass


class QuizAnswer(Base):
    """One answer of the "spot the fake" quiz."""

    __tablename__ = "quiz_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    player: Mapped[str] = mapped_column(String(MAX_NAME), index=True)
    run: Mapped[str] = mapped_column(String(200), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    chosen: Mapped[int] = mapped_column(Integer)
    fake: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class CandidateMark(Base):
    """A user's verdict on one rare-object candidate of a run."""

    __tablename__ = "candidate_marks"
    __table_args__ = (UniqueConstraint("run", "candidate_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[str] = mapped_column(String(200), index=True)
    candidate_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class AppDatabase:
    """Reads and writes quiz answers and candidate marks (safe to share between threads)."""

    def __init__(self, url: str):
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)

    # ------------------------------------------------------------------ quiz
    def record_answer(self, player: str, run: str, prompt: str, chosen: int, fake: int) -> bool:
        """Store one quiz answer; returns whether the user found the fake."""
        player = clean_player(player)
        for name, value in (("chosen", chosen), ("fake", fake)):
            if not 0 <= int(value) < CHOICES:
                raise ValueError(f"{name} must be an image position 0-{CHOICES - 1}, got {value}")
        correct = int(chosen) == int(fake)
        with Session(self.engine) as session, session.begin():
            session.add(
                QuizAnswer(player=player, run=run, prompt=prompt, chosen=int(chosen), fake=int(fake), correct=correct)
            )
        return correct

    def leaderboard(self, run: str | None = None) -> pd.DataFrame:
        """Players by accuracy (then by answers): ``player, answers, found, accuracy``."""
        query = select(
            QuizAnswer.player,
            func.count().label("answers"),
            func.sum(func.cast(QuizAnswer.correct, Integer)).label("found"),
        )
        if run is not None:
            query = query.where(QuizAnswer.run == run)
        with self.engine.connect() as conn:
            table = pd.DataFrame(
                conn.execute(query.group_by(QuizAnswer.player)).all(), columns=["player", "answers", "found"]
            )
        table["accuracy"] = table["found"] / table["answers"]
        return table.sort_values(["accuracy", "answers"], ascending=False).reset_index(drop=True)

    def realism(self, run: str) -> dict:
        """All answers on a run: ``answers``, ``found``, ``accuracy`` and the human realism score
        with its 95% interval (``human_realism_low``, ``human_realism_high``)."""
        board = self.leaderboard(run)
        answers = int(board["answers"].sum())
        found = int(board["found"].sum()) if answers else 0
        accuracy = found / answers if answers else float("nan")
        low, high = human_realism_interval(found, answers)
        return {
            "answers": answers,
            "found": found,
            "accuracy": accuracy,
            "human_realism": human_realism(accuracy),
            "human_realism_low": low,
            "human_realism_high": high,
        }

    # ------------------------------------------------------------------ candidates
    def mark_candidate(self, run: str, candidate_id: str, status: str, note: str = "") -> None:
        """Mark a candidate confirmed or rejected with a note (replaces an earlier mark).

        One atomic upsert: two sessions marking the same new candidate at once leave one row.
        """
        if status not in MARK_STATUSES:
            raise ValueError(f"a mark is one of {', '.join(MARK_STATUSES)}, got {status!r}")
        note = trimmed_note(note, MAX_NOTE)
        values = {"run": run, "candidate_id": str(candidate_id), "status": status, "note": note, "updated_at": _now()}
        insert = _UPSERT_INSERTS.get(self.engine.dialect.name)
        if insert is not None:
            statement = insert(CandidateMark).values(**values)
            changes = {name: statement.excluded[name] for name in ("status", "note", "updated_at")}
            statement = statement.on_conflict_do_update(index_elements=["run", "candidate_id"], set_=changes)
            with self.engine.begin() as conn:
                conn.execute(statement)
            return
        self._insert_or_update_mark(values)

    def _insert_or_update_mark(self, values: dict) -> None:
        """Portable upsert for databases without ``ON CONFLICT``: update, else insert, and
        when another session inserted the same mark in between, update that row."""
        for _ in range(3):
            with Session(self.engine) as session, session.begin():
                mark = session.scalar(
                    select(CandidateMark).where(
                        CandidateMark.run == values["run"], CandidateMark.candidate_id == values["candidate_id"]
                    )
                )
                if mark is not None:
                    mark.status, mark.note, mark.updated_at = values["status"], values["note"], values["updated_at"]
                    return
            try:
                with Session(self.engine) as session, session.begin():
                    session.add(CandidateMark(**values))
                return
            except IntegrityError:
                continue  # inserted by another session meanwhile: update it on the next pass
        raise RuntimeError(f"could not store the mark of candidate {values['candidate_id']!r}; try again")

    def candidate_marks(self, run: str) -> pd.DataFrame:
        """Marks of a run's candidates: ``candidate_id, status, note, updated_at``."""
        query = select(
            CandidateMark.candidate_id, CandidateMark.status, CandidateMark.note, CandidateMark.updated_at
        ).where(CandidateMark.run == run)
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).all(), columns=["candidate_id", "status", "note", "updated_at"])


def clean_player(name: str) -> str:
    """A player name, trimmed; ``ValueError`` when empty or too long."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ValueError("enter a player name for the leaderboard")
    if len(name) > MAX_NAME:
        raise ValueError(f"player names are at most {MAX_NAME} characters")
    return name
