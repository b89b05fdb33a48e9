"""Alembic environment for cbassess (run by Flask-Migrate: `flask --app cbassess db …`).

Before a command that moves the database (upgrade, downgrade, stamp) changes anything:
- `cbassess.schema.survey` classifies the database; a foreign or incomplete one is refused
  with a clear message and left exactly as it was;
- a SQLite database that holds data and is about to change is backed up beside itself
  (`cbassess.sqlite.before-upgrade-FROM-TIMESTAMP`, the same checked copy as `backup`);
- a 0.1.0 database (made before migrations existed) is stamped with the baseline revision,
  so the migrations after it apply as to any other.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from cbassess import backup, schema

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    # Only when nothing has configured logging yet (the command line): inside the app or
    # the tests the existing loggers are kept.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")
database = current_app.extensions["migrate"].db
configure_args = dict(current_app.extensions["migrate"].configure_args)


def skip_empty_revision(migration_context, revision, directives) -> None:
    """`flask db migrate` with no change to the models writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


configure_args.setdefault("process_revision_directives", skip_empty_revision)
configure_args.setdefault("compare_type", True)  # a column whose type drifts is a difference


def destination() -> str | None:
    """Where a command that moves the database goes; None for the read-only commands."""
    try:
        target = context.get_revision_argument()
    except KeyError:  # current, history, check, revision: Alembic passes no destination
        return None
    return target if isinstance(target, str) else None


def current_revision(connection) -> str | None:
    context.configure(connection=connection, target_metadata=database.metadata)
    return context.get_context().get_current_revision()


def back_up_before_change(found: schema.Survey, revision: str | None) -> None:
    """A checked copy of a SQLite database with data, kept beside it, before it changes."""
    url = database.engine.url
    if url.get_backend_name() != "sqlite" or not found.holds_data:
        return
    path = backup.sqlite_path(url)
    label = revision or "0.1.0"
    written = backup.backup(path, path.with_name(f"{path.name}.before-upgrade-{label}-"
                                                 f"{backup.timestamp()}"))
    logger.info("Backed up %s to %s before changing its schema", path, Path(written))


def run_migrations_online() -> None:
    target = destination()
    with database.engine.connect() as connection:
        found = schema.survey(connection)
        revision = current_revision(connection)
    moving = target is not None and (found.state is schema.State.LEGACY or revision != target)
    if moving:
        back_up_before_change(found, revision)
    if moving and found.state is schema.State.LEGACY:
        logger.info("A cbassess 0.1.0 database: stamping it with %s", schema.BASELINE)
        with database.engine.begin() as connection:  # committed before the migrations run
            MigrationContext.configure(connection).stamp(ScriptDirectory.from_config(config),
                                                         schema.BASELINE)
    with database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table and drops the old one; with foreign keys on, the
            # drop would cascade to the rows that point at it (answer_revisions → answers).
            # The pragma only takes effect outside a transaction, hence before it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's implicit transaction, so Alembic owns one
        try:
            context.configure(connection=connection, target_metadata=database.metadata,
                              **configure_args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows pointing at rows that are gone")
        finally:
            if sqlite:  # the pooled connection goes back as every other one is
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    context.configure(url=str(database.engine.url), target_metadata=database.metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
