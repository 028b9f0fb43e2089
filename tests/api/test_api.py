"""The REST API with FastAPI's TestClient: flows, isolation, errors, limits, jobs, exports."""

from __future__ import annotations

import io
import time

import pytest

from .conftest import HEAD

V1 = f"{HEAD}\n001,Apple,fruit,,10,5,7\n002,Pear,fruit,,8,4,3\n"


def test_import_preview_apply_versions_rollback(service):
    r = service.upload("M01", "M01", V1)
    assert r.status_code == 201, r.text
    preview = r.json()
    assert preview["counts"]["creates"] == 2 and preview["status"] == "ready"
    assert preview["file"]["stored_name"].startswith("up_")
    pid = preview["id"]
    url = f"/api/v1/merchants/M01/imports/{pid}/apply"
    first = service.client.post(url, headers=service.auth("M01"))
    again = service.client.post(url, headers=service.auth("M01"), json={"allow_partial": False})
    assert (first.status_code, first.json()["version"]) == (200, 1)
    assert (again.json()["version"], again.json()["already_applied"]) == (1, True)
    r = service.upload("M01", "M01", f"{HEAD}\n001,,,,,,9\n")
    assert r.json()["updates"] == [
        {"row": 2, "sku_id": "001", "changes": {"on_hand": {"before": 7, "after": 9}}}
    ]
    service.client.post(
        f"/api/v1/merchants/M01/imports/{r.json()['id']}/apply", headers=service.auth("M01")
    )
    versions = service.client.get(
        "/api/v1/merchants/M01/catalog/versions", headers=service.auth("M01")
    ).json()
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]
    r = service.client.post(
        "/api/v1/merchants/M01/catalog/rollback", json={"version": 1}, headers=service.auth("M01")
    )
    assert r.json()["version"] == 3
    items = service.client.get("/api/v1/merchants/M01/catalog", headers=service.auth("M01"))
    assert [(i["sku_id"], i["on_hand"]) for i in items.json()["items"]] == [("001", 7), ("002", 3)]
    assert items.json()["items"][0]["shelf_life_days"] is None


def test_a_merchant_cannot_touch_another_merchants_catalog(service):
    pid = service.upload("M02", "M02", V1).json()["id"]
    attempts = [
        ("get", "/api/v1/merchants/M02/catalog", None),
        ("get", "/api/v1/merchants/M02/catalog/versions", None),
        ("get", "/api/v1/merchants/M02/catalog/export", None),
        ("get", f"/api/v1/merchants/M02/imports/{pid}", None),
        ("get", f"/api/v1/merchants/M02/imports/{pid}/rejected.csv", None),
        ("post", f"/api/v1/merchants/M02/imports/{pid}/apply", None),
        ("post", "/api/v1/merchants/M02/catalog/rollback", {"version": 1}),
        ("get", "/api/v1/merchants/M02/audit", None),
        ("get", f"/ui/merchants/M02/imports/{pid}", None),
        ("get", f"/api/v1/merchants/M01/imports/{pid}", None),  # M02's preview under M01
    ]
    ghost = service.client.get("/api/v1/merchants/GHOST/catalog", headers=service.auth("M01"))
    for method, url, body in attempts:
        r = service.client.request(method, url, json=body, headers=service.auth("M01"))
        assert r.status_code == 404, (url, r.status_code)
        assert r.json()["error"]["code"] == "not_found"
    other = service.client.get("/api/v1/merchants/M02/catalog", headers=service.auth("M01"))
    assert other.json()["error"]["message"].replace("M02", "X") == ghost.json()["error"][
        "message"
    ].replace("GHOST", "X")
    assert service.upload("M01", "M02", V1).status_code == 404
    assert service.store.versions("M02") == []
    assert (
        service.client.get("/api/v1/merchants", headers=service.auth("M01")).json()[0][
            "merchant_id"
        ]
        == "M01"
    )
    assert len(service.client.get("/api/v1/merchants", headers=service.auth("M01")).json()) == 1
    admin = service.client.get(
        "/api/v1/merchants/M02/catalog/versions", headers=service.auth("admin")
    )
    assert admin.status_code == 200


def test_tokens_are_required(service):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        r = service.client.get("/api/v1/merchants/M01/catalog", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert service.client.get("/api/v1/template.csv").status_code == 200


def test_rejected_rows_and_allow_partial(service):
    bad = f"{HEAD}\n001,Apple,fruit,,10,5,7\n002,Pear,fruit,,x,4,-3\n"
    preview = service.upload("M01", "M01", bad).json()
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in preview["errors"]] == [
        (3, "list_price", "x", "not_a_number"),
        (3, "on_hand", "-3", "negative_stock"),
    ]
    url = f"/api/v1/merchants/M01/imports/{preview['id']}"
    refused = service.client.post(url + "/apply", headers=service.auth("M01"))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "rows_rejected"
    csv_file = service.client.get(url + "/rejected.csv", headers=service.auth("M01"))
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_file.headers["content-disposition"]
    lines = csv_file.content.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(",_errors") and lines[1].startswith("002,Pear,fruit,,x,4,-3,")
    ok = service.client.post(
        url + "/apply", json={"allow_partial": True}, headers=service.auth("M01")
    )
    assert ok.json()["version"] == 1
    assert service.store.catalog("M01")[0]["sku_id"].tolist() == ["001"]


def test_stale_preview_conflict(service):
    a = service.upload("M01", "M01", V1).json()
    b = service.upload("M01", "M01", f"{HEAD}\n003,Fig,fruit,,3,1,1\n").json()
    service.client.post(
        f"/api/v1/merchants/M01/imports/{b['id']}/apply", headers=service.auth("M01")
    )
    r = service.client.post(
        f"/api/v1/merchants/M01/imports/{a['id']}/apply", headers=service.auth("M01")
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "moved on" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (b"sku_id\n1\n", "evil.exe", 422, "unsupported_type"),
        (b"PK\x03\x04junk", "c.csv", 422, "extension_mismatch"),
        (b"sku_id\n" + b"A\n" * 6000, "c.csv", 413, "too_many_rows"),
        (b"x" * 300_000, "c.csv", 413, "file_too_large"),
        (b"\xff\xfe\xfa\xfb\xfc", "c.csv", 422, "bad_encoding"),
    ],
)
def test_bad_files_get_clear_errors(service, data, name, status, code):
    service.client.app.state.background_rows = 10**9
    r = service.upload("M01", "M01", data, name=name)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert service.store.audit("M01")[0]["action"] == "merchant_added"


def test_bad_request_bodies(service):
    r = service.client.post(
        "/api/v1/merchants/M01/catalog/rollback", json={"version": "x"}, headers=service.auth("M01")
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_request"
    r = service.upload("M01", "M01", V1, mode="merge")
    assert r.status_code == 422 and "mode" in r.json()["error"]["message"]


def test_large_files_import_as_a_background_job(service):
    rows = "".join(f"S{i:05d},t{i},c,,{i % 90 + 10},5,{i}\n" for i in range(1500))
    r = service.upload("M01", "M01", f"{HEAD}\n{rows}")
    assert r.status_code == 202
    job = r.json()
    assert job["status"] in ("queued", "running", "done")
    url = f"/api/v1/merchants/M01/jobs/{job['id']}"
    assert service.client.get(url, headers=service.auth("M02")).status_code == 404
    deadline = time.monotonic() + 60
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = service.client.get(url, headers=service.auth("M01")).json()
        assert 0 <= job["progress"] <= 1
    assert job["status"] == "done" and job["progress"] == 1
    preview = service.client.get(
        f"/api/v1/merchants/M01/imports/{job['preview_id']}?limit=5", headers=service.auth("M01")
    ).json()
    assert preview["counts"]["creates"] == 1500
    assert len(preview["creates"]) == 5 and preview["truncated"]["creates"]


def test_a_failed_background_job_says_why(service):
    r = service.upload("M01", "M01", "title\n" + "x\n" * 1500)
    job = r.json()
    url = f"/api/v1/merchants/M01/jobs/{job['id']}"
    for _ in range(600):
        job = service.client.get(url, headers=service.auth("M01")).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "failed" and job["error"]["code"] == "missing_column"


def test_exports_and_templates(service):
    pid = service.upload("M01", "M01", f'{HEAD}\n007,=HYPERLINK("x"),fruit,,10,5,1\n').json()
    service.client.post(
        f"/api/v1/merchants/M01/imports/{pid['id']}/apply", headers=service.auth("M01")
    )
    csv_text = service.client.get(
        "/api/v1/merchants/M01/catalog/export", headers=service.auth("M01")
    ).content.decode("utf-8-sig")
    assert 'M01,007,"\'=HYPERLINK(""x"")",fruit' in csv_text
    from openpyxl import load_workbook

    xlsx = service.client.get(
        "/api/v1/merchants/M01/catalog/export?format=xlsx", headers=service.auth("M01")
    )
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws["B2"].value == "007" and ws["C2"].data_type == "s"
    template = service.client.get("/api/v1/template.csv")
    assert template.content.startswith(b"\xef\xbb\xbfsku_id,title,")
    assert service.client.get("/api/v1/template.xlsx").content[:2] == b"PK"


def test_audit_log_over_the_api(service):
    pid = service.upload("M01", "M01", V1).json()["id"]
    service.client.post(f"/api/v1/merchants/M01/imports/{pid}/apply", headers=service.auth("M01"))
    mine = service.client.get("/api/v1/merchants/M01/audit", headers=service.auth("M01")).json()
    assert [e["action"] for e in mine[:2]] == ["apply", "import"]
    token_id = service.tokens["M01"].split("_")[1]
    assert mine[0]["token_id"] == token_id and mine[0]["ip"] == "testclient"
    assert mine[0]["version"] == 1 and mine[0]["file_sha256"]
    everyone = service.client.get("/api/v1/audit", headers=service.auth("admin")).json()
    assert {e["merchant_id"] for e in everyone} == {"M01", "M02", None}  # None: admin token
    own = service.client.get("/api/v1/audit", headers=service.auth("M02")).json()
    assert {e["merchant_id"] for e in own} == {"M02"}


def test_admin_adds_merchants(service):
    r = service.client.post(
        "/api/v1/merchants",
        json={"merchant_id": "M03", "name": "Three"},
        headers=service.auth("admin"),
    )
    assert r.status_code == 201
    token = r.json()["token"]
    me = service.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["merchant_id"] == "M03"
    r = service.client.post(
        "/api/v1/merchants", json={"merchant_id": "M04"}, headers=service.auth("M01")
    )
    assert r.status_code == 404


def test_html_is_escaped_everywhere(service):
    evil = "<script>alert(1)</script>"
    text = f"{HEAD},<b>odd</b>\nA1,{evil},c,,x,1,1,\n<img src=x>,t,c,,1,1,1,\n"
    pid = service.upload("M01", "M01", text).json()["id"]
    page = service.client.get(f"/ui/merchants/M01/imports/{pid}", headers=service.auth("M01"))
    assert page.status_code == 200
    assert "<script>" not in page.text and "<img" not in page.text and "<b>odd" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'class="bad" data-code="not_a_number"' in page.text
    main = service.client.get("/")
    assert "script-src 'self'" in main.headers["content-security-policy"]
    assert main.headers["x-content-type-options"] == "nosniff"
    service.client.post(
        f"/api/v1/merchants/M01/imports/{pid}/apply",
        json={"allow_partial": True},
        headers=service.auth("M01"),
    )
    audit = service.client.get("/ui/merchants/M01/audit", headers=service.auth("M01"))
    assert "<img" not in audit.text
