"""`demandmatch merchants ...` and `demandmatch catalog ...` on a store in a temp folder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from demandmatch.cli import app

HEAD = "货号,商品名称,类目,吊牌价,进价,库存"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMANDMATCH_STORE", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_merchant_token_import_versions_rollback_export(run, tmp_path):
    r = run("merchants", "add", "M01", "--name", "Shop")
    assert r.exit_code == 0 and r.stdout.startswith("dm_")
    good = tmp_path / "good.csv"
    good.write_bytes(f"{HEAD}\n00123,苹果,水果,10,5,7\n00456,梨,水果,8,4,3\n".encode("gbk"))
    r = run("catalog", "import", good, "--merchant", "M01", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "2 to create" in r.stdout and "gb18030" in r.stdout
    r = run("catalog", "versions", "--merchant", "M01")
    assert "import" not in r.stdout
    r = run("catalog", "import", good, "--merchant", "M01")
    assert r.exit_code == 0 and "version 1 is now current" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEAD}\n00123,苹果,水果,10,5,9\n00456,梨,水果,abc,4,3\n", encoding="utf-8")
    out = tmp_path / "rejected.csv"
    r = run("catalog", "import", bad, "-m", "M01", "--rejected-out", out)
    assert r.exit_code == 1 and "nothing applied" in r.output
    assert "not_a_number" in r.stdout and out.read_text("utf-8-sig").count("\n") == 2
    r = run("catalog", "import", bad, "-m", "M01", "--allow-partial")
    assert r.exit_code == 0 and "version 2" in r.stdout
    r = run("catalog", "rollback", "1", "-m", "M01")
    assert r.exit_code == 0 and "version 3" in r.stdout
    r = run("catalog", "versions", "-m", "M01")
    assert "rollback" in r.stdout
    r = run("catalog", "export", "-m", "M01")
    lines = r.stdout.lstrip("\ufeff").splitlines()
    assert lines[1].startswith("M01,00123,苹果,水果,,10,5,0,7,")
    r = run("catalog", "export", "-m", "M01", "--format", "xlsx", "--out", tmp_path / "c.xlsx")
    assert r.exit_code == 0 and (tmp_path / "c.xlsx").read_bytes()[:2] == b"PK"
    r = run("catalog", "audit", "-m", "M01")
    assert "rollback" in r.stdout and "apply" in r.stdout
    r = run("catalog", "template", "--out", tmp_path / "t.xlsx", "--format", "xlsx")
    assert r.exit_code == 0


def test_refusals_exit_with_a_message(run, tmp_path):
    run("merchants", "add", "M01")
    f = tmp_path / "c.csv"
    f.write_text("sku_id,title\nA,x\n", encoding="utf-8")
    r = run("catalog", "import", f, "-m", "M09")
    assert r.exit_code == 2 and "no merchant M09" in r.output
    r = run("catalog", "rollback", "4", "-m", "M01")
    assert r.exit_code == 2 and "no catalog version 4" in r.output
    r = run("catalog", "versions", "-m", "M01", "--store", "mysql://x")
    assert r.exit_code == 2 and "SQLite or PostgreSQL" in r.output
    r = run("merchants", "add", "M01")
    assert r.exit_code == 2 and "already exists" in r.output
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    r = run("catalog", "import", tmp_path / "c.pdf", "-m", "M01")
    assert r.exit_code == 2 and "unsupported_type" in r.output


def test_the_default_store_is_a_file_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DEMANDMATCH_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["merchants", "add", "M01"])
    assert r.exit_code == 0
    assert (tmp_path / "demandmatch.db").is_file()
