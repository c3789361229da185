import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flint.cli.main import cli
from flint.store import FlintStore

H = 3600


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray flint.yaml / .env
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(cli, ["data", *args], env=env, catch_exceptions=False)

    return invoke


def test_sample_then_status(run, tmp_path):
    db = str(tmp_path / "s.duckdb")
    done = run("sample", "--db", db, "--days", "10")
    assert done.exit_code == 0, done.output
    assert "candles" in done.output and "1,440" in done.output  # 10 days x 24 h x 6 series
    again = run("sample", "--db", db, "--days", "10")
    assert again.exit_code == 0 and "1,440" not in again.output
    status = run("status", "--db", db)
    assert status.exit_code == 0, status.output
    for text in ("SOL-PERP", "hyperliquid", "binance", "3600 s", "240", "2024-01-01 00:00",
                 "none", "funding", "orderbook", "open_interest"):
        assert text in status.output


def test_sample_refuses_to_replace_other_data(run, tmp_path):
    db = str(tmp_path / "s.duckdb")
    assert run("sample", "--db", db, "--days", "2").exit_code == 0
    refused = run("sample", "--db", db, "--days", "2", "--seed", "11")
    assert refused.exit_code == 1
    assert "already holds other candles for hyperliquid/BTC-PERP" in refused.output
    assert run("sample", "--db", db, "--days", "2", "--seed", "11", "--force").exit_code == 0


def test_db_path_comes_from_the_configuration(run, tmp_path):
    env = {"FLINT_DB_PATH": str(tmp_path / "configured.duckdb")}
    assert run("sample", "--days", "1", env=env).exit_code == 0
    assert (tmp_path / "configured.duckdb").is_file()
    assert "BTC-PERP" in run("status", env=env).output
    bad = run("status", env={"FLINT_DB_PATH": str(tmp_path / "missing.duckdb")})
    assert bad.exit_code == 1 and "no flint store at" in bad.output


CSV = "ts,open,high,low,close,volume\n0,1,2,0.5,1.5,10\n3600,1.5,3,1,2,0\n10800,2,2,2,2,1\n"


def test_import_a_file_a_folder_and_bad_input(run, tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "binance-SOLUSDT-3600.csv").write_text(CSV)
    (folder / "hyperliquid-SOL-funding.csv").write_text("ts,rate\n3600,0.00001\n7200,0.00002\n")
    (folder / "mystery.csv").write_text(CSV)
    db = str(tmp_path / "i.duckdb")
    done = run("import", str(folder), "--db", db)
    assert done.exit_code == 0, done.output
    assert "imported 2 file(s)" in done.output and "skipped" in done.output
    single = run("import", str(folder / "mystery.csv"), "--db", db, "--market", "MY-PERP",
                 "--venue", "dex", "--resolution", "3600")
    assert single.exit_code == 0, single.output
    status = run("status", "--db", db)
    assert "1 (1 bars missing)" in status.output and "MY-PERP" in status.output
    with FlintStore(db, read_only=True) as store:
        assert store.query_funding_rates("SOL-PERP")[0].interval_s == H
        assert len(store.query_candles("MY-PERP", H, venue="dex")) == 3

    unknown = run("import", str(folder / "mystery.csv"), "--db", db)
    assert unknown.exit_code == 1 and "the name does not say what it holds" in unknown.output
    (folder / "binance-BADUSDT-60.csv").write_text(CSV.replace("3600,1.5", "3601,1.5"))
    bad = run("import", str(folder / "binance-BADUSDT-60.csv"), "--db", db)
    assert bad.exit_code == 1
    assert "row 1: ts 3601 is not aligned to its 60 s resolution" in bad.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no data files found" in run("import", str(empty), "--db", db).output


def test_export_and_import_back(run, tmp_path):
    db, copy, out = (str(tmp_path / n) for n in ("a.duckdb", "b.duckdb", "export"))
    assert run("sample", "--db", db, "--days", "3").exit_code == 0
    exported = run("export", out, "--db", db)
    assert exported.exit_code == 0, exported.output
    assert "orderbook_snapshots" in exported.output
    assert run("export", out, "--db", db).exit_code == 1  # an export is there already
    assert run("export", out, "--db", db, "--overwrite").exit_code == 0
    imported = run("import", out, "--db", copy)
    assert imported.exit_code == 0, imported.output
    with FlintStore(db, read_only=True) as a, FlintStore(copy, read_only=True) as b:
        assert a.summary() == b.summary()
        assert a.query_orderbook_snapshots("BTC-PERP") == b.query_orderbook_snapshots("BTC-PERP")
        assert a.query_funding_rates("ETH-PERP") == b.query_funding_rates("ETH-PERP")


def test_user_errors_exit_with_code_1_from_the_installed_command(tmp_path):
    flint = os.path.join(os.path.dirname(sys.executable), "flint")
    done = subprocess.run(
        [flint, "data", "status", "--db", str(tmp_path / "nothing.duckdb")],
        capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "Error: no flint store at" in done.stderr


def test_a_store_of_an_earlier_flint_is_named_and_migrated_by_flint_data_migrate(run, tmp_path):
    import duckdb

    from flint.store import schema

    db = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(db))
    schema.migrate(conn, schema.MIGRATIONS[:-1])  # as the release before this one left it
    conn.close()
    refused = CliRunner().invoke(cli, ["data", "status", "--db", str(db)])
    assert refused.exit_code == 1
    assert "older than this flint's" in refused.output and "flint data migrate" in refused.output
    done = run("migrate", "--db", str(db))
    assert done.exit_code == 0 and f"schema version {schema.SCHEMA_VERSION}" in done.output
    assert run("status", "--db", str(db)).exit_code == 0
    missing = CliRunner().invoke(cli, ["data", "migrate", "--db", str(tmp_path / "nope.duckdb")])
    assert missing.exit_code == 1 and "no flint store" in missing.output
    assert not (tmp_path / "nope.duckdb").exists()
