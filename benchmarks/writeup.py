"""The figures of a run judged against the goals (issues 4, 12 and 14), written as Markdown.

`write` replaces the part of docs/PERFORMANCE.md between the two markers below (or appends
it), so the hand-written analysis around the figures stays as it is; a run of some steps
only (`--steps`) has markers of its own, beside the full run's.
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- benchmark figures: begin (written by benchmarks/run.py) -->"
END = "<!-- benchmark figures: end -->"


# PDF goals (issues 4 and 14), per case of the PDF step: (render, cached, peak memory).
PDF_GOALS = {"28 indicators, 1 KB evidence each": (2.0, 50, 300),
             "100 indicators, 5 KB evidence each": (8.0, None, 400)}
DASHBOARD_PAGES = ("dashboard", "dashboard_filtered", "dashboard_validated",
                   "dashboard_claimed_asc", "dashboard_last")


def markers(figures: dict) -> tuple[str, str]:
    """The markers of a run's section: a run of some steps only has its own, so that it
    stands beside the full run's figures instead of replacing them."""
    steps = figures.get("steps")
    if not steps or set(steps) >= {"autosave", "postgresql", "render", "pdf", "scale"}:
        return BEGIN, END
    name = f"{', '.join(steps)}; sizes {', '.join(figures.get('sizes', []))}"
    return (f"<!-- benchmark figures ({name}): begin (written by benchmarks/run.py) -->",
            f"<!-- benchmark figures ({name}): end -->")


def goals(figures: dict) -> list[dict]:
    """Each goal with the measured value and whether it is met (of the steps run)."""
    result = []

    def add(name: str, value, goal: str, met: bool) -> None:
        result.append({"name": name, "value": value, "goal": goal, "met": bool(met)})

    if "autosave" in figures:
        _autosave_goals(figures, add)
    if "render" in figures:
        for name, figure in figures["render"].items():
            add(f"{name} page render p50", f"{figure['p50_ms']} ms", "< 10 ms",
                figure["p50_ms"] < 10)
        economy = figures["economy"]
        add("autosave reply size", f"{economy['autosave_bytes']} B", "< 2048 B",
            economy["autosave_bytes"] < 2048)
        add("autosave reply / principle page", f"{economy['percent']} %", "< 5 %",
            economy["percent"] < 5)
        add("largest autosave reply (stepper entry included)",
            f"{economy['largest_autosave_bytes']} B, {economy['largest_percent']} %",
            "< 2048 B and < 5 %",
            economy["largest_autosave_bytes"] < 2048 and economy["largest_percent"] < 5)
    if "pdf" in figures:
        for case, pdf in figures["pdf"].items():
            render_goal, cached_goal, memory_goal = PDF_GOALS.get(case, (None, None, None))
            if render_goal is not None:
                add(f"PDF, {case}: render in a warm worker", f"{pdf['warm_s']} s",
                    f"< {render_goal:g} s", pdf["warm_s"] < render_goal)
                add(f"PDF, {case}: first render in a new process", f"{pdf['first_s']} s",
                    f"< {render_goal:g} s", pdf["first_s"] < render_goal)
            if cached_goal is not None:
                add(f"PDF, {case}: unchanged, from the cache", f"{pdf['cached_ms']} ms",
                    f"< {cached_goal} ms", pdf["cached_ms"] < cached_goal)
            if memory_goal is not None:
                add(f"PDF, {case}: peak memory of the rendering process",
                    f"{pdf['peak_rss_mb']} MB", f"< {memory_goal} MB",
                    pdf["peak_rss_mb"] < memory_goal)
    if "scale" in figures:
        scale = figures["scale"]
        first_scale = scale["by_multiplier"][next(iter(scale["by_multiplier"]))]
        assessments = first_scale["data"]["assessments"]
        for name in ("facilitator_list", "results", *DASHBOARD_PAGES):
            if name not in first_scale:
                continue
            value = first_scale[name]["p50_ms"]
            add(f"{name.replace('_', ' ')} p50 at {scale['base_administrations']:,} "
                f"administrations ({assessments:,} assessments)", f"{value} ms", "< 100 ms",
                value < 100)
        review = first_scale["review_save"]
        add(f"review save under load ({review['clients']} facilitators at once) p99",
            f"{review.get('p99_ms')} ms, {review['errors']} errors", "< 500 ms, no errors",
            review.get("p99_ms") is not None and review["p99_ms"] < 500
            and not review["errors"])
        add("SQL statements per page independent of data size", scale["queries_constant"],
            "True", scale["queries_constant"])
    return result


def _autosave_goals(figures: dict, add) -> None:
    autosave = figures["autosave"]
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
    """The figures of the steps run, as Markdown tables."""
    m = figures["machine"]
    begin, end = markers(figures)
    setup = figures.get("autosave", {}).get("worker_setup")
    lines = [
        begin,
        f"Run `{figures['profile']}` of {figures['started']}, {figures['seconds']} s in all"
        + (f" (steps: {', '.join(figures['steps'])}; sizes: {', '.join(figures['sizes'])})"
           if markers(figures)[0] != BEGIN else "") + ". "
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['system']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}; load from {m['load_generator']}. "
        + (f"gunicorn: {setup['workers']} × {setup['worker_class']}"
           f"{', ' + str(setup['threads']) + ' threads each' if setup.get('threads') else ''}. "
           if setup else "")
        + f"Load average (1 min) before the run {m['load_average_before']:.2f}, after "
        f"{m.get('load_average_after', 0):.2f}: other work on the machine shows there.",
        "",
        "### Goals",
        *_table(["", "measured", "goal", ""],
                ([g["name"], g["value"], g["goal"], "met" if g["met"] else "**not met**"]
                 for g in figures["goals"])),
    ]
    if "autosave" in figures:
        lines += ["", "### 1. Autosave under load (wrk, 2 threads, keep-alive)",
                  *_autosave_section(figures["autosave"])]
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
    if "render" in figures:
        lines += ["", "### 2. Server-side render time (in-process, Flask test client)",
                  *_table(["page", "requests", "p50 ms", "p99 ms", "mean ms", "CPU p50 ms"],
                          ([name, r["n"], r["p50_ms"], r["p99_ms"], r["mean_ms"],
                            r.get("cpu_p50_ms", "–")] for name, r in figures["render"].items()))]
        e = figures["economy"]
        lines += ["", "### 3. htmx economy",
                  f"An autosave reply (new text or level of an answered indicator: status, "
                  f"version, the principle's progress) is {e['autosave_bytes']:,} bytes against "
                  f"{e['page_bytes']:,} for the full principle page: {e['percent']} %. A save "
                  f"that changes how many indicators are answered also carries the stepper "
                  f"total and entry: {e['largest_autosave_bytes']:,} bytes, "
                  f"{e['largest_percent']} %."]
    if "pdf" in figures:
        lines += ["", "### 4. PDF report (full report of a completed assessment)",
                  "Elapsed time, with the rendering process's CPU time in brackets (on a "
                  "busy machine the difference is time spent waiting for a core).", "",
                  *_table(["case", "first render (new process)", "warm worker",
                           "after a change (warm)", "cached p50 / max",
                           "peak memory of the rendering process", "of which before the render",
                           "size", "pages", "load average (1 min) before → after"],
                          ([case, _seconds(p, "first"), _seconds(p, "warm"),
                            _seconds(p, "changed"),
                            f"{p['cached_ms']} / {p['cached_max_ms']} ms"
                            + (f" (CPU {p['cached_cpu_ms']} ms)" if "cached_cpu_ms" in p
                               else ""),
                            f"{p['peak_rss_mb']} MB", f"{p['peak_before_render_mb']} MB",
                            f"{p['pdf_bytes'] // 1024} KB", p["pages"],
                            " → ".join(f"{v:.2f}" for v in p.get("load_average", [])) or "–"]
                           for case, p in figures["pdf"].items()))]
    if "scale" in figures:
        lines += _scale_section(figures["scale"])
    lines += ["", end]
    return "\n".join(lines)


def _seconds(pdf: dict, name: str) -> str:
    """An elapsed time with its CPU time, "2.1 s (CPU 1.4 s)"."""
    if pdf.get(f"{name}_s") is None:
        return "–"
    cpu = pdf.get(f"{name}_cpu_s")
    return f"{pdf[f'{name}_s']} s" + (f" (CPU {cpu} s)" if cpu is not None else "")


def _scale_section(scale: dict) -> list[str]:
    by_multiplier = scale["by_multiplier"]
    lines = ["", f"### 5 and 6. Scale ({scale['base_administrations']:,} administrations × 3 "
             "rounds at 1×; pages over HTTP against gunicorn, p50 / p99 ms)",
             *_table(["data", "administrations", "assessments", "answers", "revisions",
                      "DB MB", "facilitator list, page 1", "facilitator list, last page",
                      "admin list", "results", "autosave c=16 req/s", "p99 ms"],
                     (_scale_cells(label, r) for label, r in by_multiplier.items()))]
    dashboards = [name for name in DASHBOARD_PAGES
                  if name in next(iter(by_multiplier.values()))]
    titles = {"dashboard": "dashboard", "dashboard_filtered": "filtered, searched, by queries",
              "dashboard_validated": "by validated average",
              "dashboard_claimed_asc": "by claimed average, ascending",
              "dashboard_last": "by validated average, last page"}
    lines += ["", "The facilitator's dashboard (every assessment of 2,000 administrations "
              "visible to the facilitator at each size) and review saves under load "
              "(facilitators saving reviews at once, each on an assessment of their own, "
              "p50 / p99 ms), with the load average (1 min) while the pages were timed:", "",
              *_table(["data", *(titles[name] for name in dashboards), "review save",
                       "review saves/s, errors", "load average"],
                      ([label, *(f"{r[name]['p50_ms']} / {r[name]['p99_ms']}"
                                 for name in dashboards),
                        f"{r['review_save'].get('p50_ms')} / {r['review_save'].get('p99_ms')}",
                        f"{r['review_save'].get('saves_per_s')}, {r['review_save']['errors']}",
                        " → ".join(f"{v:.2f}" for v in r.get("load_average", [])) or "–"]
                       for label, r in by_multiplier.items()))]
    names = list(next(iter(by_multiplier.values()))["queries"])
    lines += ["", "SQL statements per page (counted on the engine):", "",
              *_table(["data", *names],
                      ([label, *(r["queries"][n] for n in names)]
                       for label, r in by_multiplier.items()))]
    return lines


def write(path: Path, figures: dict) -> None:
    """Put the figures between the run's markers in `path` (appended when it has none)."""
    section = markdown(figures)
    begin, end = markers(figures)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    if begin in text and end in text:
        before = text[:text.index(begin)]
        after = text[text.index(end) + len(end):]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
