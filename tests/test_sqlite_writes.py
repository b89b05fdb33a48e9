"""The SQLite write lock: a save that reads under it keeps it until its transaction ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from cbassess.extensions import db
from cbassess.sqlite_writes import hold_write_lock
from tests.conftest import DATABASE_URL

pytestmark = pytest.mark.skipif(bool(DATABASE_URL), reason="SQLite's write lock; PostgreSQL "
                                                           "locks rows instead")


def _held(connection) -> bool:
    return connection.connection.dbapi_connection.write_lock is not None


def test_a_lock_taken_before_a_read_is_still_held_after_the_read(app):
    with app.app_context():
        connection = db.session.connection()
        hold_write_lock(connection)
        connection.execute(text("SELECT count(*) FROM answers"))
        assert _held(connection)
        db.session.rollback()


def test_the_lock_is_given_back_when_the_transaction_commits(app):
    with app.app_context():
        connection = db.session.connection()
        hold_write_lock(connection)
        raw = connection.connection.dbapi_connection
        db.session.commit()
        assert raw.write_lock is None


def test_another_writer_waits_until_the_reading_transaction_ends(app):
    with app.app_context():
        connection = db.session.connection()
        hold_write_lock(connection)
        engine, wrote = db.engine, threading.Event()

        def write() -> None:
            with engine.begin() as other:
                other.execute(text("UPDATE organisations SET region = region"))
            wrote.set()

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert not wrote.wait(0.5)
        finally:
            db.session.commit()
        assert wrote.wait(10)
        writer.join()
