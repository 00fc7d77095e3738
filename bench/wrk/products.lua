-- GET /products/<id> spread evenly over ids 1..BENCH_IDS (default 1000): a fixed shuffled order
-- of all ids, cycled, so every id is requested equally often and consecutive requests differ.
-- BENCH_QUERY (e.g. "?nocache=1") is appended to every path: the miss-path scenario uses it.
-- BENCH_PREFIX replaces /products (the vary and revalidate scenarios' paths); BENCH_ORIGIN, when
-- set, is sent as the Origin field of every request (one variant of a Vary: Origin response).
-- BENCH_IF_NONE_MATCH, when set, is sent as If-None-Match ("*": every stored response matches,
-- so a cache answers 304).
dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/report.lua")

local requests = {}
local next_index = 1

function init(args)
  local n = tonumber(os.getenv("BENCH_IDS") or "1000")
  local query = os.getenv("BENCH_QUERY") or ""
  local prefix = os.getenv("BENCH_PREFIX") or ""
  if prefix == "" then prefix = "/products" end
  local origin = os.getenv("BENCH_ORIGIN") or ""
  local headers = {}
  if origin ~= "" then headers["Origin"] = origin end
  local if_none_match = os.getenv("BENCH_IF_NONE_MATCH") or ""
  if if_none_match ~= "" then headers["If-None-Match"] = if_none_match end
  local ids = {}
  for i = 1, n do ids[i] = i end
  math.randomseed(12345)
  for i = n, 2, -1 do  -- Fisher-Yates
    local j = math.random(1, i)
    ids[i], ids[j] = ids[j], ids[i]
  end
  for i = 1, n do
    requests[i] = wrk.format("GET", prefix .. "/" .. ids[i] .. query, headers)
  end
  next_index = 1
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end
