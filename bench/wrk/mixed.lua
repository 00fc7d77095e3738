-- 90 % GET / 10 % PUT over ids 1..BENCH_IDS (default 1000). Every 10th request of a fixed
-- pseudo-random sequence is a PUT /products/<id> with a small JSON body; through cachecar the PUT
-- is forwarded to the origin and invalidates GET /products/<id>, so the next GET of that id is a
-- miss that refills the cache. BENCH_WRITE_EVERY changes the ratio (10 = 10 % writes).
dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/report.lua")

local requests = {}
local next_index = 1

function init(args)
  local n = tonumber(os.getenv("BENCH_IDS") or "1000")
  local every = tonumber(os.getenv("BENCH_WRITE_EVERY") or "10")
  local body = '{"price": 9.99}'
  local headers = { ["Content-Type"] = "application/json" }
  math.randomseed(54321)
  -- 10 * n requests, ids drawn uniformly: every id is read and written about equally often.
  for k = 1, 10 * n do
    local id = math.random(1, n)
    if k % every == 0 then
      requests[k] = wrk.format("PUT", "/products/" .. id, headers, body)
    else
      requests[k] = wrk.format("GET", "/products/" .. id)
    end
  end
  next_index = 1
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end
