"""Evidence files on disk: what is accepted, and how it is kept. Imports nothing from Flask.

- A file is accepted by its content, never by its name or the browser's word: PDF, PNG,
  JPEG, Office Open XML (docx, xlsx, pptx), OpenDocument (odt, ods), CSV and plain text.
  Its extension must name the type its content has. Office files are zip archives: only
  their table of contents and one small entry are read, with bounded reads, so a zip bomb
  is recognised without being expanded.
- The store keeps each file once, named by its SHA-256, under `root/ab/<sha256>`. A file is
  written to `root/incoming/` first, flushed to disk (fsync), checked, and only then renamed
  into place: a crash leaves at most a partial file in `incoming/`, which nothing refers to.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import secrets
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

CHUNK = 64 * 1024
FILENAME_LIMIT = 255
ORPHAN_GRACE_SECONDS = 3600  # a file kept but not yet committed is not an orphan


@dataclass(frozen=True)
class FileType:
    """One accepted kind of file: what it is called, its content type, its extensions."""

    kind: str
    label: str
    content_type: str
    extensions: tuple[str, ...]


ACCEPTED: tuple[FileType, ...] = (
    FileType("pdf", "PDF", "application/pdf", (".pdf",)),
    FileType("png", "PNG", "image/png", (".png",)),
    FileType("jpeg", "JPEG", "image/jpeg", (".jpg", ".jpeg")),
    FileType("docx", "Word (docx)",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (".docx",)),
    FileType("xlsx", "Excel (xlsx)",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    FileType("pptx", "PowerPoint (pptx)",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation",
             (".pptx",)),
    FileType("odt", "OpenDocument text (odt)", "application/vnd.oasis.opendocument.text",
             (".odt",)),
    FileType("ods", "OpenDocument spreadsheet (ods)",
             "application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
    FileType("csv", "CSV", "text/csv", (".csv",)),
    FileType("text", "plain text", "text/plain", (".txt",)),
)
BY_KIND = {t.kind: t for t in ACCEPTED}
BY_EXTENSION = {ext: t for t in ACCEPTED for ext in t.extensions}
ACCEPT_ATTRIBUTE = ",".join(ext for t in ACCEPTED for ext in t.extensions)


class Refusal(StrEnum):
    """Why a file is refused; the web layer turns each into a sentence."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    EXTENSION = "extension"          # the name's extension is not an accepted one
    EXECUTABLE = "executable"
    MARKUP = "markup"                # HTML, SVG, XML: could run script when opened
    ARCHIVE = "archive"
    MACROS = "macros"                # an Office file with macros
    DAMAGED = "damaged"              # an Office file whose structure cannot be read safely
    ENCODING = "encoding"            # text that is not UTF-8
    UNKNOWN = "unknown"              # content of no accepted type
    MISMATCH = "mismatch"            # accepted content, but the extension says otherwise


class FileRefused(ValueError):
    """A file that is not kept; `reason` says why, `detected` what its content is."""

    def __init__(self, filename: str, reason: Refusal, detected: FileType | None = None,
                 limit: int | None = None) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason
        self.detected = detected
        self.limit = limit


# Zip archives (docx, xlsx, pptx, odt, ods): bounds on what is read of them.
ZIP_ENTRY_LIMIT = 10_000
ZIP_EXPANDED_LIMIT = 1024 * 1024 * 1024       # what all entries would expand to
ZIP_RATIO_LIMIT = 100                         # ... and its ratio to the file's size
ZIP_RATIO_FLOOR = 16 * 1024 * 1024            # below this, any ratio is harmless
CONTENT_TYPES_LIMIT = 1024 * 1024
OOXML_MAIN = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}

_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
                     b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!",
                     b"\x00asm", b"dex\n")
_ARCHIVE_MAGIC = (b"PK\x05\x06", b"PK\x07\x08", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c",
                  b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"MSCF",
                  b"\x60\xea", b"LZIP")
_MARKUP_STARTS = ("<!doctype", "<html", "<head", "<body", "<script", "<svg", "<?xml",
                  "<iframe", "<!--", "<meta", "<object", "<embed", "<xsl", "<a ", "<img")
_MARKUP_ANYWHERE = ("<html", "<script", "<svg", "<!doctype", "<iframe", "javascript:")
_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r\f")


def detect(path: Path) -> FileType:
    """The accepted type of the file's content, or FileRefused saying what it is instead."""
    name = path.name
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head:
        raise FileRefused(name, Refusal.EMPTY)
    if head.startswith(b"%PDF-"):
        return BY_KIND["pdf"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return BY_KIND["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return BY_KIND["jpeg"]
    if head.startswith(b"PK\x03\x04"):
        return _zip_document(path)
    if head.startswith(_EXECUTABLE_MAGIC):
        raise FileRefused(name, Refusal.EXECUTABLE)
    if head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        raise FileRefused(name, Refusal.ARCHIVE)
    return _text(path)


def _zip_document(path: Path) -> FileType:
    """An Office Open XML or OpenDocument file, from the zip's table of contents and one
    small entry; any other zip is an archive. Nothing large is ever expanded."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_ENTRY_LIMIT:
                raise FileRefused(name, Refusal.ARCHIVE)
            expanded = sum(entry.file_size for entry in entries)
            if expanded > ZIP_EXPANDED_LIMIT or (
                    expanded > ZIP_RATIO_FLOOR
                    and expanded > ZIP_RATIO_LIMIT * path.stat().st_size):
                raise FileRefused(name, Refusal.DAMAGED)  # a zip bomb
            names = {entry.filename for entry in entries}
            if any(entry.flag_bits & 0x1 for entry in entries):  # encrypted entries
                raise FileRefused(name, Refusal.DAMAGED)
            if entries and entries[0].filename == "mimetype":
                return _opendocument(archive, entries[0], names, name)
            if "[Content_Types].xml" in names:
                return _office_open_xml(archive, names, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError,
            RuntimeError, ValueError) as exc:
        if isinstance(exc, FileRefused):
            raise
        raise FileRefused(name, Refusal.DAMAGED) from None
    raise FileRefused(name, Refusal.ARCHIVE)


def _bounded_read(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes | None:
    """An entry's content if it expands to at most `limit` bytes (the size in the table of
    contents is not trusted: reading stops one byte past the limit)."""
    if entry.file_size > limit:
        return None
    with archive.open(entry) as handle:
        content = handle.read(limit + 1)
    return None if len(content) > limit else content


def _opendocument(archive: zipfile.ZipFile, first: zipfile.ZipInfo, names: set[str],
                  name: str) -> FileType:
    mimetype = _bounded_read(archive, first, 200)
    kind = ODF_MIMETYPES.get((mimetype or b"").strip())
    if kind is None:
        raise FileRefused(name, Refusal.UNKNOWN)
    if "META-INF/manifest.xml" not in names or "content.xml" not in names:
        raise FileRefused(name, Refusal.DAMAGED)
    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
        raise FileRefused(name, Refusal.MACROS)
    return BY_KIND[kind]


def _office_open_xml(archive: zipfile.ZipFile, names: set[str], name: str) -> FileType:
    content_types = _bounded_read(archive, archive.getinfo("[Content_Types].xml"),
                                  CONTENT_TYPES_LIMIT)
    if content_types is None:
        raise FileRefused(name, Refusal.DAMAGED)
    text = content_types.decode("utf-8", "replace")
    if "macroEnabled" in text or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FileRefused(name, Refusal.MACROS)
    found = [kind for kind, main in OOXML_MAIN.items() if main in text]
    if len(found) != 1:
        raise FileRefused(name, Refusal.UNKNOWN)
    return BY_KIND[found[0]]


def _text(path: Path) -> FileType:
    """Plain text (CSV or not, the extension decides): UTF-8, no control characters but
    tab and line ends, and nothing a browser would take for HTML, SVG or XML."""
    name = path.name
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    opening = ""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                raise FileRefused(name, _binary_or_encoding(chunk)) from None
            if any((c < " " and c not in _TEXT_CONTROLS_ALLOWED) or c == "\x7f" for c in text):
                raise FileRefused(name, Refusal.UNKNOWN)
            if len(opening) < 4096:
                opening += text[:4096]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileRefused(name, Refusal.ENCODING) from None
    start = opening.lstrip("\ufeff \t\r\n\f").lower()
    if start.startswith(_MARKUP_STARTS) or any(m in start[:4096] for m in _MARKUP_ANYWHERE):
        raise FileRefused(name, Refusal.MARKUP)
    return BY_KIND["text"]


def _binary_or_encoding(chunk: bytes) -> Refusal:
    """Text in another encoding (Latin-1, Windows-1252) or not text at all."""
    return Refusal.UNKNOWN if b"\x00" in chunk else Refusal.ENCODING


def check(path: Path, filename: str) -> FileType:
    """The file's type if its content is accepted and its name's extension says the same.

    CSV is plain text whose name ends in .csv: content alone cannot tell them apart.
    """
    extension = os.path.splitext(filename)[1].lower()
    claimed = BY_EXTENSION.get(extension)
    try:
        detected = detect(path)
    except FileRefused as refused:
        refused.filename = filename
        raise
    if claimed is None:
        raise FileRefused(filename, Refusal.EXTENSION, detected)
    if detected.kind == "text" and claimed.kind in ("text", "csv"):
        return claimed
    if detected.kind != claimed.kind:
        raise FileRefused(filename, Refusal.MISMATCH, detected)
    return detected


_BREAKS = frozenset({"Cc", "Zl", "Zp"})            # become a space
_INVISIBLE = frozenset({"Cf", "Cs", "Co", "Cn"})   # are dropped


def clean_filename(raw: str) -> str:
    """The name a file is stored and shown under: its last path part, without control,
    formatting or bidirectional characters (which can disguise an extension), whitespace
    collapsed, at most 255 characters with its extension kept."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(" " if unicodedata.category(c) in _BREAKS else c for c in name
                   if unicodedata.category(c) not in _INVISIBLE)
    name = " ".join(name.split()).strip(" .")
    if len(name) > FILENAME_LIMIT:
        stem, extension = os.path.splitext(name)
        extension = extension if len(extension) <= 16 else ""
        name = stem[:FILENAME_LIMIT - len(extension)].rstrip(" .") + extension
    return name or "file"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form
    (`filename*`), so no character of it can break out of the header."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in ascii_name)
    fallback = " ".join(fallback.split()).strip(" .") or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class FileTooLarge(FileRefused):
    def __init__(self, filename: str, limit: int) -> None:
        super().__init__(filename, Refusal.TOO_LARGE, limit=limit)


@dataclass
class Staged:
    """A file written to `incoming/` and flushed, not yet in the store."""

    path: Path
    sha256: str
    size: int


class EvidenceStore:
    """Files named by their SHA-256 under one folder (the instance folder's `evidence/`, or
    a shared folder that several app servers mount)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.incoming = self.root / "incoming"

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def stage(self, stream: BinaryIO, limit: int, filename: str = "") -> Staged:
        """Copy a stream into `incoming/` (at most `limit` bytes, else FileTooLarge and
        nothing is left), hashing as it goes, and flush it to disk."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        path = self.incoming / f"{secrets.token_hex(16)}.partial"
        digest, size = hashlib.sha256(), 0
        try:
            with path.open("xb") as handle:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FileTooLarge(filename, limit)
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Staged(path, digest.hexdigest(), size)

    def keep(self, staged: Staged) -> Path:
        """Move a staged file into the store under its hash (atomic rename, then the
        folder flushed). A file already stored is kept once: its time is refreshed so a
        cleanup in progress sees it as new."""
        target = self.path_of(staged.sha256)
        if target.is_file():
            staged.path.unlink(missing_ok=True)
            os.utime(target)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        _fsync_folder(target.parent)
        return target

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    def verify(self, sha256: str) -> bool:
        """Whether the stored file is there and still has the content its name says."""
        path = self.path_of(sha256)
        if not path.is_file():
            return False
        return file_sha256(path) == sha256

    def stored(self) -> Iterator[str]:
        """The hash of every file in the store."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for path in sorted(folder.iterdir()):
                    if path.name.startswith(folder.name) and len(path.name) == 64:
                        yield path.name

    def orphans(self, referenced: set[str], grace: float = ORPHAN_GRACE_SECONDS
                ) -> list[Path]:
        """Stored files that nothing refers to, and partial files a crash left behind;
        those younger than `grace` seconds are left alone (an upload may be committing)."""
        now = time.time()
        found = [self.path_of(h) for h in self.stored() if h not in referenced]
        if self.incoming.is_dir():
            found += sorted(self.incoming.iterdir())
        return [p for p in found if now - p.stat().st_mtime >= grace]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX: the folder's entry is data too)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
