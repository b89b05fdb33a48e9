"""The SQLite write lock: a save that reads under it keeps it until its transaction ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cbassess.extensions import db
from cbassess.sqlite_writes import hold_write_lock

# SQLite's write lock; PostgreSQL locks the assessment's row instead.
pytestmark = pytest.mark.sqlite_only


def _held(connection) -> bool:
    return connection.connection.dbapi_connection.write_lock is not None


def _another_writer_waits_for_this_transaction(statement: str) -> None:
    """Run `statement` in a transaction of another thread: it must wait until this session's
    transaction commits, and then go through."""
    engine, wrote = db.engine, threading.Event()

    def write() -> None:
        with engine.begin() as other:
            other.execute(text(statement))
        wrote.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not wrote.wait(0.5)
    finally:
        db.session.commit()
    assert wrote.wait(10)
    writer.join()


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
        _another_writer_waits_for_this_transaction("UPDATE organisations SET region = region")


def test_a_writing_statement_takes_the_lock_and_a_rollback_gives_it_back(app):
    with app.app_context():
        connection = db.session.connection()
        connection.execute(text("SELECT count(*) FROM answers"))
        assert not _held(connection)
        connection.execute(text("UPDATE organisations SET region = region"))
        assert _held(connection)
        raw = connection.connection.dbapi_connection
        db.session.rollback()
        assert raw.write_lock is None


def test_a_writer_waits_for_another_transactions_uncommitted_write(app):
    with app.app_context():
        db.session.execute(text("UPDATE organisations SET region = 'first'"))
        _another_writer_waits_for_this_transaction(
            "UPDATE organisations SET region = 'second'")
        assert set(db.session.scalars(text("SELECT region FROM organisations"))) == {"second"}


@pytest.mark.parametrize("pragma, expected", [
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", 1),  # NORMAL
    ("busy_timeout", 15000),
])
def test_the_apps_own_connections_get_the_sqlite_settings(app, pragma, expected):
    with app.app_context():
        connection = db.session.connection()
        assert connection.execute(text(f"PRAGMA {pragma}")).scalar() == expected


def test_the_database_refuses_an_answer_of_an_assessment_that_does_not_exist(app):
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text(
                "INSERT INTO answers (assessment_id, indicator_key, version, evidence, note, "
                "not_applicable) VALUES (999999, 'x', 0, '', '', 0)"))
            db.session.commit()
        db.session.rollback()
