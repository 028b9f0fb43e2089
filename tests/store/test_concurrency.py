"""Two applies at once: exactly one wins, the other is told the catalog moved on."""

from __future__ import annotations

import threading

import pytest

from demandmatch.store import Conflict, Store

HEAD = "sku_id,title,category,list_price,unit_cost,on_hand"


def race(url: str, calls):
    """Run the calls at the same moment, each on its own store connection."""
    stores = [Store(url) for _ in calls]
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i):
        barrier.wait()
        try:
            results[i] = calls[i](stores[i])
        except Exception as err:  # noqa: BLE001 - the test inspects what each call raised
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.close()
    return results


@pytest.mark.parametrize("rounds", [4])
def test_two_imports_applied_at_once_one_wins(store, store_url, rounds):
    store.add_merchant("M01")
    for r in range(rounds):
        a = store.preview("M01", f"{HEAD}\nA,a,c,1,1,{r}\n".encode(), "a.csv")
        b = store.preview("M01", f"{HEAD}\nB,b,c,1,1,{r}\n".encode(), "b.csv")
        results = race(store_url, [lambda s, p=p: s.apply("M01", p["id"]) for p in (a, b)])
        won = [x for x in results if isinstance(x, dict)]
        lost = [x for x in results if isinstance(x, Conflict)]
        assert len(won) == 1 and len(lost) == 1, results
        assert "moved on" in lost[0].message
        assert won[0]["version"] == r + 1
    versions = store.versions("M01")
    assert [v["version"] for v in versions] == list(range(rounds, 0, -1))
    assert all(v["creates"] + v["updates"] == 1 for v in versions)


def test_one_preview_applied_twice_at_once_makes_one_version(store, store_url):
    store.add_merchant("M01")
    p = store.preview("M01", f"{HEAD}\nA,a,c,1,1,1\n".encode(), "a.csv")
    results = race(store_url, [lambda s: s.apply("M01", p["id"])] * 2)
    assert all(isinstance(x, dict) for x in results), results
    assert sorted(x["already_applied"] for x in results) == [False, True]
    assert {x["version"] for x in results} == {1}
    assert len(store.versions("M01")) == 1


def test_rollback_racing_an_import(store, store_url):
    store.add_merchant("M01")
    store.apply("M01", store.preview("M01", f"{HEAD}\nA,a,c,1,1,1\n".encode(), "a.csv")["id"])
    store.apply("M01", store.preview("M01", f"{HEAD}\nA,a,c,1,1,2\n".encode(), "a.csv")["id"])
    p = store.preview("M01", f"{HEAD}\nA,a,c,1,1,3\n".encode(), "a.csv")
    results = race(store_url, [lambda s: s.apply("M01", p["id"]), lambda s: s.rollback("M01", 1)])
    rolled = results[1]
    assert isinstance(rolled, dict) and rolled["rolled_back_to"] == 1
    if isinstance(results[0], dict):  # the import landed first; the rollback came after it
        assert (results[0]["version"], rolled["version"]) == (3, 4)
    else:
        assert isinstance(results[0], Conflict) and rolled["version"] == 3
    frame, _ = store.catalog("M01")
    assert frame["on_hand"].tolist() == [1]
