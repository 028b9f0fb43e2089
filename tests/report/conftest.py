"""The planned world (tests.report.world) once per session, as flagged and as withheld."""

from __future__ import annotations

import pytest

from tests.report.world import Planned, plan_world


@pytest.fixture(scope="session")
def planned() -> Planned:
    return plan_world("flag")


@pytest.fixture(scope="session")
def planned_withheld() -> Planned:
    return plan_world("withhold")
