"""Public hosting mode: what a browser may do when the app is served to strangers.

``GALAXYSD_PUBLIC=1`` turns it on (off by default: local use, everything allowed). Then:
no training or map recompute from the browser; candidate marks only with the password in
``GALAXYSD_MARK_PASSWORD`` (no password set: marking is off); notes of at most
:data:`PUBLIC_MAX_NOTE` characters; uploads of at most :data:`PUBLIC_MAX_UPLOAD_MB` MB; and
at most :data:`PUBLIC_MAX_QUIZ_ANSWERS` quiz answers per browser session.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from galaxysd.app.database import MAX_NOTE, trimmed_note

PUBLIC_ENV, PASSWORD_ENV = "GALAXYSD_PUBLIC", "GALAXYSD_MARK_PASSWORD"
PUBLIC_MAX_NOTE = 500
PUBLIC_MAX_UPLOAD_MB = 1.0
PUBLIC_MAX_QUIZ_ANSWERS = 100
LOCAL_MAX_UPLOAD_MB = 20.0


@dataclass(frozen=True)
class HostingPolicy:
    """The limits in force (see the module docstring)."""

    public: bool = False
    mark_password: str | None = None
    max_note: int = MAX_NOTE
    max_upload_mb: float = LOCAL_MAX_UPLOAD_MB
    max_quiz_answers: int | None = None

    @property
    def jobs_allowed(self) -> bool:
        """Training and recompute jobs may be started from the browser."""
        return not self.public

    @property
    def marking_needs_password(self) -> bool:
        return self.public

    @property
    def marking_possible(self) -> bool:
        return not self.public or bool(self.mark_password)

    def password_ok(self, given: str | None) -> bool:
        """Whether ``given`` unlocks candidate marks (always true in local use)."""
        if not self.public:
            return True
        if not self.mark_password or not given:
            return False
        return hmac.compare_digest(given.encode(), self.mark_password.encode())

    def check_note(self, note: str) -> str:
        """The note, trimmed; ``ValueError`` when it is over the limit."""
        return trimmed_note(note, self.max_note)

    def check_upload(self, size_bytes: int) -> None:
        """``ValueError`` for an upload over the size limit."""
        if size_bytes > self.max_upload_mb * 2**20:
            raise ValueError(f"the file is {size_bytes / 2**20:.1f} MB; the limit here is {self.max_upload_mb:g} MB")

    def quiz_answers_left(self, answered: int) -> int | None:
        """How many more quiz answers this session may give (``None``: no limit)."""
        return None if self.max_quiz_answers is None else max(0, self.max_quiz_answers - answered)


def hosting_policy(environ: dict | None = None) -> HostingPolicy:
    """The policy from the environment (``GALAXYSD_PUBLIC``, ``GALAXYSD_MARK_PASSWORD``)."""
    env = os.environ if environ is None else environ
    public = str(env.get(PUBLIC_ENV, "")).strip().lower() in ("1", "true", "yes", "on")
    if not public:
        return HostingPolicy()
    return HostingPolicy(
        public=True,
        mark_password=env.get(PASSWORD_ENV) or None,
        max_note=PUBLIC_MAX_NOTE,
        max_upload_mb=PUBLIC_MAX_UPLOAD_MB,
        max_quiz_answers=PUBLIC_MAX_QUIZ_ANSWERS,
    )
