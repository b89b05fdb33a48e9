-- wrk script: each request is an htmx autosave of one answer with text it never sent before.
--
-- BENCH_TARGETS names a file with one target per line, tab-separated:
--   <Cookie header>  <X-CSRFToken>  <path>  <indicator key>
-- (the app's targets are signed-in respondents' answers; the bare app's have empty cookie and
-- token). Requests go round the targets; the evidence carries the run (BENCH_RUN), the thread
-- and a counter, so every save changes the answer and writes a revision. No version field is sent, so there is
-- no conflict check: the load measures saving, not refusing.
-- BENCH_DELAY_MS, when set, makes each connection pause that long after every reply (a paced
-- load, to see the latency of a save when the server is not saturated).
-- done() prints one line of JSON for benchmarks/run.py.

local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

local targets = {}
local counter = 0
local user_agent = "cbassess-benchmark/1"
local run = "0"

function init(args)
  user_agent = os.getenv("BENCH_USER_AGENT") or user_agent
  run = os.getenv("BENCH_RUN") or run
  for line in io.lines(os.getenv("BENCH_TARGETS")) do
    local cookie, token, path, key = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    if path then
      targets[#targets + 1] = {cookie = cookie, token = token, path = path, key = key}
    end
  end
  counter = (thread_id or 0) * 7919
end

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
  function delay()
    return pause
  end
end

function request()
  counter = counter + 1
  local target = targets[counter % #targets + 1]
  local key = target.key
  local body = key .. "-level=" .. (counter % 5)
    .. "&" .. key .. "-evidence=Load+test+" .. run .. "-" .. (thread_id or 0) .. "-" .. counter
    .. "+minutes+of+the+steering+committee"
    .. "&" .. key .. "-note="
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["HX-Request"] = "true",
    ["User-Agent"] = user_agent,
  }
  if target.cookie ~= "" then headers["Cookie"] = target.cookie end
  if target.token ~= "" then headers["X-CSRFToken"] = target.token end
  return wrk.format("POST", target.path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
    .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
