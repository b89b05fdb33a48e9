#!/usr/bin/env bash
# Create .venv beside this checkout and install cbassess into it (editable: the app reads its
# templates, static files and migrations from the checkout), with optional extras:
#   scripts/install.sh                  the app alone, on SQLite
#   scripts/install.sh postgres,redis   a deployment on PostgreSQL with a shared rate-limit store
#   scripts/install.sh test             what `make test` needs (the Makefile calls this)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
test -x .venv/bin/python || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
# The translations the app speaks, compiled from their catalogues (.po -> .mo, not committed).
.venv/bin/pybabel compile --domain messages --directory cbassess/translations
