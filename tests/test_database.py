"""The app's database on SQLite and on a real PostgreSQL server: quiz answers, candidate
marks, and two sessions marking the same new candidate at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from prerequisites import skip_unless

from galaxysd.app.database import AppDatabase, Base
from galaxysd.app.quiz import CHOICES, human_realism, wilson_interval

POSTGRES_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "test-postgres.sh"
POSTGRES_URL_VARIABLE = "GALAXYSD_TEST_POSTGRES_URL"


@pytest.fixture(scope="module")
def postgres_url():
    """The URL of a PostgreSQL test database: ``GALAXYSD_TEST_POSTGRES_URL`` (set by
    ``.ci/run``), else a throwaway server started by ``scripts/test-postgres.sh``."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        yield url
        return
    installed = shutil.which("pg_ctl") is not None or any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    skip_unless(installed, "PostgreSQL is not installed (Debian: apt-get install postgresql)")
    # Under the system temp folder, not pytest's (private to this user: as root, the server
    # runs as the postgres user and must reach its folder).
    state = Path(tempfile.mkdtemp(prefix="galaxysd-test-postgres-"))
    state.chmod(0o755)
    env = {**os.environ, "GALAXYSD_PG_STATE": str(state / "server")}
    started = subprocess.run(["bash", str(POSTGRES_SCRIPT), "start"], env=env, capture_output=True, text=True)
    try:
        log = (state / "server" / "initdb.log").read_text()[-500:] if started.returncode else ""
        skip_unless(started.returncode == 0, f"could not start a PostgreSQL test server: {started.stderr}{log}")
        yield started.stdout.strip().split("=", 1)[1]
    finally:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop"], env=env, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """An empty app database on each backend."""
    if request.param == "sqlite":
        database = AppDatabase(f"sqlite:///{tmp_path / 'sub' / 'app.db'}")
    else:
        database = AppDatabase(request.getfixturevalue("postgres_url"))
    yield database
    Base.metadata.drop_all(database.engine)
    database.engine.dispose()


def test_the_backends_are_the_ones_asked_for(db):
    assert db.engine.dialect.name in ("sqlite", "postgresql")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            assert "PostgreSQL" in conn.exec_driver_sql("select version()").scalar()


def test_quiz_answers_rank_players_and_give_the_human_realism_score(db):
    assert db.record_answer("ada", "run-a", "sdss, smooth", chosen=2, fake=2) is True
    assert db.record_answer("ada", "run-a", "sdss, smooth", chosen=1, fake=2) is False
    for _ in range(3):
        db.record_answer("  bob ", "run-a", "sdss, merger", chosen=0, fake=0)
    db.record_answer("cy", "run-b", "sdss", chosen=0, fake=3)
    board = db.leaderboard("run-a")
    assert list(board["player"]) == ["bob", "ada"]
    assert list(board["answers"]) == [3, 2] and list(board["accuracy"]) == [1.0, 0.5]
    realism = db.realism("run-a")
    assert realism["answers"] == 5 and realism["accuracy"] == pytest.approx(0.8)
    assert realism["human_realism"] == pytest.approx((1 - 0.8) / 0.75)
    assert realism["found"] == 4
    # Wilson 95% interval of 4 of 5, mapped through the score (hand-computed: 0.376-0.964)
    assert realism["human_realism_low"] == pytest.approx(human_realism(0.96378), abs=1e-4)
    assert realism["human_realism_high"] == pytest.approx(human_realism(0.37553), abs=1e-4)
    assert np.isnan(db.realism("never-played")["human_realism"])
    with pytest.raises(ValueError, match="player name"):
        db.record_answer("   ", "run-a", "x", 0, 0)
    with pytest.raises(ValueError, match="position"):
        db.record_answer("ada", "run-a", "x", CHOICES, 0)


def test_a_candidate_mark_is_replaced_not_duplicated(db):
    db.mark_candidate("run", "g1", "confirmed", "clear dust lane")
    db.mark_candidate("run", "g1", "rejected", "  a foreground star  ")
    db.mark_candidate("run", "g2", "confirmed")
    marks = db.candidate_marks("run").set_index("candidate_id")
    assert len(marks) == 2
    assert marks.loc["g1", "status"] == "rejected" and marks.loc["g1", "note"] == "a foreground star"
    assert db.candidate_marks("other-run").empty
    with pytest.raises(ValueError, match="confirmed, rejected"):
        db.mark_candidate("run", "g1", "maybe")
    with pytest.raises(ValueError, match="limit"):
        db.mark_candidate("run", "g1", "confirmed", "x" * 2001)


@pytest.mark.parametrize("portable", [False, True], ids=["on-conflict", "retrying"])
def test_two_sessions_marking_the_same_new_candidate_at_once_leave_one_row(db, portable, monkeypatch):
    """Both threads start their write together on a candidate nobody has marked yet."""
    if portable:  # the path taken by databases without INSERT ... ON CONFLICT
        monkeypatch.setattr("galaxysd.app.database._UPSERT_INSERTS", {})
    rounds, errors = 8, []
    for round_index in range(rounds):
        candidate = f"g-{uuid.uuid4().hex[:8]}"
        barrier = threading.Barrier(2)

        def mark(status: str) -> None:
            barrier.wait()
            try:
                db.mark_candidate("run", candidate, status, f"{status} in round {round_index}")
            except Exception as error:  # noqa: BLE001 - any error is the failure under test
                errors.append(error)

        threads = [threading.Thread(target=mark, args=(status,)) for status in ("confirmed", "rejected")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        marks = db.candidate_marks("run")
        rows = marks[marks["candidate_id"] == candidate]
        assert len(rows) == 1, f"round {round_index}: {len(rows)} rows for one candidate"
        assert rows.iloc[0]["status"] in ("confirmed", "rejected")
    assert errors == []
    assert len(db.candidate_marks("run")) == rounds


def test_the_wilson_interval_matches_hand_computed_values():
    low, high = wilson_interval(4, 5)
    assert (low, high) == (pytest.approx(0.37553, abs=1e-4), pytest.approx(0.96378, abs=1e-4))
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert all(np.isnan(wilson_interval(0, 0)))
