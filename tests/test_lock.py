"""One bot per database: the lock a running bot holds, on SQLite and PostgreSQL.

A second `python -m bot` on the same database is refused by the end-to-end test in
test_e2e.py; here, the lock itself: taken once, refused while held (in this process
or another), and free again when its holder ends, even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

import pytest

from storage import lock
from storage.db import Database


async def test_the_lock_is_refused_while_held_and_free_once_released(database: Database) -> None:
    first = await lock.take(database)
    with pytest.raises(lock.AlreadyRunning) as refused:
        await lock.take(database)
    assert f"pid {os.getpid()}" in refused.value.holder
    assert (await lock.holder(database)) is not None
    await first.release()
    assert await lock.holder(database) is None
    again = await lock.take(database)
    await again.release()


HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from storage import lock
    from storage.db import Database

    async def main():
        db = Database(sys.argv[1])
        held = await lock.take(db)  # kept: a lock dropped by the garbage collector is freed
        print("held", flush=True)
        await asyncio.sleep(3600)
        await held.release()

    asyncio.run(main())
    """
)


async def test_a_lock_held_by_a_process_killed_with_sigkill_is_free_again(
    database: Database,
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, database.url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), 60)
        assert line == b"held\n"
        with pytest.raises(lock.AlreadyRunning) as refused:
            await lock.take(database)
        assert refused.value.holder.startswith(f"pid {holder.pid}")
        where = database.engine.url.render_as_string(hide_password=True)
        assert str(refused.value) == (
            f"another Terrain bot ({refused.value.holder}) is already running on the "
            f"database {where}; stop it first (two bots on one database fight over "
            "Telegram's updates)"
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    assert holder.returncode == -signal.SIGKILL
    for _ in range(50):  # the server notices the closed connection within moments
        if await lock.holder(database) is None:
            break
        await asyncio.sleep(0.1)
    taken = await lock.take(database)
    await taken.release()
