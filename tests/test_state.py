"""State that survives: backups, integrity checks, recovery, restore, migrations, a full disk, one-line failures."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
import sqlite_utils

from claw import chat as chat_face
from claw.core import instance
from claw.core.backups import NightlyBackup, next_run
from claw.core.config import BackupConfig, Config
from claw.core.errors import ClawError, DiskFull, StateError
from claw.core.store import Store
from claw.core.store import backup as copies
from claw.core.store import messages as log_db
from claw.core.store.driver import sqlite_driver
from claw.core.store.schema import MIGRATIONS
from claw.daemon import Daemon, build

CLAW = [sys.executable, "-m", "claw.cli"]


async def filled_store(path: Path, messages: int = 50) -> Store:
    store = Store(path)
    await store.open()
    for i in range(messages):
        await store.run(log_db.append, "owner:+1", [log_db.Message("user", f"message {i}")])
    return store


def count(path: Path) -> int:
    with sqlite_driver().connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def overwrite_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:16] = b"not a database!!"
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def scribble_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    pick = random.Random(7)
    for number in range(1, len(data) // page):  # every page but the first: the b-trees themselves
        start = number * page + pick.randrange(0, 200)
        data[start : start + 400] = pick.randbytes(400)
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "header": overwrite_header,
    "truncated": truncate,
    "random pages": scribble_pages,
}


async def closed_store_with_backup(folder: Path, messages: int = 50) -> tuple[Path, Path]:
    """A database with `messages` rows, a backup of it, then 10 rows more; both closed."""
    db_path = folder / "claw.db"
    store = await filled_store(db_path, messages)
    taken = await store.backup(keep=3)
    for i in range(10):
        await store.run(log_db.append, "owner:+1", [log_db.Message("user", f"after the backup {i}")])
    await store.close()
    return db_path, taken


# -- backups ------------------------------------------------------------------------------------


async def test_a_backup_taken_while_the_store_writes_is_whole_and_passes_its_check(tmp_path: Path) -> None:
    store = await filled_store(tmp_path / "claw.db", 200)
    try:

        async def keep_writing() -> None:
            for i in range(100):
                await store.run(log_db.append, "owner:+1", [log_db.Message("user", f"meanwhile {i}")])

        writing = asyncio.create_task(keep_writing())
        taken = await store.backup(keep=7)
        await writing
    finally:
        await store.close()
    assert taken.parent == tmp_path / "backups" and taken.name.startswith("claw-")
    assert copies.problem(taken) == ""
    assert 200 <= count(taken) <= 300  # a consistent snapshot: everything before the copy, maybe some after
    assert not list(tmp_path.glob("backups/*-wal")) and not list(tmp_path.glob("backups/.*"))  # one file each


async def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    store = await filled_store(tmp_path / "claw.db", 5)
    await store.close()
    for day in range(4):
        copies.backup(tmp_path / "claw.db", tmp_path / "backups", keep=2, now=1_800_000_000 + day * 86400)
    kept = copies.backups(tmp_path / "backups")
    assert len(kept) == 2 and kept[-1].name == time.strftime("claw-%Y%m%d-%H%M%S.db", time.localtime(1_800_259_200))


def test_the_nightly_time_is_the_next_one_in_the_households_time_zone() -> None:
    # 2027-01-15 02:00 UTC is 03:00 in Berlin: 03:30 is half an hour away; at 04:00 it is tomorrow's
    two = 1_800_000_000 - (1_800_000_000 % 86400) + 2 * 3600
    assert next_run(two, "03:30", "Europe/Berlin") - two == 1800
    assert next_run(two + 7200, "03:30", "Europe/Berlin") - two == 1800 + 86400


async def test_a_day_without_a_copy_gets_one_at_start_up_and_a_failure_is_told_once(tmp_path: Path) -> None:
    store = await filled_store(tmp_path / "claw.db", 3)
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    nightly = NightlyBackup(store, BackupConfig(keep=2), "UTC", notify=notify)
    runner = asyncio.create_task(nightly.run())
    try:
        for _ in range(100):
            if copies.backups(tmp_path / "backups"):
                break
            await asyncio.sleep(0.05)
        assert len(copies.backups(tmp_path / "backups")) == 1
        blocker = tmp_path / "blocked"
        blocker.write_text("a file where the backups folder should be")
        nightly.store = Store(blocker / "claw.db")  # its folder is a file: every copy fails
        await nightly.take()
        await nightly.take()
    finally:
        runner.cancel()
        await store.close()
    assert len(told) == 1 and "backup of my database failed" in told[0]


# -- integrity and recovery ---------------------------------------------------------------------


@pytest.mark.parametrize("damage", DAMAGE)
async def test_a_damaged_database_is_moved_aside_and_the_last_good_backup_restored(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    db_path, taken = await closed_store_with_backup(tmp_path)
    DAMAGE[damage](db_path)
    assert copies.problem(db_path)
    store = Store(db_path)
    await store.open()
    try:
        assert await store.run(log_db.count, "owner:+1") == 50  # the backup's rows; the 10 after it are lost
    finally:
        await store.close()
    recovered = store.recovered
    assert recovered is not None and recovered.restored == taken and recovered.damaged.exists()
    assert recovered.damaged.name.startswith("claw.db.damaged-")
    lines = [r for r in caplog.records if "damaged" in r.getMessage()]
    said = lines[0].getMessage() if len(lines) == 1 else ""
    assert str(db_path) in said and taken.name in said and "\n" not in said, [r.getMessage() for r in lines]


async def test_a_damaged_backup_is_passed_over_for_an_older_good_one(tmp_path: Path) -> None:
    db_path, older = await closed_store_with_backup(tmp_path)
    newer = copies.backup(db_path, tmp_path / "backups", keep=5, now=time.time() + 60)
    overwrite_header(newer)
    overwrite_header(db_path)
    store = Store(db_path)
    await store.open()
    await store.close()
    assert store.recovered is not None and store.recovered.restored == older


async def test_without_a_good_backup_the_damaged_database_is_left_alone_and_the_error_names_the_fix(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "claw.db"
    store = await filled_store(db_path, 5)
    await store.close()
    overwrite_header(db_path)
    before = db_path.read_bytes()
    with pytest.raises(StateError) as caught:
        await Store(db_path).open()
    message = str(caught.value)
    assert str(db_path) in message and "claw restore FILE" in message and "\n" not in message
    assert db_path.read_bytes() == before and not list(tmp_path.glob("claw.db.damaged-*"))


async def test_the_daemon_tells_the_owners_it_restored_a_backup(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    db_path, _ = await closed_store_with_backup(config.state_path)
    truncate(db_path)
    app = build(config, parts=())
    await app.start()
    try:
        notices = [n.text for n in app.local.notifications]
    finally:
        await app.stop()
    assert any("restored the backup" in n and "claw.db.damaged-" in n for n in notices), notices


# -- restore ------------------------------------------------------------------------------------


async def test_claw_restore_puts_a_backup_back_and_keeps_what_it_replaced(tmp_path: Path) -> None:
    state = tmp_path / "state"
    db_path, taken = await closed_store_with_backup(state)
    config = write_config(tmp_path, state)
    result = subprocess.run(
        [*CLAW, "restore", str(taken), "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert count(db_path) == 50 and "Restored" in result.stdout
    replaced = list(state.glob("claw.db.before-restore-*"))
    assert len([p for p in replaced if not p.name.endswith(("-wal", "-shm"))]) == 1
    listed = subprocess.run([*CLAW, "backup", "--list", "--config", str(config)], capture_output=True, text=True)
    assert taken.name in listed.stdout


async def test_restore_is_refused_while_claw_runs_on_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    db_path, taken = await closed_store_with_backup(state)
    instance.announce(state, "http://127.0.0.1:9")  # this test process stands for the running daemon
    result = subprocess.run(
        [*CLAW, "restore", str(taken), "--config", str(write_config(tmp_path, state))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 78 and "Claw is running" in result.stderr and "stop it first" in result.stderr
    assert count(db_path) == 60  # untouched


async def test_a_backup_from_a_newer_claw_or_a_damaged_one_is_not_restored(tmp_path: Path) -> None:
    db_path, taken = await closed_store_with_backup(tmp_path)
    with sqlite_driver().connect(taken) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StateError, match="newer Claw"):
        copies.restore(db_path, taken)
    overwrite_header(taken)
    with pytest.raises(StateError, match="damaged"):
        copies.restore(db_path, taken)
    assert count(db_path) == 60


async def test_a_database_from_a_newer_claw_is_one_line_naming_the_file(tmp_path: Path) -> None:
    db_path = tmp_path / "claw.db"
    store = await filled_store(db_path, 1)
    await store.close()
    with sqlite_driver().connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 3}")
    with pytest.raises(StateError) as caught:
        await Store(db_path).open()
    assert str(db_path) in str(caught.value) and "upgrade Claw" in str(caught.value)


# -- migrations from every schema version there has been ------------------------------------------


def _fill_every_table(db: sqlite_utils.Database) -> dict[str, int]:
    """One row in each plain table, whatever the schema at this version; returns the counts."""
    counts: dict[str, int] = {}
    for table in db.table_names():
        if table.startswith("sqlite_") or "_fts" in table:
            continue
        values: dict[str, object] = {}
        for column in db.execute(f"PRAGMA table_info({table})").fetchall():
            _, name, kind, notnull, default, primary = column
            if primary or not notnull or default is not None:
                continue
            values[name] = {"INTEGER": 1, "REAL": 1.5}.get(str(kind).upper(), "x")
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})" if values else f"INSERT INTO {table} DEFAULT VALUES"
        db.execute(sql, list(values.values()))
        counts[table] = int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    db.conn.commit()
    return counts


def _schema(path: Path) -> list[tuple[str, str]]:
    with sqlite_driver().connect(path) as conn:
        rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1, 2")
        return [(str(t), str(n)) for t, n in rows]


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))  # a later schema bump is covered by itself
async def test_a_database_at_every_earlier_schema_version_migrates_with_its_rows(tmp_path: Path, version: int) -> None:
    old = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite_driver().connect(old, isolation_level=None))
    for number, step in enumerate(MIGRATIONS[:version], start=1):
        db.conn.execute("BEGIN")
        step(db)
        db.conn.execute(f"PRAGMA user_version = {number}")
        db.conn.execute("COMMIT")
    before = _fill_every_table(db)
    db.conn.close()
    store = Store(old)
    await store.open()
    try:
        after = {
            table: await store.run(lambda d, t=table: int(d.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]))
            for table in before
        }
        reached = await store.run(lambda d: int(d.execute("PRAGMA user_version").fetchone()[0]))
    finally:
        await store.close()
    assert reached == len(MIGRATIONS)
    assert {t: n for t, n in after.items() if t in before} == before  # no row lost on the way
    assert copies.problem(old) == ""
    fresh = Store(tmp_path / "fresh.db")
    await fresh.open()
    await fresh.close()
    assert _schema(old) == _schema(tmp_path / "fresh.db")  # the same tables, indexes and triggers as a new one


# -- a full disk --------------------------------------------------------------------------------


async def test_a_full_disk_refuses_new_messages_in_one_sentence_and_keeps_those_taken(
    make_config: Callable[..., Config],
) -> None:
    app = build(make_config(), parts=())
    await app.start()
    url = f"http://127.0.0.1:{app.config.private.port}"
    try:
        async with aiohttp.ClientSession(url) as http:
            async with http.post("/api/chat", json={"text": "/help"}) as response:
                assert response.status == 200
            taken = await app.store.run(log_db.count, app.local.conversation)
            pages = await app.store.run(lambda d: int(d.execute("PRAGMA page_count").fetchone()[0]))
            await app.store.run(lambda d: d.execute(f"PRAGMA max_page_count = {pages}").fetchall())  # full now
            refused = 0
            for i in range(30):  # until the pages the history still had free are used up
                async with http.post("/api/chat", json={"text": f"note {i} " + "x" * 3000}) as response:
                    body = await response.json()
                    if response.status == 503:
                        refused += 1
                        break
                    assert response.status == 200, body
            assert refused, "the database never filled up"
            assert response.headers["Retry-After"] == "60"
            assert body["error"].startswith("the disk holding ") and "claw.db is full: free some space" in body["error"]
            assert "Traceback" not in body["error"]
            with pytest.raises(DiskFull):
                await app.store.run(log_db.append, "x", [log_db.Message("user", "y" * 5000)])
            assert await app.store.run(log_db.count, app.local.conversation) >= taken  # nothing taken was lost
            await app.store.run(lambda d: d.execute("PRAGMA max_page_count = 1073741823").fetchall())  # room again
            async with http.post("/api/chat", json={"text": "/help"}) as response:
                assert response.status == 200  # back to work, with no restart
    finally:
        await app.stop()


# -- one line for each start-up failure ---------------------------------------------------------


def write_config(folder: Path, state: Path | str, extra: str = "") -> Path:
    path = folder / "claw.toml"
    path.write_text(
        f'state_dir = "{state}"\n[llm]\nhost = "http://127.0.0.1:9"\n[home]\ndiscovery = false\n{extra}',
        encoding="utf-8",
    )
    return path


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 78, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_damaged_database_without_a_backup_stops_run_and_doctor_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "claw.db").write_bytes(random.Random(3).randbytes(8192))
    config = write_config(tmp_path, state)
    run = subprocess.run([*CLAW, "run", "--config", str(config)], capture_output=True, text=True, timeout=60)
    line = one_line(run)
    assert str(state / "claw.db") in line and "claw restore FILE" in line
    doctor = subprocess.run([*CLAW, "doctor", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 78 and "Traceback" not in doctor.stdout + doctor.stderr
    fail = [x for x in doctor.stdout.splitlines() if "FAIL" in x]
    assert len(fail) == 1 and str(state / "claw.db") in fail[0] and "claw restore FILE" in fail[0]


@pytest.mark.parametrize("where", ["a file", "under /proc"])
def test_a_state_dir_that_cannot_be_made_is_one_line_and_exit_78(tmp_path: Path, where: str) -> None:
    if where == "a file":
        state = tmp_path / "taken"
        state.write_text("")
        expected = "is a file, not a folder"
    else:
        state = Path("/proc/claw-state")
        expected = "cannot be created"
    config = write_config(tmp_path, state)
    for command in ("run", "doctor"):
        result = subprocess.run([*CLAW, command, "--config", str(config)], capture_output=True, text=True, timeout=60)
        text = one_line(result) if command == "run" else result.stdout
        assert result.returncode == 78 and str(state) in text and expected in text, (command, result)


def test_a_config_that_is_not_utf8_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "claw.toml"
    path.write_bytes('state_dir = "state"\n# caf\xe9 in Latin-1\n'.encode("latin-1"))
    run = subprocess.run([*CLAW, "run", "--config", str(path)], capture_output=True, text=True, timeout=60)
    line = one_line(run)
    assert str(path) in line and "not UTF-8" in line and "line 2" in line
    doctor = subprocess.run([*CLAW, "doctor", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 78 and "not UTF-8" in doctor.stdout and "Traceback" not in doctor.stderr


# -- finding the running daemon -----------------------------------------------------------------


async def test_the_daemon_says_where_it_listens_in_its_state_dir_and_withdraws_it(
    make_config: Callable[..., Config],
) -> None:
    app: Daemon = build(make_config(), parts=())
    await app.start()
    try:
        found = instance.find([app.state])
        assert found is not None and found.url == f"http://127.0.0.1:{app.config.private.port}"
        url, token = chat_face.find("", "", app.state, None)
        assert (url, token) == (found.url, app.token)  # its own token, with its own address
    finally:
        await app.stop()
    assert instance.running(app.state) is None


def test_chat_never_sends_a_state_dirs_token_to_a_default_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAW_URL", raising=False)
    monkeypatch.delenv("CLAW_TOKEN", raising=False)
    state = tmp_path / "demo"
    state.mkdir()
    (state / "dashboard-token").write_text("the-demos-token")
    with pytest.raises(ClawError, match=r"no Claw is running from .*demo"):
        chat_face.find("", "", state, None)
    (state / instance.FILE).write_text(json.dumps({"url": "http://127.0.0.1:18765", "pid": 999_999_999}))
    with pytest.raises(ClawError):  # a daemon killed with -9 left its file: still not running
        chat_face.find("", "", state, None)
    url, token = chat_face.find("http://127.0.0.1:9", "", state, None)
    assert (url, token) == ("http://127.0.0.1:9", "")  # an address given by hand gets no token from a state dir
    result = subprocess.run(
        [*CLAW, "chat", "--state-dir", str(state), "hi"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CLAW_URL": "", "CLAW_TOKEN": ""},
    )
    assert result.returncode == 1 and "no Claw is running from" in result.stderr and "Traceback" not in result.stderr
