"""Errors an operator can act on: a wrong flag, config key or path, or an output folder in use.

Each is a ValueError whose message is one line naming the flag or key; the command prints it
and exits with status 2. Input data that breaks the contract raises
`demandmatch.data.ContractError` instead (it names the file, row and column).
"""

from __future__ import annotations


class UsageError(ValueError):
    """A flag, path or setting that cannot work; `name` is the flag or key (`--out`,
    `model.n_estimators`) the message is about."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


class OutputBusy(UsageError):
    """Another live run holds the lock on the output folder."""
