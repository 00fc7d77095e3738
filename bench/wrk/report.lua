-- Shared by every bench/wrk script: at the end of a run, print one machine-readable line that
-- bench/run.sh parses (wrk's own human-readable summary is printed above it and kept in the logs).
-- Latencies are in microseconds; errors are wrk's socket errors and its "Non-2xx or 3xx" count.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
