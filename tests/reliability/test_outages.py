"""Outages a cron job meets: a database another process keeps locked, a folder it cannot write,
and being killed while it sends the digests."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from helpers import ROOT, run_cli, sample_items, store_items
from sitesrv import free_port

from aggregator.demo import materialize

HOLD = r'''
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
'''


def hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def seeded_db(tmp_path: Path) -> tuple[Path, Path, str]:
    db = tmp_path / "es.db"
    store_items(f"sqlite:///{db}", sample_items())
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "profiles.toml").write_text('[[profile]]\nname = "ana"\n', encoding="utf-8")
    event_id = sqlite3.connect(db).execute("select id from events order by start_utc").fetchone()[0]
    return cfg, db, event_id


def test_a_locked_database_is_waited_for(seeded_db) -> None:  # type: ignore[no-untyped-def]
    cfg, db, event_id = seeded_db
    holder = hold_lock(db, 2.0)
    try:
        res = run_cli("--config", str(cfg), "--db", f"sqlite:///{db}", "feedback", "--profile", "ana",
                      event_id, "like")
    finally:
        holder.wait(timeout=30)
    assert res.returncode == 0, f"a lock held for 2 s must be waited for (busy timeout 30 s): {res.stderr}"
    assert sqlite3.connect(db).execute("select signal from feedback").fetchall() == [("like",)]


def test_a_database_locked_past_the_busy_timeout_is_one_clear_error(seeded_db) -> None:  # type: ignore[no-untyped-def]
    cfg, db, event_id = seeded_db
    holder = hold_lock(db, 8.0)
    try:
        res = run_cli("--config", str(cfg), "--db", f"sqlite:///{db}", "feedback", "--profile", "ana",
                      event_id, "like", env={"EVENTSCOUT_BUSY_TIMEOUT": "1"})
    finally:
        holder.kill()
        holder.wait()
    assert res.returncode == 1
    assert res.stderr.strip() == ("error: the database is busy: another process kept it locked for over 1 s "
                                  "(EVENTSCOUT_BUSY_TIMEOUT); try again later")
    assert sqlite3.connect(db).execute("select count(*) from feedback").fetchone()[0] == 0


def test_an_unwritable_configuration_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    res = run_cli("init", str(blocker / "es"))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write the configuration to {blocker / 'es'}")


# --------------------------------------------------------------------------- killed while sending

class SlowInbox:
    """An SMTP server that takes its time over each message, so kills land mid-sending."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []   # (recipient, Message-ID)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        import asyncio

        await asyncio.sleep(0.8)
        msg = message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.messages.append((envelope.rcpt_tos[0], str(msg["Message-ID"])))
        return "250 OK"


NAMES = ["ana", "ben", "cleo", "dev", "eli", "fay"]


@pytest.mark.slow
def test_run_killed_while_sending_loses_no_digest_and_sends_none_twice(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    now = datetime(2027, 1, 31, 19, 0, tzinfo=UTC)
    cfg = materialize(tmp_path / "demo", now)
    port = free_port()
    with (cfg / "eventscout.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 10\n'
                'from = "Digest <digest@example.org>"\n')
    demo_profile = (cfg / "profiles.toml").read_text(encoding="utf-8")
    profiles = "".join(demo_profile.replace('name = "demo"', f'name = "{n}"').replace(
        "demo@example.org", f"{n}@example.org") for n in NAMES)
    (cfg / "profiles.toml").write_text(profiles, encoding="utf-8")
    base = ["--config", str(cfg), "--now", now.isoformat()]
    assert run_cli(*base, "-q", "collect").returncode == 0

    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    rng = random.Random(7)
    kills = 0
    try:
        for _ in range(10):
            proc = subprocess.Popen([sys.executable, "-m", "aggregator", *base, "run", "--skip-collect"],
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(1.0, 4.0))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
        final = run_cli(*base, "run", "--skip-collect")
    finally:
        controller.stop()
    assert final.returncode == 0, final.stderr
    assert kills >= 3, f"only {kills} runs were killed mid-way: the test did not test much"
    assert len({mid for _r, mid in inbox.messages}) == len(NAMES)
    db = cfg / "eventscout.db"
    assert sqlite3.connect(db).execute("pragma integrity_check").fetchone()[0] == "ok"
    sent = dict(sqlite3.connect(db).execute("select profile, week from sent_digests").fetchall())
    assert sorted(sent) == sorted(NAMES), f"every profile's digest is recorded as sent once: {sent}"
    for name in NAMES:
        ids = {mid for rcpt, mid in inbox.messages if rcpt == f"{name}@example.org"}
        assert len(ids) == 1, (f"{name} must get exactly one digest (a retry after a kill is the same "
                               f"message, same Message-ID); got {ids}")
    print(f"{kills} kills while sending; {len(inbox.messages)} deliveries for {len(NAMES)} digests")
