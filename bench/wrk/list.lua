-- GET of the ~64 KB product list (BENCH_LIST_PATH, default /list64k) on every request.
dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/report.lua")

wrk.method = "GET"
wrk.path = os.getenv("BENCH_LIST_PATH") or "/list64k"
-- BENCH_ACCEPT_ENCODING set: sent with every request (the compression scenarios).
local accept_encoding = os.getenv("BENCH_ACCEPT_ENCODING")
if accept_encoding and accept_encoding ~= "" then wrk.headers["Accept-Encoding"] = accept_encoding end
