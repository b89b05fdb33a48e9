"""Bad instrument files at the command line: a clear error, and the database left as it was.

tests/test_instrument.py checks each validation rule on the loader; here the same kinds of
file go through `flask --app cbassess instrument import` against a real database, which must
hold exactly the same rows afterwards.
"""

from __future__ import annotations

import pytest

from tests.conftest import DATA
from tests.reliability_helpers import database_rows

VALID = (DATA / "other-framework.yaml").read_text(encoding="utf-8")


def _bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n" + VALID.replace("\ntitle:", "\ntitle: *a9\nold_title:", 1)


BAD_FILES = {
    "malformed YAML": (VALID.replace("principles:", "principles: [unclosed", 1),
                       "is not valid YAML"),
    "a list at the top": ("- key: x\n- title: y\n", "must be a mapping"),
    "principles under another name": (VALID.replace("\nprinciples:", "\nchapters:", 1),
                                      "principles: is missing"),
    "python/object/apply": ('!!python/object/apply:os.system ["touch {marker}"]\n',
                            "is not valid YAML"),
    "python/object/apply in a field": (
        VALID.replace("title:", 'title: !!python/object/apply:os.system ["touch {marker}"]\n'
                      "old_title:", 1), "is not valid YAML"),
    "python/object/new": ("key: !!python/object/new:subprocess.Popen [[touch, '{marker}']]\n",
                          "is not valid YAML"),
    "python/name": ("key: !!python/name:os.system\n", "is not valid YAML"),
    "aliases that expand a billion times": (_bomb(), "unknown field"),
    "too large": (VALID + "#" * 1_000_001, "the limit is 1,000,000"),
}


def _import_refused(app, runner, path) -> str:
    """Import `path`: it must fail (exit 1) and leave every row as it was; return the output."""
    before = database_rows(app)
    result = runner.invoke(args=["instrument", "import", str(path)])
    assert result.exit_code == 1
    assert database_rows(app) == before
    return result.output


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_instrument_file_is_refused_with_a_clear_error_and_imports_nothing(
        app, runner, tmp_path, case):
    marker = tmp_path / "constructed"
    text, message = BAD_FILES[case]
    path = tmp_path / "instrument.yaml"
    path.write_text(text.replace("{marker}", str(marker)), encoding="utf-8")
    output = _import_refused(app, runner, path)
    assert output.startswith(f"Error: {path}")
    assert message in output
    assert "Traceback" not in output
    assert not marker.exists()


def test_binary_file_is_refused_as_not_utf8_and_imports_nothing(app, runner, tmp_path):
    path = tmp_path / "instrument.yaml"
    path.write_bytes(bytes(range(256)) * 10)
    assert "is not valid UTF-8 text" in _import_refused(app, runner, path)


def test_huge_file_is_refused_before_it_is_read_whole(app, runner, tmp_path):
    """A sparse 4 GB file: reading it whole would take gigabytes of memory."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(4 * 1024 ** 3)
    assert "is 4,294,967,296 bytes; the limit is 1,000,000" in _import_refused(app, runner, path)


def test_a_valid_file_after_refused_ones_imports_normally(app, runner, tmp_path):
    refused = tmp_path / "bad.yaml"
    refused.write_text("key: [", encoding="utf-8")
    runner.invoke(args=["instrument", "import", str(refused)])
    result = runner.invoke(args=["instrument", "import", str(DATA / "other-framework.yaml")])
    assert result.exit_code == 0
    assert "Imported trade-facilitation-mini" in result.output
