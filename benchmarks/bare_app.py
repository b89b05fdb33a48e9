"""The bare stack the autosave is measured against: Flask + Flask-SQLAlchemy, one upsert.

POST /save/<key> takes the same form fields as the app's autosave and upserts one row
(INSERT … ON CONFLICT DO UPDATE) into a table of its own in the same SQLite file, on a
connection with the app's pragmas, then answers a few bytes. No sign-in, CSRF, validation,
history or templates: what is left is the cost of the stack itself.

    gunicorn -c cbassess/gunicorn.conf.py --pythonpath benchmarks 'bare_app:create_app()'
with BARE_DATABASE=/path/to/cbassess.sqlite.
"""

from __future__ import annotations

import os

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, Text, event
from sqlalchemy.dialects.sqlite import insert
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


def create_app() -> Flask:
    """The bare app on BARE_DATABASE (a SQLite file path)."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["BARE_DATABASE"]
    db.init_app(app)
    with app.app_context():
        event.listen(db.engine, "connect", _pragmas)
        db.create_all()

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
