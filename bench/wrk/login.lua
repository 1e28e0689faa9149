-- The sign-in storm: POST /api/v1/auth/login with the login and password in
-- BENCH_LOGIN and BENCH_PASSWORD, on every connection, as fast as answered.
-- A 200 must be a session (a body with a CSRF token), not a second-factor
-- challenge; anything else counts in `failures` (bench/run fails on any).

local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local login_request
failures = 0
second_factor = 0

function setup(thread)
  common.setup(thread)
end

local function json_string(text)
  return '"' .. text:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

function init(args)
  local body = '{"login":' .. json_string(os.getenv("BENCH_LOGIN"))
    .. ',"password":' .. json_string(os.getenv("BENCH_PASSWORD")) .. '}'
  login_request = wrk.format("POST", "/api/v1/auth/login", {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }, body)
end

function request()
  return login_request
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
  elseif body:find('"challenge"', 1, true) then
    second_factor = second_factor + 1
    failures = failures + 1
  elseif not body:find('"csrf_token"', 1, true) then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  common.report(summary, latency, requests, { "failures", "second_factor" })
end
