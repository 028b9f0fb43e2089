"""The plan's flags and their words (demandmatch.optimise.flags)."""

from __future__ import annotations

import numpy as np

from demandmatch.optimise import flags as F
from tests.optimise.conftest import newsvendor, random_instance, run


def test_every_flag_has_its_own_sentence() -> None:
    assert F.PROFIT_BEST not in F.FLAGS
    for flag in (*F.FLAGS, F.PROFIT_BEST):
        words = F.explain_flag(flag)
        assert words and words != flag.replace("_", " ")
    assert len(set(F.EXPLANATIONS.values())) == len(F.EXPLANATIONS)
    assert F.explain_flag(F.PROFIT_BEST).startswith("stocked as far as it pays")
    assert "last stream" in F.explain_flag(F.LEAD_TIME)
    assert F.explain_flag("brand_new_flag") == "brand new flag"


def test_split_join_and_reason() -> None:
    assert F.split_flags("no_margin; budget_binds;") == ["no_margin", "budget_binds"]
    assert F.split_flags(float("nan")) == [] and F.split_flags("") == []
    assert F.join_flags(["late_arrival", "budget_binds"]) == "late_arrival;budget_binds"
    assert F.reason("late_arrival;budget_binds") == "late_arrival"
    assert F.reason("") == F.PROFIT_BEST


def test_the_plan_emits_only_known_flags() -> None:
    seen = set()
    cases = [newsvendor(moq=20), newsvendor(cost=19.5), newsvendor(on_hand=3, arrives=0.5)]
    cases += [random_instance(s, budget_share=0.2, capacity_share=0.3) for s in range(15)]
    inst = newsvendor(on_hand=5)
    inst.merchants["capacity_l"] = 4.0
    cases.append(inst)
    for inst in cases:
        for value in run(inst).plan["flags"]:
            seen.update(F.split_flags(value))
    assert seen <= set(F.FLAGS)
    expected = {"moq_exceeds_demand", "no_margin", "lead_time", "late_arrival", "budget_binds"}
    assert expected | {"capacity_exceeded"} <= seen
    assert np.all([f in F.EXPLANATIONS for f in seen])
