"""Files of every accepted type, and of every refused kind, made here as real ones are.

PNG and JPEG by Pillow, PDF by WeasyPrint; the Office and OpenDocument files are zip
archives with the parts that Word, Excel, PowerPoint and LibreOffice write ([Content_Types].xml
and the main part; an uncompressed `mimetype` first, then the manifest and content).
"""

from __future__ import annotations

import io
import zipfile
from functools import cache

from PIL import Image

RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="{target}"/></Relationships>')
CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                 'package.relationships+xml"/><Default Extension="xml" '
                 'ContentType="application/xml"/><Override PartName="/{part}" '
                 'ContentType="{main}"/></Types>')
OOXML = {
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument."
             "wordprocessingml.document.main+xml",
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
             'main"><w:body><w:p><w:r><w:t>Decree 2025-114</w:t></w:r></w:p></w:body>'
             '</w:document>'),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument."
             "spreadsheetml.sheet.main+xml",
             '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheets/></workbook>'),
    "pptx": ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument."
             "presentationml.presentation.main+xml",
             '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/'
             'main"/>'),
}
ODF = {"odt": "application/vnd.oasis.opendocument.text",
       "ods": "application/vnd.oasis.opendocument.spreadsheet"}


def ooxml(kind: str, main: str | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    part, main_type, body = OOXML[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml",
                         CONTENT_TYPES.format(part=part, main=main or main_type))
        archive.writestr("_rels/.rels", RELS.format(target=part))
        archive.writestr(part, body)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def opendocument(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODF[kind],
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml",
                         '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:'
                         'xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
                         f'manifest:media-type="{ODF[kind]}"/></manifest:manifest>')
        archive.writestr("content.xml", '<office:document-content xmlns:office="urn:oasis:'
                                        'names:tc:opendocument:xmlns:office:1.0"/>')
    return buffer.getvalue()


def image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (11, 58, 93)).save(buffer, format=kind)
    return buffer.getvalue()


@cache
def pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Customs Modernisation Strategy</h1>").write_pdf()


def plain_zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A docx-looking archive whose one entry expands from about 200 KB to 200 MB."""
    part, main_type, _ = OOXML["docx"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(part=part, main=main_type))
        with archive.open(part, "w", force_zip64=True) as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(200):
                entry.write(block)
    return buffer.getvalue()


def accepted() -> dict[str, bytes]:
    """One file of each accepted type, by the name it is sent under."""
    return {
        "strategy.pdf": pdf(),
        "notice-board.png": image("PNG"),
        "signing.jpg": image("JPEG"),
        "photo.jpeg": image("JPEG"),
        "decree.docx": ooxml("docx"),
        "budget.xlsx": ooxml("xlsx"),
        "board.pptx": ooxml("pptx"),
        "minutes.odt": opendocument("odt"),
        "calendar.ods": opendocument("ods"),
        "kpis.csv": "indicator,value\nclearance time,4.5 h\nrecettes,12 % ↑\n".encode(),
        "notes.txt": "Réunion du comité de pilotage, 12 mars 2025.\n".encode(),
    }


def refused() -> dict[str, tuple[bytes, str]]:
    """One file of each refused kind: (content, the words the refusal must say)."""
    return {
        "setup.exe": (b"MZ\x90\x00\x03" + b"\0" * 200, "program"),
        "report.pdf.exe": (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "program"),
        "tool.pdf": (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "program"),
        "install.txt": (b"#!/bin/sh\nrm -rf /\n", "program"),
        "invoice.pdf": (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML"),
        "page.html": (b"<html><body>hello</body></html>", "HTML"),
        "logo.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                     b"</svg>", "HTML"),
        "logo.png": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
                     "HTML"),
        "evidence.zip": (plain_zip({"a.pdf": b"%PDF-1.4"}), "archive"),
        "evidence.docx": (plain_zip({"a.pdf": b"%PDF-1.4"}), "archive"),
        "backup.tar.gz": (b"\x1f\x8b\x08\x00" + b"\0" * 100, "archive"),
        "files.7z": (b"7z\xbc\xaf\x27\x1c" + b"\0" * 100, "archive"),
        "files.rar": (b"Rar!\x1a\x07\x00" + b"\0" * 100, "archive"),
        "macro.docx": (ooxml("docx", main="application/vnd.ms-word.document.macroEnabled."
                                          "main+xml", extra={"word/vbaProject.bin": b"\xd0\xcf"}),
                       "macros"),
        "bomb.docx": (zip_bomb(), "cannot be read safely"),
        "strategy.docx": (pdf(), "content, which is PDF"),
        "decree.pdf": (ooxml("docx"), "content, which is Word"),
        "photo.png": (image("JPEG"), "content, which is JPEG"),
        "data.csv": ("nom;montant\nRéunion;12\n".encode("latin-1"), "UTF-8"),
        "old.doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "not of an accepted type"),
        "picture.gif": (b"GIF89a" + b"\0" * 50, "not of an accepted type"),
        "README": (b"plain words", "extension of an accepted type"),
        "empty.pdf": (b"", "is empty"),
    }
