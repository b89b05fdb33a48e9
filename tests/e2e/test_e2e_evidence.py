"""Evidence files in a real browser: choose or drop files, watch each upload's progress, the
list updating in place, remove one, download the other; the same without JavaScript; axe
on each state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_support import (
    RESPONDENT,
    assert_same_document,
    format_violations,
    instrument,
    login,
    mark_document,
    run_axe,
    slug,
    start_round,
    unique,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

FIRST = instrument().principles[0]
KEY, SECOND = FIRST.indicators[0].key, FIRST.indicators[1].key
# Large enough that the upload reports progress before it completes.
MINUTES = ("Minutes of the reform board, 12 March 2025.\n" * 80_000).encode()
PLAN = b"%PDF-1.7\n% customs modernisation strategy\n" + b"0" * 50_000 + b"\n%%EOF\n"

RECORD_PROGRESS = """() => {
  window.uploadProgress = [];
  document.addEventListener("htmx:xhr:progress", (event) => {
    const row = event.target.closest(".upload");
    window.uploadProgress.push({
      name: row ? row.querySelector(".upload__name").textContent : null,
      loaded: event.detail.loaded, total: event.detail.total});
  });
}"""


def files_region(page: Page, key: str):
    return page.locator(f"#files-{slug(key)}")


def open_principle(page: Page) -> int:
    login(page, RESPONDENT)
    assessment_id = start_round(page, unique("Evidence"))
    page.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    return assessment_id


def slow_uploads(page: Page, bytes_per_second: int) -> None:
    """Chromium's own network throttling, so an upload takes long enough to show progress."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": bytes_per_second})


def test_attach_two_with_progress_remove_one_download_the_other(page: Page):
    open_principle(page)
    mark_document(page)
    page.evaluate(RECORD_PROGRESS)
    slow_uploads(page, 1_000_000)
    page.get_by_label("Attach files").first.set_input_files([
        {"name": "minutes.txt", "mimeType": "text/plain", "buffer": MINUTES},
        {"name": "plan.pdf", "mimeType": "application/pdf", "buffer": PLAN},
    ])
    uploads = page.locator(f"#evidence-{slug(KEY)} .upload")
    expect(uploads).to_have_count(2)
    # A bar part-way: the larger file is still on its way.
    page.wait_for_function("""() => [...document.querySelectorAll('.upload progress')]
        .some((bar) => bar.value > 0 && bar.value < 100)""")
    expect(uploads.nth(0)).to_contain_text("Attached")
    expect(uploads.nth(1)).to_contain_text("Attached")
    listed = files_region(page, KEY)
    expect(listed.locator(".evidence__file")).to_have_count(2)
    expect(listed).to_contain_text("minutes.txt")
    expect(listed).to_contain_text("plan.pdf")
    expect(listed).to_contain_text("attached by Amina Diallo")
    assert_same_document(page)  # updated in place, no page load

    progress = page.evaluate("window.uploadProgress")
    for name, size in (("minutes.txt", len(MINUTES)), ("plan.pdf", len(PLAN))):
        events = [p for p in progress if p["name"] == name]
        assert events, f"no progress events for {name}"
        assert max(p["total"] for p in events) >= size
        assert any(p["loaded"] == p["total"] >= size for p in events)
    assert any(0 < p["loaded"] < p["total"] for p in progress if p["name"] == "minutes.txt")

    listed.get_by_role("button", name="Remove minutes.txt").click()
    expect(listed).to_contain_text("“minutes.txt” removed")
    expect(listed.locator(".evidence__file")).to_have_count(1)
    assert_same_document(page)

    with page.expect_download() as download:
        listed.get_by_role("link", name="plan.pdf").click()
    assert download.value.suggested_filename == "plan.pdf"
    assert Path(download.value.path()).read_bytes() == PLAN


def test_dropping_a_file_attaches_it(page: Page):
    open_principle(page)
    zone = page.locator(f"#evidence-{slug(SECOND)} [data-dropzone]")
    data = page.evaluate_handle("""() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["a,b\\n1,2\\n"], "kpis.csv", {type: "text/csv"}));
      return transfer;
    }""")
    zone.dispatch_event("dragover", {"dataTransfer": data})
    expect(zone).to_have_class(re.compile("evidence__attach--over"))
    zone.dispatch_event("drop", {"dataTransfer": data})
    expect(files_region(page, SECOND)).to_contain_text("kpis.csv")


def test_a_refused_file_says_why_beside_it(page: Page):
    open_principle(page)
    page.get_by_label("Attach files").first.set_input_files(
        {"name": "logo.svg", "mimeType": "image/svg+xml",
         "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"})
    row = page.locator(f"#evidence-{slug(KEY)} .upload")
    expect(row.get_by_role("alert")).to_contain_text("contains HTML, SVG or XML")
    expect(files_region(page, KEY)).to_contain_text("No files attached.")


def test_without_javascript_the_plain_form_attaches(new_context):
    page = new_context(java_script_enabled=False).new_page()
    open_principle(page)
    page.get_by_label("Attach files").first.set_input_files(
        [{"name": "decree.txt", "mimeType": "text/plain", "buffer": b"Decree 2025-114"},
         {"name": "plan.pdf", "mimeType": "application/pdf", "buffer": PLAN}])
    page.locator(f"#evidence-{slug(KEY)}").get_by_role("button", name="Upload").click()
    expect(page.locator(".flash--success")).to_contain_text("2 files attached to PW.1.")
    expect(files_region(page, KEY)).to_contain_text("decree.txt")
    page.locator(f"#files-{slug(KEY)}").get_by_role("button", name="Remove decree.txt").click()
    expect(page.locator(".flash--success")).to_contain_text("“decree.txt” removed")
    expect(files_region(page, KEY).locator(".evidence__file")).to_have_count(1)


def test_axe_on_the_evidence_states(new_context):
    page = new_context(bypass_csp=True).new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    assessment_id = open_principle(page)
    failures = []

    def check(label: str) -> None:
        violations = run_axe(page, label)
        if violations:
            failures.append(f"== {label}\n{format_violations(violations)}")

    page.get_by_label("Attach files").first.set_input_files(
        {"name": "plan.pdf", "mimeType": "application/pdf", "buffer": PLAN})
    expect(files_region(page, KEY)).to_contain_text("plan.pdf")
    check("principle, a file attached")
    page.get_by_label("Attach files").first.set_input_files(
        {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + bytes(99)})
    expect(page.locator(f"#evidence-{slug(KEY)} .upload").get_by_role("alert")).to_be_visible()
    check("principle, a file refused")
    page.goto(f"/assessments/{assessment_id}/answers/{KEY}/history")
    check("history with files")
    assert not failures, "\n".join(failures)
