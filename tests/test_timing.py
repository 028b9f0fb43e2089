"""Stage timing: seconds per stage and in order; only stages that end are reported as done."""

import pytest

from demandmatch.timing import Timer


def test_stages_add_up_and_only_finished_ones_are_reported():
    heard, started = [], []
    timer = Timer(on_done=lambda name, s: heard.append(name))
    for name in ("features", "demand model", "features"):
        with timer.stage(name, started.append):
            pass
    with pytest.raises(RuntimeError), timer.stage("write", started.append):
        raise RuntimeError("disk full")
    assert started == ["features", "demand model", "features", "write"]
    assert heard == ["features", "demand model", "features"]  # the write did not end
    assert [n for n, _ in timer.steps] == started  # but its time is kept
    assert timer.seconds["features"] == pytest.approx(sum(s for n, s in timer.steps[::2]), abs=2e-3)
    assert timer.elapsed >= sum(s for _, s in timer.steps)


def test_a_labelled_stage_shows_as_its_label_and_adds_to_its_name():
    heard, started = [], []
    timer = Timer(on_done=lambda name, s: heard.append(name))
    with timer.stage("features", started.append):
        pass
    with timer.stage("features", started.append, "upcoming features"):
        pass
    assert started == heard == ["features", "upcoming features"]
    assert [n for n, _ in timer.steps] == started
    assert list(timer.seconds) == ["features"]
    assert timer.seconds["features"] == pytest.approx(sum(s for _, s in timer.steps), abs=2e-3)
