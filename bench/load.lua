-- wrk script for bench/load_test.py: each wrk thread has one connection and replays its own list of
-- requests (bench/out/load-items-<thread>.tsv: kind, method, path, cookie, body), then repeats its
-- page views once the writes run out. Each response is classified by itself, not by matching it to
-- its request: a 200 is a page view; a redirect is an acknowledged write, and its Location tells
-- which (a check-in returns to "#checkins", an application to a mentorship id above the highest one
-- before the run, a cancellation to an older one). Anything else is an error.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  items, views, acked, refused = {}, {}, {}, {}
  max_mentorship = tonumber(args[2])
  for line in io.lines(args[1] .. "/load-items-" .. id .. ".tsv") do
    local kind, method, path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    local headers = {["Cookie"] = cookie, ["User-Agent"] = "tracker-load-test"}
    if method == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
    local request = {kind = kind, text = wrk.format(method, path, headers, method == "POST" and body or nil)}
    table.insert(items, request)
    if kind == "view" then table.insert(views, request) end
  end
  next_item, next_view = 1, 1
end

function request()
  local item
  if next_item <= #items then
    item, next_item = items[next_item], next_item + 1
  else
    item, next_view = views[next_view], next_view % #views + 1
  end
  return item.text
end

function response(status, headers, body)
  local kind
  local location = headers["Location"] or headers["location"] or ""
  if status == 200 then
    kind = "view"
  elseif status == 302 or status == 303 then
    local mentorship = tonumber(location:match("/mentorships/(%d+)"))
    if location:find("#checkins", 1, true) then kind = "checkin"
    elseif mentorship and mentorship > max_mentorship then kind = "apply"
    elseif mentorship then kind = "cancel" end
  end
  if kind then
    acked[kind] = (acked[kind] or 0) + 1
  else
    local key = status .. " " .. location
    refused[key] = (refused[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local out = {string.format('"requests": %d, "seconds": %.3f, "socket_errors": %d, "p50_ms": %.2f, ' ..
    '"p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f', summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000)}
  for _, name in ipairs({"acked", "refused"}) do
    local totals = {}
    for _, thread in ipairs(threads) do
      for kind, n in pairs(thread:get(name)) do totals[kind] = (totals[kind] or 0) + n end
    end
    local parts = {}
    for kind, n in pairs(totals) do table.insert(parts, string.format('"%s": %d', kind, n)) end
    table.insert(out, string.format('"%s": {%s}', name, table.concat(parts, ", ")))
  end
  io.write("RESULT {" .. table.concat(out, ", ") .. "}\n")
end
