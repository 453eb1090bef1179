"""The domain's exception tree. The web layer maps each class to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One rejected field: a dotted location and the reason, e.g. ``offers.0.capacity.value``."""

    loc: str
    msg: str


class StartupError(SystemExit):
    """The service must not start (bad configuration, unreachable database).

    A ``SystemExit`` on purpose: however the app is started (``chainmatch serve``, ``uvicorn --factory``,
    gunicorn), the process exits with this one-line message instead of a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"chainmatch: {message}")
        self.message = message

    def __str__(self) -> str:
        return self.message


class ChainmatchError(Exception):
    """Base of every error chainmatch raises on purpose."""


class NotFoundError(ChainmatchError):
    """A named enterprise, offer, need, chain, profile or run does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class InvalidInputError(ChainmatchError):
    """Input failed a domain check (not a schema check); carries field-level details."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class ConflictError(ChainmatchError):
    """The request conflicts with stored state (e.g. a weight-profile version that exists)."""


class PreconditionFailedError(ChainmatchError):
    """A conditional write found another revision than the one it expected (a lost update avoided)."""

    def __init__(self, enterprise_id: str, expected: int, current: int) -> None:
        what = "to be absent" if expected == 0 else f"at revision {expected}"
        now = "absent" if current == 0 else f"at revision {current}"
        super().__init__(f"enterprise {enterprise_id!r} expected {what} but it is {now}")
        self.expected = expected
        self.current = current


class UnavailableError(ChainmatchError):
    """A part the request needs is not ready yet (e.g. the matching index is still building); retry later."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
