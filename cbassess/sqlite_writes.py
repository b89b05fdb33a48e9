"""One writer at a time on a SQLite file, queued by a lock instead of SQLite's retry sleeps.

SQLite lets one transaction write at a time. When a second one wants to write, SQLite's busy
handler makes it sleep and try again, for 1, 2, 5, 10, … up to 100 ms a time until the busy
timeout: under a steady stream of autosaves from several gunicorn workers, those sleeps, not
the work, made the slowest saves slow, and a writer that happened to try at the right moment
overtook ones that had waited longer.

Here every transaction that is about to write on a SQLite file first takes an exclusive
lock: a thread lock for the threads of one process, then `flock` on a file beside the
database for the processes. Waiting for a lock costs nothing and ends the moment it is free,
so writers queue instead of sleeping. The lock is taken by the DBAPI cursor just before the
transaction's first INSERT, UPDATE or DELETE, or earlier by hold_write_lock for a
transaction that must read under it (other reads never take it; in WAL mode they never
wait), and given back the moment the transaction ends: the DBAPI connection's commit,
rollback or close. A thread that already holds it (two sessions in one thread) goes on,
and SQLite decides as it did before.

Nothing changes for other databases, or for SQLite in memory.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class WriteLock:
    """Exclusive across threads and processes; re-entrant for the thread holding it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._state = threading.Lock()  # guards owner and depth
        self._owner: int | None = None
        self._depth = 0
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int:
        # Opened per process: a descriptor inherited through fork shares its lock.
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._state:
            if self._owner == me:
                self._depth += 1
                return
        self._threads.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        with self._state:
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._state:
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()


_locks: dict[str, WriteLock] = {}
_locks_guard = threading.Lock()


def lock_for(database: str | None) -> WriteLock | None:
    """The write lock of a SQLite database file (None for memory or a "file:" URI)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.abspath(database)
    with _locks_guard:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = WriteLock(path + "-writelock")
        return lock


class LockingCursor(sqlite3.Cursor):
    """Takes its connection's write lock before a statement that writes.

    Here rather than in SQLAlchemy's cursor events: an engine with such listeners runs
    every statement through its slower, event-dispatching path (about 20 µs a statement).
    """

    connection: LockingConnection

    def execute(self, sql, parameters=(), /):
        if not _is_write(sql):
            return super().execute(sql, parameters)
        self.connection.take_write_lock()
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection.give_back_after_autocommit()

    def executemany(self, sql, seq_of_parameters, /):
        if not _is_write(sql):
            return super().executemany(sql, seq_of_parameters)
        self.connection.take_write_lock()
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection.give_back_after_autocommit()


class LockingConnection(sqlite3.Connection):
    """A sqlite3 connection that takes the write lock before its transaction's first write
    and gives it back when the transaction ends."""

    lock: WriteLock | None = None  # this database's lock (none for a database in memory)
    write_lock: WriteLock | None = None  # the lock, while this connection holds it

    def cursor(self, factory=LockingCursor):
        return super().cursor(factory)

    def take_write_lock(self) -> None:
        if self.write_lock is None and self.lock is not None:
            self.lock.acquire()
            self.write_lock = self.lock

    def give_back_after_autocommit(self) -> None:
        if self.write_lock is not None and not self.in_transaction:
            self._give_back()  # the statement was its own transaction

    def _give_back(self) -> None:
        lock, self.write_lock = self.write_lock, None
        if lock is not None:
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def hold_write_lock(connection: Connection) -> None:
    """Take the write lock now, for a transaction that must read under it before it writes.

    A save reads the answers it is about to change, and compares versions, before its first
    UPDATE: holding the lock from the read on means no other writer can commit in between.
    Given back, like any write lock, when the transaction ends. Nothing for other databases
    (they lock rows: see answers.py), or for SQLite in memory.
    """
    raw = connection.connection.dbapi_connection
    if isinstance(raw, LockingConnection):
        raw.take_write_lock()


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:8].upper().startswith(_WRITES)


@event.listens_for(Engine, "do_connect")
def _locking_connection(dialect, connection_record, cargs, cparams):
    """Open SQLite files as LockingConnection, knowing their lock.

    A dialect event, once per new connection: cursor events would slow every statement.
    """
    if dialect.name != "sqlite" or dialect.driver != "pysqlite" or "factory" in cparams:
        return None
    connection = sqlite3.connect(*cargs, factory=LockingConnection, **cparams)
    connection.lock = lock_for(cargs[0] if cargs else cparams.get("database"))
    return connection
