"""The bare stack the autosave is measured against: Flask + Flask-SQLAlchemy, one upsert.

POST /save/<key> takes the same form fields as the app's autosave and upserts one row
(INSERT … ON CONFLICT DO UPDATE) into a table of its own in the app's database, then
answers a few bytes. No sign-in, CSRF, validation, history or templates: what is left is
the cost of the stack itself.

The connection is set up as cbassess sets up its own, so that like is compared with like:
on SQLite the app's pragmas; on a database server (PostgreSQL) a pre-ping of each pooled
connection when it is checked out, as `cbassess.create_app` does there.

    gunicorn -c cbassess/gunicorn.conf.py --pythonpath benchmarks 'bare_app:create_app()'
with BARE_DATABASE_URL=sqlite:////path/to/cbassess.sqlite or postgresql+psycopg://…; the
table is created by `create_table(url)` before the server starts (two workers creating it
at once would race on a database server).
"""

from __future__ import annotations

import os

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, Text, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class BareAnswer(db.Model):
    __tablename__ = "bare_answers"
    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)


def _pragmas(dbapi_connection, connection_record) -> None:
    """The same pragmas as cbassess puts on every SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_table(url: str) -> None:
    """The bare table in the database at `url`, if it is not there yet."""
    engine = create_engine(url)
    try:
        BareAnswer.__table__.create(engine, checkfirst=True)
    finally:
        engine.dispose()


def create_app() -> Flask:
    """The bare app on BARE_DATABASE_URL."""
    url = os.environ["BARE_DATABASE_URL"]
    on_sqlite = url.startswith("sqlite")
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # As cbassess: a server may drop idle connections, a file has none to lose.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {} if on_sqlite else {"pool_pre_ping": True}
    db.init_app(app)
    if on_sqlite:
        with app.app_context():
            event.listen(db.engine, "connect", _pragmas)
    insert = sqlite.insert if on_sqlite else postgresql.insert

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.post("/save/<key>")
    def save(key: str):
        evidence = request.form.get(f"{key}-evidence", "")
        statement = insert(BareAnswer).values(key=key, evidence=evidence, version=1)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[BareAnswer.key],
            set_={"evidence": statement.excluded.evidence,
                  "version": BareAnswer.version + 1}))
        db.session.commit()
        return "saved"

    return app
