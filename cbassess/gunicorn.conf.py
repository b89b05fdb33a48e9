"""gunicorn settings for cbassess, as measured by benchmarks/run.py (docs/PERFORMANCE.md).

    gunicorn -c cbassess/gunicorn.conf.py --bind 127.0.0.1:8000 'cbassess:create_app()'

- One worker process per core (WEB_CONCURRENCY overrides): Python runs one thread at a
  time per process, so it is processes that use the cores.
- Two threads per worker ("gthread"): a save is not stuck behind a PDF report being
  rendered in the same worker, and, unlike "sync" workers, keep-alive connections are
  kept, so a browser's autosaves do not each open a new connection. More threads only
  queue on the same core.
- Each worker listens on a socket of its own (reuse_port, SO_REUSEPORT), and the kernel
  spreads new connections across them. On one shared socket, whichever worker woke first
  took a burst of new connections: a browser keeps its connection for its autosaves, so
  one worker could end up serving most people (once all 16 connections of a benchmark run,
  halving throughput) while the other core idled. The flip side: another server started
  on the same port by mistake shares it instead of failing to start.
- The app is loaded once, before the workers are forked (preload): quicker start, less
  memory. Everything loaded by then is frozen out of the garbage collector (gc.freeze), so
  its full collections, which otherwise stop a worker for tens of milliseconds now and
  then, only look at what requests create.
- Each worker renders a tiny PDF when it starts (report.warm_up), so the first report
  asked of it does not also pay for loading WeasyPrint's fonts.
SQLite writers are queued by cbassess/sqlite_writes.py, whatever the worker model.
"""

import gc
import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = 2
keepalive = 5
reuse_port = True
preload_app = True


def pre_fork(server, worker):
    """Freeze what the master loaded (the app, its templates' modules), before each fork."""
    gc.freeze()


def post_worker_init(worker):
    """Load WeasyPrint's fonts in a new cbassess worker, then freeze that too."""
    if getattr(worker.wsgi, "name", None) == "cbassess":
        try:
            from cbassess.report import warm_up

            warm_up(worker.wsgi.static_folder)
        except Exception as error:  # a report is not worth a worker
            worker.log.warning("PDF warm-up failed: %s", error)
    gc.freeze()
