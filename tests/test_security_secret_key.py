"""SECRET_KEY: generated into the instance folder on first start (owner-only), the same key on
every later start and in every worker, never committed, and never the default in production.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cbassess import DEFAULT_SECRET, PROJECT_ROOT, create_app


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """An empty instance folder that create_app() (no test config) will use."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("CBASSESS_INSTANCE_PATH", str(folder))
    monkeypatch.setenv("CBASSESS_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.delenv("CBASSESS_SECRET_KEY", raising=False)
    monkeypatch.delenv("CBASSESS_ENV_NAME", raising=False)
    return folder


def test_first_start_generates_a_random_key_in_the_instance_folder(instance):
    app = create_app()
    key_file = instance / "secret_key"
    assert key_file.read_text() == app.config["SECRET_KEY"]
    assert len(app.config["SECRET_KEY"]) == 64 and int(app.config["SECRET_KEY"], 16) >= 0
    assert app.config["SECRET_KEY"] != DEFAULT_SECRET


def test_the_key_file_is_readable_by_its_owner_only(instance):
    create_app()
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600


def test_the_next_start_uses_the_same_key(instance):
    assert create_app().config["SECRET_KEY"] == create_app().config["SECRET_KEY"]


def test_an_explicit_key_is_used_and_no_file_is_written(instance, monkeypatch):
    monkeypatch.setenv("CBASSESS_SECRET_KEY", "k" * 64)
    assert create_app().config["SECRET_KEY"] == "k" * 64
    assert not (instance / "secret_key").exists()


WORKERS = 6
_WORKER = """
import sys, time
from pathlib import Path
from flask import Flask
from cbassess import _ensure_secret_key
app = Flask("worker", instance_path=sys.argv[1])
app.config["SECRET_KEY"] = None
go = Path(sys.argv[2])
Path(sys.argv[3]).touch()  # imported, waiting at the line
while not go.exists():
    time.sleep(0.001)
_ensure_secret_key(app)
print(app.config["SECRET_KEY"])
"""


def test_workers_starting_together_all_get_the_same_whole_key(tmp_path):
    """gunicorn starts its workers at once; none may fail, or read a half-written file."""
    instance, go, ready = tmp_path / "instance", tmp_path / "go", tmp_path / "ready"
    instance.mkdir()
    ready.mkdir()
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(instance), str(go),
                                 str(ready / str(n))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=PROJECT_ROOT) for n in range(WORKERS)]
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # all of them at once
    results = [worker.communicate(timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * WORKERS, results
    keys = {out.strip() for out, _ in results}
    assert keys == {(instance / "secret_key").read_text()}
    assert len(keys.pop()) == 64
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left


def test_production_refuses_to_start_with_the_default_key(tmp_path):
    for key in (DEFAULT_SECRET, "", None):
        with pytest.raises(RuntimeError, match="Refusing to start in production"):
            create_app({"ENV_NAME": "production", "SECRET_KEY": key,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"})


def test_production_without_a_configured_key_generates_one(instance, monkeypatch):
    monkeypatch.setenv("CBASSESS_ENV_NAME", "production")
    app = create_app()
    assert app.config["SECRET_KEY"] not in (DEFAULT_SECRET, "")
    assert app.config["SECRET_KEY"] == (instance / "secret_key").read_text()


def test_the_key_file_is_ignored_by_git_and_nothing_in_instance_is_tracked():
    git = shutil.which("git")
    if git is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run([git, "check-ignore", "-q", "instance/secret_key"],
                             cwd=PROJECT_ROOT)
    assert ignored.returncode == 0
    tracked = subprocess.run([git, "ls-files", "instance"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True).stdout.split()
    assert set(tracked) <= {"instance/.gitkeep"}
    assert not [p for p in tracked if Path(p).name == "secret_key"]
