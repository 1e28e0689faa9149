-- Company edits with optimistic locking: PATCH /api/v1/companies/{id} with a
-- small merge patch and If-Match: <ETag>, the ETag taken from the previous
-- GET or PATCH of that company.
--
-- Each thread works on its own companies (ids ≡ thread index modulo
-- BENCH_THREADS in BENCH_ID_MIN..BENCH_ID_MAX, BENCH_WORKING_SET of them), so
-- two threads never edit one company; inside a thread a company is never
-- edited by two connections at once. A company whose ETag the thread does not
-- know yet is read first (GET). The response names the company (its body
-- starts with the id; a 412's `current` holds the fresh card), and its ETag
-- header is remembered for the next edit.
--
-- Counted per thread and summed in the BENCH_RESULT line: patch_ok, get_ok,
-- n412 (a stale ETag: a failure of the scenario), failures (any other status
-- or a body that names no company) and lost (in-flight entries given up
-- after 10 s without an answer).
--
-- With BENCH_DELAY_MS each connection waits that long before each request
-- (wrk's `delay`): the paced edits beside the mixed reads of bench/run.
-- With BENCH_EDIT_LISTED=1 every second edit changes a column the mixed
-- reads' lists read: a region (every fourth) or a name (every fourth);
-- the others a tariff and a dialog limit, as without it.

local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

patch_ok = 0
get_ok = 0
n412 = 0
failures = 0
lost = 0

local ids = {}        -- this thread's companies
local etags = {}      -- id -> ETag of the last version this thread saw
local busy = {}       -- id -> { since = os.time(), kind = "GET" or "PATCH" } in flight
local headers = {}
local calls = 0
local tariffs = { "Старт", "Бизнес", "Корпоративный" }
local regions = { "Москва", "Новосибирская область", "Омская область", "Томская область" }
local listed = os.getenv("BENCH_EDIT_LISTED") == "1"
local edits = 0

function setup(thread)
  common.setup(thread)
end

function init(args)
  common.seed()
  headers = common.headers()
  local low = tonumber(os.getenv("BENCH_ID_MIN"))
  local high = tonumber(os.getenv("BENCH_ID_MAX"))
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local wanted = tonumber(os.getenv("BENCH_WORKING_SET") or "200")
  local residue = (thread_index - 1) % threads
  local seen = {}
  local candidates = math.floor((high - low + 1) / threads)
  if wanted > candidates then wanted = candidates end
  local attempts = 0
  while #ids < wanted and attempts < wanted * 50 do
    attempts = attempts + 1
    local id = math.random(low, high)
    id = id - ((id - residue) % threads)
    if id >= low and not seen[id] then
      seen[id] = true
      table.insert(ids, id)
    end
  end
  assert(#ids > 0, "no companies for thread " .. thread_index)
end

local function release_stale()
  local now = os.time()
  for id, sent in pairs(busy) do
    if now - sent.since > 10 then
      busy[id] = nil
      etags[id] = nil
      lost = lost + 1
    end
  end
end

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
  function delay()
    return pause
  end
end

function request()
  calls = calls + 1
  -- wrk calls the first thread's request() once before any connection
  -- exists, to check what the script returns (script_verify_request in
  -- wrk.c, for thread 0 only), and never sends that request. Marking a
  -- company in flight for it left one entry unanswered, given up after 10 s:
  -- the `lost=1` of every run, with every sent request answered.
  if calls == 1 and thread_index == 1 then
    return wrk.format("GET", "/api/v1/companies/" .. ids[1], headers)
  end
  if calls % 1000 == 0 then release_stale() end
  local id
  for _ = 1, 50 do
    local candidate = ids[math.random(#ids)]
    if not busy[candidate] then
      id = candidate
      break
    end
  end
  if id == nil then
    -- Every company of the thread is in flight (a working set smaller than
    -- the connections): read the first one, which edits nothing; its answer
    -- names a company in flight and so counts in `failures`, which tells
    -- that BENCH_WORKING_SET is too small.
    return wrk.format("GET", "/api/v1/companies/" .. ids[1], headers)
  end
  local path = "/api/v1/companies/" .. id
  local etag = etags[id]
  if etag == nil then
    busy[id] = { since = os.time(), kind = "GET" }
    return wrk.format("GET", path, headers)
  end
  busy[id] = { since = os.time(), kind = "PATCH" }
  etags[id] = nil
  local patch_headers = {}
  for name, value in pairs(headers) do patch_headers[name] = value end
  patch_headers["Content-Type"] = "application/json"
  patch_headers["If-Match"] = etag
  local body = string.format('{"tariff":"%s","max_dialogs_per_operator":%d}',
    tariffs[math.random(#tariffs)], math.random(1, 100000))
  if listed then
    edits = edits + 1
    if edits % 4 == 3 then
      body = string.format('{"region":"%s"}', regions[math.random(#regions)])
    elseif edits % 4 == 0 then
      body = string.format('{"name":"Правка %d"}', math.random(1, 1000000))
    end
  end
  return wrk.format("PATCH", path, patch_headers, body)
end

function response(status, response_headers, body)
  local etag = response_headers["ETag"] or response_headers["etag"] or response_headers["Etag"]
  if status == 200 then
    local id = tonumber(body:match('^%s*{%s*"id"%s*:%s*(%d+)'))
    local sent = id and busy[id]
    if sent == nil or etag == nil then
      failures = failures + 1
      return
    end
    busy[id] = nil
    if sent.kind == "PATCH" then
      patch_ok = patch_ok + 1
    else
      get_ok = get_ok + 1
    end
    etags[id] = etag
    return
  end
  if status == 412 then
    n412 = n412 + 1
    local id = tonumber(body:match('"current"%s*:%s*{%s*"id"%s*:%s*(%d+)'))
    local version = body:match('"current"%s*:%s*{.-"version"%s*:%s*(%d+)')
    if id ~= nil then
      busy[id] = nil
      etags[id] = version and ('"' .. version .. '"') or nil
    end
    return
  end
  failures = failures + 1
end

function done(summary, latency, requests)
  common.report(summary, latency, requests, { "patch_ok", "get_ok", "n412", "failures", "lost" })
end
