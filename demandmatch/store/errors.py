"""What a store operation can refuse, each with a stable code for the API and the CLI."""

from __future__ import annotations


class StoreError(Exception):
    code = "store_error"
    status = 400

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(StoreError):
    """Absent, or not the caller's: both answer the same, so ids cannot be probed."""

    code = "not_found"
    status = 404


class Unauthorized(StoreError):
    code = "unauthorized"
    status = 401


class Conflict(StoreError):
    """The catalog moved on since the preview was made, or the id is taken."""

    code = "conflict"
    status = 409


class Refused(StoreError):
    """The request is understood but cannot be carried out as asked."""

    code = "refused"
    status = 422
