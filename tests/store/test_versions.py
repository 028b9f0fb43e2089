"""Versions: plan then apply, once; atomic; rollback to any version; conflicts; isolation."""

from __future__ import annotations

import pandas as pd
import pytest

from demandmatch.catalog import CatalogFileError
from demandmatch.data.schema import TABLES
from demandmatch.store import Actor, Conflict, NotFound, Refused, current_catalog

HEAD = "sku_id,title,category,brand,list_price,unit_cost,on_hand"
V1 = f"{HEAD}\n001,Apple,fruit,Orchard,10,5,7\n002,Pear,fruit,,8,4,3\n"


def load(store, text, mode="upsert", merchant="M01", name="c.csv"):
    return store.preview(merchant, text.encode(), name, Actor(token_id="t1"), mode=mode)


def apply(store, text, **kw):
    preview = load(store, text, **{k: v for k, v in kw.items() if k in ("mode", "merchant")})
    merchant = kw.get("merchant", "M01")
    return store.apply(merchant, preview["id"], allow_partial=kw.get("allow_partial", False))


@pytest.fixture
def shop(store):
    store.add_merchant("M01", "Shop one")
    store.add_merchant("M02", "Shop two")
    return store


def sku_values(store, column, version=None, merchant="M01"):
    frame, _ = store.catalog(merchant, version)
    return dict(zip(frame["sku_id"], frame[column], strict=True))


def test_preview_changes_nothing_until_applied(shop):
    preview = load(shop, V1)
    assert preview["counts"]["creates"] == 2 and preview["base_version"] == 0
    frame, version = shop.catalog("M01")
    assert version == 0 and frame.empty
    assert shop.apply("M01", preview["id"])["version"] == 1
    assert sku_values(shop, "on_hand") == {"001": 7, "002": 3}


def test_apply_is_idempotent(shop):
    preview = load(shop, V1)
    first = shop.apply("M01", preview["id"])
    again = shop.apply("M01", preview["id"])
    assert (first["version"], again["version"], again["already_applied"]) == (1, 1, True)
    assert [v["version"] for v in shop.versions("M01")] == [1]
    assert shop.get_preview("M01", preview["id"])["status"] == "applied"


def test_every_version_kept_and_rollback_to_any(shop):
    apply(shop, V1)
    apply(shop, f"{HEAD}\n001,Apple,fruit,,10,5,9\n003,Fig,fruit,,3,1,1\n")  # v2
    apply(shop, f"{HEAD}\n001,Apple,fruit,,11,5,9\n", mode="replace")  # v3: retires 002, 003
    assert sku_values(shop, "on_hand", 1) == {"001": 7, "002": 3}
    assert sku_values(shop, "on_hand", 2) == {"001": 9, "002": 3, "003": 1}
    assert sku_values(shop, "list_price") == {"001": 11.0}
    result = shop.rollback("M01", 2)
    assert (result["version"], result["rolled_back_to"]) == (4, 2)
    assert sku_values(shop, "on_hand") == {"001": 9, "002": 3, "003": 1}
    assert sku_values(shop, "brand") == {"001": "Orchard", "002": None, "003": None}
    shop.rollback("M01", 1)
    assert sku_values(shop, "on_hand") == {"001": 7, "002": 3}
    history = shop.versions("M01")
    assert [(v["version"], v["action"], v["rolled_back_to"]) for v in history] == [
        (5, "rollback", 1),
        (4, "rollback", 2),
        (3, "import", None),
        (2, "import", None),
        (1, "import", None),
    ]
    assert history[0]["current"] and history[0]["retires"] == 1 and history[0]["skus"] == 2
    with pytest.raises(NotFound):
        shop.rollback("M01", 9)
    with pytest.raises(Refused):
        shop.rollback("M01", 5)


def test_a_blank_cell_keeps_the_stored_value(shop):
    apply(shop, V1)
    apply(shop, f"{HEAD}\n001,,,,,,1\n")
    frame, _ = shop.catalog("M01")
    apple = frame.set_index("sku_id").loc["001"]
    assert (apple["title"], apple["brand"], apple["list_price"], apple["on_hand"]) == (
        "Apple",
        "Orchard",
        10.0,
        1,
    )


def test_rejected_rows_block_the_file_unless_allow_partial(shop):
    apply(shop, V1)
    bad = f"{HEAD}\n001,Apple,fruit,,10,5,8\n002,Pear,fruit,,x,4,3\n"
    preview = load(shop, bad)
    with pytest.raises(Refused) as err:
        shop.apply("M01", preview["id"])
    assert err.value.code == "rows_rejected" and "allow_partial" in err.value.message
    assert shop.catalog("M01")[1] == 1
    shop.apply("M01", preview["id"], allow_partial=True)
    assert sku_values(shop, "on_hand") == {"001": 8, "002": 3}
    assert sku_values(shop, "list_price")["002"] == 8.0


def test_stale_preview_is_refused_with_a_message(shop):
    apply(shop, V1)
    stale = load(shop, f"{HEAD}\n001,Apple,fruit,,10,5,100\n")
    apply(shop, f"{HEAD}\n002,Pear,fruit,,8,4,50\n")
    with pytest.raises(Conflict) as err:
        shop.apply("M01", stale["id"])
    assert "moved on" in err.value.message
    assert "version 1" in err.value.message and "version 2 is now current" in err.value.message
    assert sku_values(shop, "on_hand") == {"001": 7, "002": 50}


def test_no_change_makes_no_version(shop):
    apply(shop, V1)
    result = apply(shop, V1)
    assert (result["version"], result["changed"]) == (1, False)
    assert len(shop.versions("M01")) == 1


def test_merchants_are_isolated(shop):
    apply(shop, V1)
    preview = load(shop, V1, merchant="M02")
    with pytest.raises(NotFound):
        shop.apply("M01", preview["id"])  # M02's preview is not found under M01
    with pytest.raises(NotFound):
        shop.get_preview("M01", preview["id"])
    shop.apply("M02", preview["id"])
    assert shop.catalog("M02")[1] == 1 and shop.catalog("M01")[1] == 1
    with pytest.raises(NotFound):
        load(shop, V1, merchant="NOPE")


def test_a_file_error_stores_nothing(shop):
    with pytest.raises(CatalogFileError):
        load(shop, "no sku column\n1\n")
    assert [e["action"] for e in shop.audit("M01")] == ["merchant_added"]


def test_audit_log_records_who_what_when_where(shop):
    actor = Actor(token_id="tok1", ip="10.1.2.3", via="api")
    preview = shop.preview("M01", V1.encode(), "c.csv", actor)
    shop.apply("M01", preview["id"], actor)
    entries = shop.audit("M01")
    assert [e["action"] for e in entries[:2]] == ["apply", "import"]
    applied = entries[0]
    assert (applied["token_id"], applied["ip"], applied["version"]) == ("tok1", "10.1.2.3", 1)
    assert applied["counts"]["creates"] == 2
    assert applied["file_sha256"] == preview["file"]["sha256"]
    assert all(e["merchant_id"] == "M01" for e in entries)
    assert {e["merchant_id"] for e in shop.audit(None)} == {"M01", "M02"}


def test_uploads_are_stored_under_server_made_names(shop):
    preview = load(shop, V1, name="../../etc/passwd.csv")
    assert preview["file"]["name"] == "passwd.csv"
    stored = preview["file"]["stored_name"]
    assert stored.startswith("up_") and stored.endswith(".csv") and "passwd" not in stored


def test_current_catalog_for_the_forecast(shop, store_url):
    apply(shop, V1)
    apply(shop, f"{HEAD}\n001,Apple,fruit,,10,5,1\n")
    apply(shop, f"{HEAD}\nX9,Kiwi,fruit,,2,1,4\n", merchant="M02")
    shop.add_merchant("M03")
    frame, versions = current_catalog(store_url)
    assert versions == {"M01": 2, "M02": 1, "M03": 0}
    assert list(frame.columns) == TABLES["catalog"].column_names
    assert list(zip(frame["merchant_id"], frame["sku_id"], strict=True)) == [
        ("M01", "001"),
        ("M01", "002"),
        ("M02", "X9"),
    ]
    assert frame["on_hand"].tolist() == [1, 3, 4]
    assert str(frame["on_hand"].dtype) == "int64"
    assert frame["shelf_life_days"].isna().all()
    assert frame["sku_id"].map(type).eq(str).all()


def test_tokens_are_hashed_and_revocable(shop):
    from sqlalchemy import select

    from demandmatch.store import Unauthorized
    from demandmatch.store.tables import tokens

    token = shop.issue_token("M01", "ci")
    who = shop.authenticate(token)
    assert who.merchant_id == "M01" and not who.is_admin
    with shop.engine.connect() as conn:
        hashes = [r.secret_sha256 for r in conn.execute(select(tokens))]
    secret = token.rsplit("_", 1)[1]
    assert secret not in "".join(hashes) and len(hashes) == 3
    admin = shop.authenticate(shop.issue_token(None))
    assert admin.is_admin and admin.can_see("M02")
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", "Bearer x", None):
        with pytest.raises(Unauthorized):
            shop.authenticate(wrong)
    shop.revoke_token(who.token_id)
    with pytest.raises(Unauthorized):
        shop.authenticate(token)


def test_merchant_ids_are_checked(shop):
    with pytest.raises(ValueError):
        shop.add_merchant("bad id with spaces")
    with pytest.raises(Conflict):
        shop.add_merchant("M01")


def test_export_of_any_version(shop):
    apply(shop, V1)
    apply(shop, f"{HEAD}\n001,=cmd(),fruit,,10,5,1\n")
    text = shop.export("M01", "csv", version=1).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("M01,001,Apple,fruit,Orchard,10,5,0,7,1,0,0,,")
    assert "'=cmd()" in shop.export("M01").decode("utf-8-sig")
    frame = pd.read_excel(__import__("io").BytesIO(shop.export("M01", "xlsx")), dtype=str)
    assert frame["sku_id"].tolist() == ["001", "002"]
