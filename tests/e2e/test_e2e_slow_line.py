"""A principle page on a slow line: bytes transferred and round trips, first and repeat visit.

Chromium's own network emulation (DevTools protocol) slows the line; the figures come from
what the browser reports for each request (bytes on the wire, headers included, and whether
it came from its cache). They are written to test-artifacts/slow-line.json and quoted in
docs/PERFORMANCE.md. Counts and sizes are asserted, never times.
"""

from __future__ import annotations

import json
import re

import pytest
from e2e_support import ARTIFACTS, DEMO_ROUND, RESPONDENT, instrument

from cbassess.cli import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

# About a poor 3G line: 400 ms round trip, 400 kbit/s down, 150 kbit/s up.
SLOW_LINE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
             "uploadThroughput": 150_000 / 8}


def sign_in_without_loading_pages(context) -> None:
    """Sign in with the context's request client, so no page (and no static file) has been
    loaded when the visit is measured: the browser's cache starts empty."""
    form = context.request.get("/login").text()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    response = context.request.post("/login", form={
        "email": RESPONDENT, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.ok


def visit(page, cdp, url: str) -> list[dict]:
    """Load `url` and return one record per request: URL, bytes on the wire, cache use."""
    records: dict[str, dict] = {}

    def on_response(event):
        response = event["response"]
        records[event["requestId"]] = {
            "url": response["url"], "status": response["status"],
            "encoding": {k.lower(): v for k, v in response["headers"].items()}.get(
                "content-encoding", ""),
            "cached": bool(response.get("fromDiskCache") or response.get("fromMemoryCache")),
            "bytes": 0}

    from_cache: set[str] = set()

    def on_served_from_cache(event):
        from_cache.add(event["requestId"])

    def on_finished(event):
        if event["requestId"] in records:
            records[event["requestId"]]["bytes"] = event["encodedDataLength"]

    def on_memory_cache(event):
        records["memory:" + event["request"]["url"]] = {
            "url": event["request"]["url"], "status": 200, "encoding": "", "cached": True,
            "bytes": 0}

    cdp.on("Network.requestServedFromCache", on_served_from_cache)
    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    for event_name, handler in (("Network.requestServedFromCache", on_served_from_cache),
                                ("Network.responseReceived", on_response),
                                ("Network.loadingFinished", on_finished)):
        cdp.remove_listener(event_name, handler)
    for request_id in from_cache & set(records):
        records[request_id]["cached"] = True
    # Resources the page took from memory without a request show up in the performance
    # timeline only: count them as cached, with no bytes and no round trip.
    seen = {r["url"] for r in records.values()}
    for entry in page.evaluate(
            "() => performance.getEntriesByType('resource').map(e => e.name)"):
        if entry not in seen:
            on_memory_cache({"request": {"url": entry}})
    return list(records.values())


def test_a_principle_page_on_a_slow_line_first_and_repeat_visit(new_context, live_server):
    context = new_context()
    sign_in_without_loading_pages(context)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_LINE)
    first_key = instrument().principles[0].key
    overview = context.request.get("/assessments").text()
    assessment = re.search(rf'href="/assessments/(\d+)"><bdi>{re.escape(DEMO_ROUND)}<',
                           overview).group(1)
    url = f"/assessments/{assessment}/principles/{first_key}"

    first = visit(page, cdp, url)
    repeat = visit(page, cdp, url)

    def summary(records):
        network = [r for r in records if not r["cached"]]
        return {"requests": len(records), "round_trips": len(network),
                "bytes": sum(r["bytes"] for r in network),
                "files": {r["url"].rsplit("/", 1)[-1]: {
                    "bytes": r["bytes"], "cached": r["cached"], "encoding": r["encoding"]}
                    for r in records}}

    figures = {"line": SLOW_LINE, "first_visit": summary(first),
               "repeat_visit": summary(repeat)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "slow-line.json").write_text(json.dumps(figures, indent=2))

    statics = [r for r in first if "/static/" in r["url"]]
    assert len(statics) == 5, first  # app.css, htmx, app.js, evidence.js, the icon
    for record in statics:
        # Hashed names, sent compressed the first time.
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", record["url"]), record
        assert record["encoding"] == "br", record
    html = next(r for r in first if r["url"].endswith(url))
    assert html["encoding"] == "br", html
    # The repeat visit asks for the page alone: every static file comes from the cache.
    assert figures["repeat_visit"]["round_trips"] == 1, repeat
    assert figures["first_visit"]["round_trips"] == 6
    assert figures["repeat_visit"]["bytes"] < figures["first_visit"]["bytes"] / 3
    # The whole first visit, compressed, stays under 40 KB on the wire.
    assert figures["first_visit"]["bytes"] < 40_000, figures["first_visit"]
