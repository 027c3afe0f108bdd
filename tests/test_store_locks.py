"""Write locks held in the store's database: what other processes see while a plan writes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from langgraph.store.base import GetOp
from langgraph.store.memory import InMemoryStore

from agno_learn_langgraph.backends import aopen_store, open_store
from agno_learn_langgraph.core import Plan, arun_plan, async_write_lock, run_plan, write_lock
from agno_learn_langgraph.core.store_locks import (
    StoreLocker,
    _PostgresLocker,
    alocker_for,
    lock_ids,
    locker_for,
)

KEY = ("user_profile", None, "ann")
NS = ("learning", "user_profile", "ann")


def probe(check: Any) -> Plan[Any]:
    """A plan that calls ``check()`` while it runs (between its steps)."""
    seen = check()
    yield [GetOp(NS, "profile")]
    return seen


def test_lock_ids_are_the_same_in_every_process() -> None:
    code = (
        "from agno_learn_langgraph.core.store_locks import lock_ids;"
        f"print(lock_ids([{KEY!r}, ('x',)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": "", "PYTHONPATH": ":".join(sys.path)},
    )
    assert out.stdout.strip() == str(lock_ids([KEY, ("x",)]))


def test_an_in_memory_store_has_nothing_to_lock_beyond_the_process() -> None:
    assert locker_for(InMemoryStore()) is None


def test_a_postgres_plan_inside_a_write_lock_holds_the_key_in_the_database(
    pg_url: str,
) -> None:
    other = _PostgresLocker(pg_url)  # another process's session
    ids = lock_ids([KEY])
    try:
        with open_store(pg_url) as backend:
            with write_lock(KEY):
                assert run_plan(backend.store, probe(lambda: other.try_lock(ids))) is False
            assert run_plan(backend.store, probe(lambda: other.try_lock(ids))) is True
            other.unlock(ids)
            with write_lock(("another", "key")):
                assert run_plan(backend.store, probe(lambda: other.try_lock(ids))) is True
    finally:
        other.unlock(ids)
        other.close()


async def test_an_async_postgres_plan_holds_the_key_too(pg_url: str) -> None:
    other = _PostgresLocker(pg_url)
    ids = lock_ids([KEY])
    try:
        async with aopen_store(pg_url) as backend:
            async with async_write_lock(KEY):
                taken = await arun_plan(backend.store, probe(lambda: other.try_lock(ids)))
            assert taken is False
            assert (await alocker_for(backend.store)) is locker_for(backend.store)
        assert other.try_lock(ids)  # released after the plan
    finally:
        other.unlock(ids)
        other.close()


def test_a_lock_connection_the_server_dropped_is_opened_again(pg_url: str) -> None:
    locker = _PostgresLocker(pg_url)
    ids = lock_ids([KEY])
    try:
        assert locker.try_lock(ids)
        locker.unlock(ids)
        pid = locker._connection().info.backend_pid
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert locker.try_lock(ids)
        assert locker._connection().info.backend_pid != pid
    finally:
        locker.unlock(ids)
        locker.close()


def test_a_writer_of_this_process_waits_for_the_key_it_holds(pg_url: str) -> None:
    locker: StoreLocker = _PostgresLocker(pg_url)
    ids = lock_ids([KEY])
    try:
        assert locker.try_lock(ids)
        assert not locker.try_lock(ids)  # the database would grant it again: the process does not
        assert not locker.try_lock(lock_ids([KEY, ("other",)]))  # all or nothing
        assert locker.try_lock(lock_ids([("other",)]))
    finally:
        locker.unlock(lock_ids([KEY, ("other",)]))
        locker.close()


HOLD = """
import sys
from agno_learn_langgraph.backends import open_store
from agno_learn_langgraph.core.store_locks import lock_ids, locker_for
with open_store(sys.argv[1]) as backend:
    locker = locker_for(backend.store)
    assert locker.try_lock(lock_ids([tuple(sys.argv[2:])]))
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_sqlite_file_is_locked_for_other_processes(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, db, *[str(k) for k in KEY]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with open_store(db) as backend:
            mine = locker_for(backend.store)
            assert mine is not None
            ids = lock_ids([tuple(str(k) for k in KEY)])
            assert not mine.try_lock(ids)  # the other process holds it
            assert holder.stdin is not None
            holder.stdin.write("done\n")
            holder.stdin.flush()
            holder.wait(timeout=60)
            assert mine.try_lock(ids)  # its locks went with it
            mine.unlock(ids)
    finally:
        if holder.poll() is None:
            holder.kill()


async def test_an_async_sqlite_store_shares_the_files_locker(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    with open_store(db) as sync_backend:
        sync_locker = locker_for(sync_backend.store)
    async with aopen_store(db) as backend:
        assert await alocker_for(backend.store) is sync_locker is not None


async def test_sync_code_finds_an_async_sqlite_stores_locker(tmp_path: Path) -> None:

    db = str(tmp_path / "shared.db")
    async with aopen_store(db) as backend:
        found = await asyncio.to_thread(locker_for, backend.store)
        assert found is not None and found is await alocker_for(backend.store)
