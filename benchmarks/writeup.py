"""The figures of a run judged against the goals of issue 4, and written as Markdown.

`write` replaces the part of docs/PERFORMANCE.md between the two markers below (or appends
it), so the hand-written analysis around the figures stays as it is.
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- benchmark figures: begin (written by benchmarks/run.py) -->"
END = "<!-- benchmark figures: end -->"


def goals(figures: dict) -> list[dict]:
    """Each goal with the measured value and whether it is met."""
    autosave, render = figures["autosave"], figures["render"]
    economy, pdf, scale = figures["economy"], figures["pdf"], figures["scale"]
    first_scale = scale["by_multiplier"][next(iter(scale["by_multiplier"]))]
    result = []

    def add(name: str, value, goal: str, met: bool) -> None:
        result.append({"name": name, "value": value, "goal": goal, "met": bool(met)})

    for connections, ratio in autosave["ratio"].items():
        add(f"autosave throughput / bare, {connections} connections", ratio, "≥ 0.6",
            ratio is not None and ratio >= 0.6)
    p99 = autosave["app"]["16"]["p99_ms"]
    add("autosave p99, 16 connections", f"{p99} ms", "< 50 ms", p99 < 50)
    errors = sum(r["errors"] for r in autosave["app"].values())
    add("autosave errors", errors, "0", errors == 0)
    if "postgresql" in figures:
        postgresql = figures["postgresql"]
        for connections, ratio in postgresql["ratio"].items():
            sqlite_ratio = autosave["ratio"].get(connections)
            add(f"PostgreSQL: autosave throughput / bare, {connections} connections", ratio,
                f"≥ {sqlite_ratio} (SQLite's, this run)",
                None not in (ratio, sqlite_ratio) and ratio >= sqlite_ratio)
        # Req/s moves with whatever else the machine runs; CPU per request much less.
        for connections, ratio in postgresql["cpu_ratio"].items():
            sqlite_ratio = autosave["cpu_ratio"].get(connections)
            add(f"PostgreSQL: CPU per request bare/app (servers and database), {connections} "
                "connections", ratio, f"≥ {sqlite_ratio} (SQLite's, this run)",
                None not in (ratio, sqlite_ratio) and ratio >= sqlite_ratio)
        errors = sum(r["errors"] for r in postgresql["app"].values())
        add("PostgreSQL: autosave errors", errors, "0", errors == 0)
    for name, figure in render.items():
        add(f"{name} page render p50", f"{figure['p50_ms']} ms", "< 10 ms",
            figure["p50_ms"] < 10)
    add("autosave reply size", f"{economy['autosave_bytes']} B", "< 2048 B",
        economy["autosave_bytes"] < 2048)
    add("autosave reply / principle page", f"{economy['percent']} %", "< 5 %",
        economy["percent"] < 5)
    add("largest autosave reply (stepper entry included)",
        f"{economy['largest_autosave_bytes']} B, {economy['largest_percent']} %",
        "< 2048 B and < 5 %",
        economy["largest_autosave_bytes"] < 2048 and economy["largest_percent"] < 5)
    add("PDF first render", f"{pdf['first_s']} s", "< 2 s", pdf["first_s"] < 2)
    add("PDF cached render", f"{pdf['cached_ms']} ms", "< 50 ms", pdf["cached_ms"] < 50)
    add("PDF peak memory", f"{pdf['peak_rss_mb']} MB", "< 300 MB", pdf["peak_rss_mb"] < 300)
    for name in ("facilitator_list", "results", "dashboard", "dashboard_filtered"):
        value = first_scale[name]["p50_ms"]
        add(f"{name.replace('_', ' ')} p50 at {scale['base_administrations']:,} "
            "administrations", f"{value} ms", "< 100 ms", value < 100)
    review = first_scale["review_save"]
    add(f"review save under load ({review['clients']} facilitators at once) p99",
        f"{review.get('p99_ms')} ms, {review['errors']} errors", "< 500 ms, no errors",
        review.get("p99_ms") is not None and review["p99_ms"] < 500 and not review["errors"])
    add("SQL statements per page independent of data size", scale["queries_constant"],
        "True", scale["queries_constant"])
    return result


def _row(cells) -> str:
    """One line of a Markdown table (an empty cell as `| |`)."""
    return "|" + "".join(f" {cell} |" if cell != "" else " |" for cell in cells)


def _table(columns: list[str], rows) -> list[str]:
    """A Markdown table: the header, its rule, then one line per row (a list of cells)."""
    return [_row(columns), "|" + "---|" * len(columns), *(_row(row) for row in rows)]


def _load_cells(label: str, r: dict, database_cpu: bool = False) -> list:
    kinds = ", ".join(f"{k} {v}" for k, v in r.get("error_kinds", {}).items())
    return [label, r["connections"], f"{r['rps']:.0f}", r["p50_ms"], r["p90_ms"], r["p99_ms"],
            f"{r['errors']}{f' ({kinds})' if kinds else ''}", r.get("server_cpu_ms", "–"),
            *([r.get("database_cpu_ms", "–")] if database_cpu else [])]


def _autosave_section(autosave: dict) -> list[str]:
    """The load table, the rounds table and the ratios of one autosave measurement.

    On a database server, its CPU per request is a column of its own, and the CPU ratio
    is of the app server's and the database's together.
    """
    database_cpu = "database_cpu_ms" in next(iter(autosave["app"].values()))
    load_rows = []
    for connections in autosave["app"]:
        for label, kind in (("cbassess autosave", "app"), ("bare upsert", "bare")):
            load_rows.append(_load_cells(label, autosave[kind][connections], database_cpu))
    if "app_paced" in autosave:
        paced = autosave["app_paced"]
        load_rows.append(_load_cells(f"cbassess autosave, paced ({paced['pause_ms']} ms pause "
                                     "per connection)", paced, database_cpu))
    lines = _table(["server", "connections", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors",
                    "server CPU ms/request",
                    *(["database CPU ms/request"] if database_cpu else [])], load_rows)

    def cpu(run: dict) -> str:
        if database_cpu:
            return f"{run['server_cpu_ms']} + {run['database_cpu_ms']}"
        return str(run["server_cpu_ms"])

    lines += ["", "Each figure above is of the rounds together (req/s over their total time, "
              "latency percentiles the median of the rounds'); the rounds, each an app run "
              "and a bare run one after the other:", "",
              *_table(["connections", "round", "app req/s", "bare req/s", "app/bare",
                       "app p99 ms",
                       "CPU ms/request (server + database), app" if database_cpu
                       else "server CPU ms/request, app", "bare"],
                      ([connections, number, f"{run['app']['rps']:.0f}",
                        f"{run['bare']['rps']:.0f}", run["ratio"], run["app"]["p99_ms"],
                        cpu(run["app"]), cpu(run["bare"])]
                       for connections, rounds in autosave.get("rounds", {}).items()
                       for number, run in enumerate(rounds, 1)))]
    lines.append("")
    lines.append("Throughput app/bare (the median of the rounds' ratios): " + ", ".join(
        f"{v} at {k} connections" for k, v in autosave["ratio"].items()) + ". "
        + ("CPU per request of the server and the database together" if database_cpu
           else "Server CPU per request")
        + ", bare/app (what the throughput ratio tends to on a machine busy with "
        "nothing else, as both are CPU-bound): " + ", ".join(
        f"{v} at {k} connections" for k, v in autosave["cpu_ratio"].items() if v is not None)
        + ". Revisions written during the measured runs: " + ", ".join(
        f"{r['revisions_written']:,} for {r['requests']:,} saves"
        for r in autosave["app"].values()) + "."
        + (" Load average (1 min) at the start of this step {:.2f}, at its end {:.2f}.".format(
            *autosave["load_average"]) if "load_average" in autosave else ""))
    return lines


def _scale_cells(label: str, r: dict) -> list:
    d = r["data"]
    return [label, f"{d['organisations']:,}", f"{d['assessments']:,}", f"{d['answers']:,}",
            f"{d['answer_revisions']:,}", f"{d['database_mb']:,}",
            *(f"{r[name]['p50_ms']} / {r[name]['p99_ms']}"
              for name in ("facilitator_list", "facilitator_list_last", "admin_list", "results")),
            f"{r['autosave_16']['rps']:.0f}", r["autosave_16"]["p99_ms"]]


def markdown(figures: dict) -> str:
    """The figures as Markdown tables."""
    m, autosave = figures["machine"], figures["autosave"]
    setup = autosave["worker_setup"]
    lines = [
        BEGIN,
        f"Run `{figures['profile']}` of {figures['started']}, {figures['seconds']} s in all. "
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['system']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}; load from {m['load_generator']}. "
        f"gunicorn: {setup['workers']} × {setup['worker_class']}"
        f"{', ' + str(setup['threads']) + ' threads each' if setup.get('threads') else ''}. "
        f"Load average (1 min) before the run {m['load_average_before']:.2f}, after "
        f"{m.get('load_average_after', 0):.2f}: other work on the machine shows there.",
        "",
        "### Goals",
        *_table(["", "measured", "goal", ""],
                ([g["name"], g["value"], g["goal"], "met" if g["met"] else "**not met**"]
                 for g in figures["goals"])),
    ]
    lines += ["", "### 1. Autosave under load (wrk, 2 threads, keep-alive)",
              *_autosave_section(autosave)]
    if "postgresql" in figures:
        postgresql = figures["postgresql"]
        data = postgresql["data"]
        lines += ["", "### 1b. Autosave under load on PostgreSQL",
                  f"{postgresql['server_version']}, a cluster of the run's own on loopback; the "
                  "same load and rounds as in 1, the app and the bare upsert both on "
                  "PostgreSQL through psycopg 3. The database held the seeded data "
                  f"({data['organisations']:,} administrations, {data['assessments']:,} "
                  f"assessments, {data['answers']:,} answers at the end).", "",
                  *_autosave_section(postgresql)]
    lines += ["", "### 2. Server-side render time (in-process, Flask test client)",
              *_table(["page", "requests", "p50 ms", "p99 ms", "mean ms", "CPU p50 ms"],
                      ([name, r["n"], r["p50_ms"], r["p99_ms"], r["mean_ms"],
                        r.get("cpu_p50_ms", "–")] for name, r in figures["render"].items()))]
    e = figures["economy"]
    lines += ["", "### 3. htmx economy",
              f"An autosave reply (new text or level of an answered indicator: status, version, "
              f"the principle's progress) is {e['autosave_bytes']:,} bytes against "
              f"{e['page_bytes']:,} for the full principle page: {e['percent']} %. A save that "
              f"changes how many indicators are answered also carries the stepper total and entry: "
              f"{e['largest_autosave_bytes']:,} bytes, {e['largest_percent']} %."]
    p = figures["pdf"]
    changed = f"{p['changed_s']} s" if p.get("changed_s") is not None else "not measured"
    lines += ["", "### 4. PDF report (completed assessment, 1 KB evidence per indicator)",
              *_table(["first render (new process)", "after a change (warm process)",
                       "cached p50", "peak memory", "before the first render", "size", "pages"],
                      [[f"{p['first_s']} s", changed, f"{p['cached_ms']} ms",
                        f"{p['peak_rss_mb']} MB", f"{p['rss_before_mb']} MB",
                        f"{p['pdf_bytes'] // 1024} KB", p["pages"]]])]
    scale = figures["scale"]
    by_multiplier = scale["by_multiplier"]
    lines += ["", f"### 5 and 6. Scale ({scale['base_administrations']:,} administrations × 3 "
              "rounds at 1×; pages over HTTP against gunicorn, p50 / p99 ms)",
              *_table(["data", "administrations", "assessments", "answers", "revisions",
                       "DB MB", "facilitator list, page 1", "facilitator list, last page",
                       "admin list", "results", "autosave c=16 req/s", "p99 ms"],
                      (_scale_cells(label, r) for label, r in by_multiplier.items()))]
    names = list(next(iter(by_multiplier.values()))["queries"])
    lines += ["", "SQL statements per page (counted on the engine):", "",
              *_table(["data", *names],
                      ([label, *(r["queries"][n] for n in names)]
                       for label, r in by_multiplier.items()))]
    lines += ["", END]
    return "\n".join(lines)


def write(path: Path, figures: dict) -> None:
    """Put the figures between the markers of `path` (appended when it has none)."""
    section = markdown(figures)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    if BEGIN in text and END in text:
        before = text[:text.index(BEGIN)]
        after = text[text.index(END) + len(END):]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
