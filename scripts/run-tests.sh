#!/usr/bin/env bash
# The whole suite on both databases at once: the SQLite run in the foreground, the PostgreSQL
# run (its own throwaway cluster, tests/services.py) beside it, its output shown when it ends.
# Each run is sequential in itself; together they keep both cores busy, where one run at a
# time leaves one mostly idle. Extra arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
work=$(mktemp -d -t cbassess-tests.XXXXXX)
postgresql_log="$work/postgresql.log"

# Job control: the background run keeps its own SIGINT (a non-interactive shell would have it
# ignored), so an interruption lets it stop its servers through the fixtures' teardown.
set -m
CBASSESS_TEST_DATABASE=postgresql "$PYTHON" -m pytest -p no:cacheprovider \
    --basetemp="$work/postgresql" "$@" >"$postgresql_log" 2>&1 &
postgresql_pid=$!
set +m
# Stop the PostgreSQL run (and the servers it started) if this script is interrupted.
trap 'kill -INT "$postgresql_pid" 2>/dev/null; wait "$postgresql_pid"; exit 130' INT TERM

echo "== SQLite run (the PostgreSQL run goes on beside it; its output follows) =="
"$PYTHON" -m pytest --basetemp="$work/sqlite" "$@"
sqlite_status=$?

wait "$postgresql_pid"
postgresql_status=$?
echo
echo "== PostgreSQL run =="
cat "$postgresql_log"
rm -rf "$work"

echo
echo "SQLite run: exit $sqlite_status; PostgreSQL run: exit $postgresql_status"
[ "$sqlite_status" -eq 0 ] && [ "$postgresql_status" -eq 0 ]
