-- Shared by the scripts of bench/run (loaded with dofile from BENCH_WRK_DIR).
--
-- Every script ends with one line
--   BENCH_RESULT {"requests":…,"rps":…,"p50_us":…,"p99_us":…,"max_us":…,…}
-- that bench/run parses; latencies are microseconds, exact from wrk's
-- histogram. Counters a script keeps per thread (`failures`, `n412`, …) are
-- summed over the threads into the same line.

local common = {}

common.threads = {}

-- Each thread gets an index (and a seed of its own), kept for done().
function common.setup(thread)
  local index = #common.threads + 1
  thread:set("thread_index", index)
  table.insert(common.threads, thread)
end

function common.seed()
  local index = thread_index or 1
  math.randomseed(os.time() * 1000 + index * 7919)
  -- LuaJIT's first draws after seeding are poorly spread.
  for _ = 1, 10 do math.random() end
end

-- The lines of a file, without empty ones.
function common.lines(path)
  local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  local out = {}
  for line in file:lines() do
    if line ~= "" then table.insert(out, line) end
  end
  file:close()
  assert(#out > 0, "no lines in " .. path)
  return out
end

-- Headers for the bench token (BENCH_TOKEN), if one is set.
function common.headers()
  local headers = { ["Accept"] = "application/json" }
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return headers
end

local function number(value)
  if value == nil then return 0 end
  return tonumber(value) or 0
end

-- Prints the BENCH_RESULT line; `counters` names the per-thread globals to sum.
function common.report(summary, latency, requests, counters)
  local seconds = summary.duration / 1e6
  local fields = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_s":%.3f', seconds),
    string.format('"rps":%.2f', summary.requests / seconds),
    string.format('"bytes":%d', summary.bytes),
    string.format('"mean_us":%.1f', latency.mean),
    string.format('"p50_us":%d', latency:percentile(50)),
    string.format('"p90_us":%d', latency:percentile(90)),
    string.format('"p99_us":%d', latency:percentile(99)),
    string.format('"max_us":%d', latency.max),
    string.format('"errors_connect":%d', summary.errors.connect),
    string.format('"errors_read":%d', summary.errors.read),
    string.format('"errors_write":%d', summary.errors.write),
    string.format('"errors_status":%d', summary.errors.status),
    string.format('"errors_timeout":%d', summary.errors.timeout),
  }
  for _, name in ipairs(counters or {}) do
    local total = 0
    for _, thread in ipairs(common.threads) do
      total = total + number(thread:get(name))
    end
    table.insert(fields, string.format('"%s":%d', name, total))
  end
  io.write("BENCH_RESULT {" .. table.concat(fields, ",") .. "}\n")
end

return common
