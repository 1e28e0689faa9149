-- GET requests replayed from a file of paths (BENCH_PATHS, one a line), each
-- request a random line, with the bench token (BENCH_TOKEN) if set. Used for
-- the search, phone, list, company-card and bare scenarios alike, so the
-- load generator does the same work for every one of them. Statuses are
-- checked by wrk itself (any status ≥ 400 is an error bench/run fails on).

local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local requests = {}

function setup(thread)
  common.setup(thread)
end

function init(args)
  common.seed()
  local headers = common.headers()
  for _, path in ipairs(common.lines(os.getenv("BENCH_PATHS"))) do
    table.insert(requests, wrk.format("GET", path, headers))
  end
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, requests)
  common.report(summary, latency, requests)
end
