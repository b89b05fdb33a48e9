"""Static files: content-hashed names, a year of caching, compressed, with the app's headers."""

from __future__ import annotations

import gzip
import re

import brotli

from cbassess.static_files import build, hashed_name, is_hashed
from tests.reliability_helpers import build_app


def test_pages_link_static_files_by_content_hashed_names(client):
    page = client.get("/login").text
    names = re.findall(r'(?:href|src)="/static/([^"]+)"', page)
    assert {re.sub(r"\.[0-9a-f]{12}\.", ".", n) for n in names} == {
        "app.css", "htmx-2.0.8.min.js", "app.js", "evidence.js", "favicon.svg"}
    assert all(is_hashed(name) for name in names)


def test_a_hashed_file_is_cached_for_good_and_sent_compressed_with_the_apps_headers(
        client, app):
    url = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', client.get("/login").text)[1]
    with open(app.static_folder + "/app.css", "rb") as handle:
        content = handle.read()
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert "immutable" in response.headers["Cache-Control"]
        assert "max-age=315360000" in response.headers["Cache-Control"]
        assert decode(response.data) == content
        assert len(response.data) < len(content) / 3
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.data == content and "Content-Encoding" not in plain.headers


def test_pages_are_compressed_and_small_fragments_are_not(respondent, a_id):
    page = respondent.client.get(f"/assessments/{a_id}/principles/PW",
                                 headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert "<h1>Political will</h1>" in brotli.decompress(page.data).decode()
    reply = respondent.client.post(
        f"/assessments/{a_id}/answers/PW.1", data={"PW.1-level": "1"},
        headers={"HX-Request": "true", "X-CSRFToken": respondent.token,
                 "Accept-Encoding": "br, gzip"})
    assert reply.status_code == 200
    assert "Content-Encoding" not in reply.headers  # under one packet: nothing to gain


def test_a_changed_file_gets_a_new_name_and_the_old_one_stays(tmp_path):
    source, target = tmp_path / "static", tmp_path / "built"
    source.mkdir()
    (source / "site.css").write_text("body { color: black; }\n" * 50)
    first = build(source, target)["site.css"]
    (source / "site.css").write_text("body { color: navy; }\n" * 50)
    second = build(source, target)["site.css"]
    assert first != second
    assert first == hashed_name("site.css", ("body { color: black; }\n" * 50).encode())
    assert {p.name for p in target.iterdir()} == {
        first, f"{first}.gz", f"{first}.br", second, f"{second}.gz", f"{second}.br"}


def test_hashed_files_carry_strict_transport_security_in_production(database_url):
    app = build_app(database_url, ENV_NAME="production")
    client = app.test_client()
    url = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', client.get("/login").text)[1]
    assert client.get(url).headers["Strict-Transport-Security"] == "max-age=31536000"
