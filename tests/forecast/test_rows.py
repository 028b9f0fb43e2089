import numpy as np
import pandas as pd
import pytest

from demandmatch.forecast.rows import lead_sample, leads_per_item, training_rows


def _past(n: int) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="D")
    return pd.DataFrame({"stream_id": [f"s{i}" for i in range(n)], "start_time": start})


def test_every_lead_of_every_row_by_default():
    rows = training_rows(_past(3), [24, 6, 24])
    assert len(rows) == 6
    assert (rows["start_time"] - rows["cutoff"]).dt.total_seconds().tolist() == [6 * 3600.0] * 3 + [
        24 * 3600.0
    ] * 3


@pytest.mark.parametrize("k", [1, 2, 3])
def test_each_row_at_k_distinct_leads_every_lead_as_likely(k):
    past = _past(4000)
    rows = training_rows(past, [6, 24, 72, 168], leads_per_item=k, seed=3)
    assert len(rows) == k * len(past)
    lead = (rows["start_time"] - rows["cutoff"]).dt.total_seconds() / 3600
    per_row = rows.assign(lead=lead).groupby("stream_id")["lead"]
    assert (per_row.size() == k).all() and (per_row.nunique() == k).all()
    share = lead.value_counts(normalize=True)
    np.testing.assert_allclose(share.sort_index().to_numpy(), 0.25, atol=0.02)
    again = training_rows(past, [6, 24, 72, 168], leads_per_item=k, seed=3)
    pd.testing.assert_frame_equal(rows, again)


def test_the_items_of_a_stream_are_learned_at_the_same_leads():
    # three items per stream: drawn per stream, a stream's items share their leads
    past = _past(500).loc[lambda d: d.index.repeat(3)].reset_index(drop=True)
    past["sku_id"] = ["a", "b", "c"] * 500
    rows = training_rows(past, [6, 24, 72, 168], leads_per_item=2, seed=1)
    lead = (rows["start_time"] - rows["cutoff"]).dt.total_seconds() / 3600
    leads = rows.assign(lead=lead).groupby(["stream_id", "sku_id"])["lead"].apply(frozenset)
    per_stream = leads.groupby(level="stream_id").nunique()
    assert len(rows) == 2 * len(past) and (per_stream == 1).all()
    assert leads.groupby(level="stream_id").first().nunique() == 6  # every pair of leads drawn


def test_as_many_leads_as_there_are_is_every_lead():
    assert lead_sample(10, 4, 4, 0) is None and lead_sample(10, 4, None, 0) is None
    with pytest.raises(ValueError, match="at least 1"):
        lead_sample(10, 4, 0, 0)


def test_leads_per_item_within_the_row_budget():
    leads = [6, 24, 72, 168]
    assert leads_per_item(1000, leads, None, 4000) is None  # every lead fits
    assert leads_per_item(1000, leads, None, None) is None
    assert leads_per_item(1001, leads, None, 4000) == 3
    assert leads_per_item(1000, leads, None, 1500) == 1
    assert leads_per_item(10_000, leads, None, 1500) == 1  # at least one each
    assert leads_per_item(1000, leads, 2, 4000) == 2  # as asked
    assert leads_per_item(1000, leads, 3, 1500) == 1  # as asked, within the budget
    assert leads_per_item(1000, leads, 4, None) is None and leads_per_item(10, leads, 9, 99) is None
