"""The evidence store on its own (no app): content checks on hostile archives, the store's
atomic writes and its orphan listing."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from cbassess.evidence_store import (
    ZIP_ENTRY_LIMIT,
    EvidenceStore,
    FileRefused,
    FileTooLarge,
    Refusal,
    check,
)
from tests import evidence_samples as samples


def written(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def refusal(tmp_path: Path, name: str, content: bytes) -> Refusal:
    with pytest.raises(FileRefused) as refused:
        check(written(tmp_path, name, content), name)
    return refused.value.reason


def lying_content_types(claimed: int, actual: bytes) -> bytes:
    """A docx whose [Content_Types].xml says it expands to `claimed` bytes, but holds more."""
    buffer = io.BytesIO(samples.ooxml("docx"))
    archive = zipfile.ZipFile(buffer)
    parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts["[Content_Types].xml"] = actual
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in parts.items():
            out.writestr(name, content)
    data = bytearray(rebuilt.getvalue())
    # Rewrite the uncompressed size of [Content_Types].xml in both headers.
    name = b"[Content_Types].xml"
    local = data.find(b"PK\x03\x04")
    while local != -1:
        if data[local + 30:local + 30 + len(name)] == name:
            struct.pack_into("<I", data, local + 22, claimed)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        if data[central + 46:central + 46 + len(name)] == name:
            struct.pack_into("<I", data, central + 24, claimed)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def test_an_entry_larger_than_it_claims_is_read_no_further_than_the_limit(tmp_path):
    huge = b"<Types>" + b" " * (3 * 1024 * 1024) + b"</Types>"
    reason = refusal(tmp_path, "liar.docx", lying_content_types(100, huge))
    assert reason == Refusal.DAMAGED


def test_an_archive_with_too_many_entries_is_an_archive(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for n in range(ZIP_ENTRY_LIMIT + 1):
            archive.writestr(f"word/{n}.xml", "")
    assert refusal(tmp_path, "many.docx", buffer.getvalue()) == Refusal.ARCHIVE


def test_a_truncated_office_file_is_damaged(tmp_path):
    content = samples.ooxml("xlsx")
    assert refusal(tmp_path, "cut.xlsx", content[: len(content) // 2]) == Refusal.DAMAGED


def test_an_opendocument_of_another_kind_is_not_accepted(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"),
                         "application/vnd.oasis.opendocument.presentation")
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
        archive.writestr("content.xml", "<content/>")
    assert refusal(tmp_path, "slides.odp", buffer.getvalue()) == Refusal.UNKNOWN


def test_a_png_whose_compressed_data_is_hostile_is_still_only_a_png(tmp_path):
    """Images are not decoded at all: a decompression bomb inside a PNG costs nothing here
    (it is served as a download, never rendered by the server)."""
    bomb = zlib.compress(b"\0" * (50 * 1024 * 1024), 9)
    content = samples.image("PNG")[:33] + struct.pack(">I", len(bomb)) + b"IDAT" + bomb
    assert check(written(tmp_path, "huge.png", content), "huge.png").kind == "png"


def test_the_store_writes_through_incoming_and_keeps_each_content_once(tmp_path):
    store = EvidenceStore(tmp_path / "store")
    first = store.stage(io.BytesIO(b"decree"), 100)
    assert first.path.parent == store.incoming and first.path.read_bytes() == b"decree"
    kept = store.keep(first)
    again = store.keep(store.stage(io.BytesIO(b"decree"), 100))
    assert kept == again == store.path_of(first.sha256)
    assert list(store.stored()) == [first.sha256]
    assert list(store.incoming.iterdir()) == []


def test_a_stream_over_the_limit_leaves_nothing(tmp_path):
    store = EvidenceStore(tmp_path / "store")
    with pytest.raises(FileTooLarge):
        store.stage(io.BytesIO(b"x" * 101), 100)
    assert list(store.incoming.iterdir()) == [] and list(store.stored()) == []


def test_orphans_respect_the_grace_period(tmp_path):
    store = EvidenceStore(tmp_path / "store")
    referenced = store.stage(io.BytesIO(b"referenced"), 100)
    lonely = store.stage(io.BytesIO(b"lonely"), 100)
    store.keep(referenced)
    store.keep(lonely)
    assert store.orphans({referenced.sha256}) == []  # both are new
    old = os.path.getmtime(store.path_of(lonely.sha256)) - 7200
    os.utime(store.path_of(lonely.sha256), (old, old))
    assert store.orphans({referenced.sha256}) == [store.path_of(lonely.sha256)]


def test_a_name_that_is_not_a_hash_never_becomes_a_path(tmp_path):
    store = EvidenceStore(tmp_path / "store")
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            store.path_of(bad)
