"""The M5 benchmark's data adapter: loading the three tables, level-12 weights, the peers' long
frame, and direct features that use nothing after their origin."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demandmatch.data.m5 import DirectFeatures, level12_weights, load_m5, long_frame

N_DAYS = 440  # long enough for the 364-day features


def _write_m5(folder: Path, sales: np.ndarray, prices: dict[str, list[float]]) -> None:
    n, t = sales.shape
    days = [f"d_{j + 1}" for j in range(t)]
    items = [f"FOODS_3_{k:03d}" for k in range(n)]
    frame = pd.DataFrame(sales.astype(int), columns=days)
    frame.insert(0, "state_id", "TX")
    frame.insert(0, "store_id", "TX_3")
    frame.insert(0, "cat_id", "FOODS")
    frame.insert(0, "dept_id", "FOODS_3")
    frame.insert(0, "item_id", items)
    frame.insert(0, "id", [f"{i}_TX_3_evaluation" for i in items])
    frame.to_csv(folder / "sales_d1_d1969.csv.gz", index=False)
    dates = pd.date_range("2011-01-29", periods=t, freq="D")
    cal = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "wm_yr_wk": 11101 + np.arange(t) // 7,
            "d": days,
            "event_name_1": [("SuperBowl" if j % 100 == 50 else None) for j in range(t)],
            "event_type_1": [("Sporting" if j % 100 == 50 else None) for j in range(t)],
            "event_name_2": None,
            "snap_TX": (np.arange(t) % 30 < 10).astype(int),
        }
    )
    cal.to_csv(folder / "calendar.csv.gz", index=False)
    weeks = np.unique(cal["wm_yr_wk"])
    rows = [
        {"store_id": "TX_3", "item_id": items[k], "wm_yr_wk": w, "sell_price": p}
        for k, item_prices in prices.items()
        for w, p in zip(weeks, item_prices, strict=False)
    ]
    pd.DataFrame(rows).to_csv(folder / "sell_prices_tx3_foods3.csv.gz", index=False)


@pytest.fixture()
def m5_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    sales = rng.poisson([[3.0], [0.4], [8.0]], size=(3, N_DAYS)).astype(float)
    sales[1, :100] = 0.0  # item 1 starts selling on day 100
    sales[1, 100] = 2.0
    n_weeks = (N_DAYS + 6) // 7
    prices = {0: [2.0] * n_weeks, 1: [1.0] * n_weeks, 2: [5.0] * (n_weeks - 2) + [4.0, 4.0]}
    _write_m5(tmp_path, sales, {int(k): v for k, v in prices.items()})
    return tmp_path


def test_load_reads_sales_prices_and_calendar(m5_dir: Path):
    m5 = load_m5(m5_dir)
    assert m5.sales.shape == (3, N_DAYS) and m5.n_series == 3
    assert m5.ids[0] == "FOODS_3_000_TX_3_evaluation"
    assert m5.price[0, 0] == 2.0 and m5.price[2, -1] == 4.0 and m5.price[2, 0] == 5.0
    assert len(m5.calendar) == N_DAYS
    assert m5.head(100).sales.shape == (3, 100)


def test_load_names_the_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="sales_d1_d1969.csv.gz"):
        load_m5(tmp_path)


def test_level12_weights_are_dollar_sales_of_the_last_28_days(m5_dir: Path):
    m5 = load_m5(m5_dir)
    end = 300
    dollars = (m5.sales[:, end - 28 : end] * m5.price[:, end - 28 : end]).sum(axis=1)
    assert level12_weights(m5, end) == pytest.approx(dollars / dollars.sum())


def test_long_frame_starts_at_each_series_first_sale(m5_dir: Path):
    m5 = load_m5(m5_dir)
    df = long_frame(m5, 200)
    counts = df.groupby("unique_id")["y"].size()
    assert counts[m5.ids[0]] == 200 and counts[m5.ids[1]] == 100
    first = df[df["unique_id"] == m5.ids[1]].iloc[0]
    assert first["y"] == 2.0 and first["ds"] == m5.calendar["date"].iloc[100]


def test_direct_features_never_read_sales_after_the_origin(m5_dir: Path):
    m5 = load_m5(m5_dir)
    origin = 400
    i = np.repeat(np.arange(3), 28)
    h = np.tile(np.arange(1, 29), 3)
    o = np.full(len(i), origin)
    before = DirectFeatures(m5).rows(i, o, h)
    changed = m5.sales.copy()
    changed[:, origin + 1 :] = 1000.0
    after = DirectFeatures(m5.__class__(**{**m5.__dict__, "sales": changed})).rows(i, o, h)
    pd.testing.assert_frame_equal(before, after)


def test_direct_features_known_values(m5_dir: Path):
    m5 = load_m5(m5_dir)
    feats = DirectFeatures(m5)
    origin, ahead = 400, 3
    row = feats.rows(np.array([0]), np.array([origin]), np.array([ahead])).iloc[0]
    y = m5.sales[0]
    assert row["mean_7"] == pytest.approx(y[origin - 6 : origin + 1].mean())
    assert row["mean_28"] == pytest.approx(y[origin - 27 : origin + 1].mean())
    assert row["lag_28"] == y[origin + ahead - 28]
    assert row["days_ahead"] == ahead
    assert row["price_rel_usual"] == pytest.approx(1.0)
    # item 1 is 300 days old at day 400; its 364-day mean counts only days since its first sale
    young = feats.rows(np.array([1]), np.array([origin]), np.array([1])).iloc[0]
    assert young["age"] == 300
    assert young["mean_364"] == pytest.approx(m5.sales[1, 100 : origin + 1].mean())
    # item 2's price drops in the last two weeks: the target day's price against its usual
    late = feats.rows(np.array([2]), np.array([N_DAYS - 15]), np.array([14])).iloc[0]
    assert late["price_rel_usual"] == pytest.approx(4.0 / 5.0)


def test_training_rows_stay_inside_the_observed_days(m5_dir: Path):
    feats = DirectFeatures(load_m5(m5_dir))
    i, o, h = feats.training_rows(window=56, step=7)
    assert (o + h <= N_DAYS - 1).all() and (h >= 1).all() and (h <= 28).all()
    assert (o - feats.first[i] >= 28).all()
    assert len(np.unique(o)) == 8


def test_thinning_keeps_a_share_of_the_slow_items_rows_only(m5_dir: Path):
    # item 1 sells 0.4 a day, items 0 and 2 sell 3 and 8: below 1 a day, 30% of item 1's rows
    # are kept, and every row of the others, in the order of the unthinned rows
    feats = DirectFeatures(load_m5(m5_dir))
    full = np.column_stack(feats.training_rows(window=280, step=1))
    thin = np.column_stack(feats.training_rows(window=280, step=1, thin=(1.0, 0.3)))
    for item in (0, 2):
        np.testing.assert_array_equal(thin[thin[:, 0] == item], full[full[:, 0] == item])
    slow_full, slow_thin = full[full[:, 0] == 1], thin[thin[:, 0] == 1]
    assert len(slow_thin) / len(slow_full) == pytest.approx(0.3, abs=0.03)
    kept = {tuple(r) for r in slow_thin}
    assert kept <= {tuple(r) for r in slow_full}
    again = feats.training_rows(window=280, step=1, thin=(1.0, 0.3))
    np.testing.assert_array_equal(np.column_stack(again), thin)  # the seed fixes the draw
