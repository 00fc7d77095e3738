#!/usr/bin/env python3
"""Load client and report for bench/soak.sh (Python 3 standard library only).

  soak.py setup  --upstream URL --count N --out FILE       create products, write their ids
  soak.py load   --base URL --admin URL --pid PID --ids FILE --duration S --out DIR ...
  soak.py report --out DIR --grace S --alive 0|1          summary (markdown), exit 1 on failure

Every loop is bounded by the run's deadline and every socket has a timeout; only 127.0.0.1.
"""

import argparse
import collections
import http.client
import json
import os
import random
import select
import socket
import statistics
import sys
import threading
import time
import urllib.parse

CLIENT_TIMEOUT = 15.0  # far above any expected answer (Redis timeout 100 ms, upstream connect 2 s)
DESCRIPTION = ("Soak-test product. " * 120)[:1900]  # ~2 KB per product: lists of 100 are ~200 KB
MAX_ERROR_RECORDS = 100_000


def now():
    return time.time()  # wall clock: the same clock as bash's $EPOCHREALTIME in schedule.tsv


def host_port(url):
    parts = urllib.parse.urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise SystemExit(f"soak: {url}: loopback (127.0.0.1) only")
    return parts.hostname, parts.port


# --- setup -------------------------------------------------------------------------------------
def cmd_setup(args):
    host, port = host_port(args.upstream)
    conn = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT)
    with open(args.out, "w") as out:
        for i in range(args.count):
            price = 10 + i + 0.5
            body = json.dumps({"name": f"soak product {i}", "description": DESCRIPTION,
                               "price": price, "stock_quantity": i})
            conn.request("POST", "/products", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 201:
                raise SystemExit(f"soak: POST /products answered {resp.status}: {data[:200]!r}")
            product = json.loads(data)
            out.write(f"{product['id']}\t{product['price']!r}\n")
    return 0


# --- load --------------------------------------------------------------------------------------
class Stats:
    """Counters by (category, kind, outcome), error and violation records; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.errors = []        # good requests that failed: (t0, t1, kind, method, path, outcome, detail)
        self.error_count = 0
        self.stale = []         # (t, id, expected, got, x_cache, cache_status, age, since_put)
        self.bad = []           # (t, kind, outcome) for bad requests, to name what came before a crash
        self.slow = []          # (t, kind, seconds_to_close or None, outcome)

    def count(self, category, kind, outcome):
        with self.lock:
            self.counts[(category, kind, outcome)] += 1

    def error(self, record):
        with self.lock:
            self.error_count += 1
            if len(self.errors) < MAX_ERROR_RECORDS:
                self.errors.append(record)

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.counts)


def outcome_of_status(status):
    return f"{status // 100}xx"


class Client:
    """One keep-alive connection; reconnects after an error or a server-side close."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, body) or raises OSError/HTTPException."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT)
        try:
            self.conn.request(method, path, body, headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
            if resp.will_close:
                self.close()
            return resp.status, resp, data
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Load:
    def __init__(self, args):
        self.args = args
        self.host, self.port = host_port(args.base)
        self.admin_host, self.admin_port = host_port(args.admin)
        self.pid = args.pid
        self.stats = Stats()
        self.stop = threading.Event()
        self.deadline = None
        self.died_at = None
        ids = []
        with open(args.ids) as f:
            for line in f:
                pid, price = line.split("\t")
                ids.append((pid, float(price)))
        # Id-partitioned: each checker owns its ids and is the only one writing them, so the value
        # it last wrote is exactly what a read must return.
        per = args.ids_per_checker
        n_checked = per * args.checkers
        if n_checked >= len(ids):
            raise SystemExit("soak: not enough products for the checkers")
        self.checker_ids = [ids[i * per:(i + 1) * per] for i in range(args.checkers)]
        self.general_ids = [i for i, _ in ids[n_checked:]]
        self.all_ids = [i for i, _ in ids]
        self.skip_bad = set(filter(None, (args.skip_bad or "").split(",")))

    def running(self):
        return not self.stop.is_set() and now() < self.deadline

    # A good request: counted by outcome; failures recorded with their time span.
    def good(self, client, category, kind, method, path, body=None, headers=None, expect=(200,)):
        t0 = now()
        try:
            status, resp, data = client.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as e:
            t1 = now()
            outcome = "timeout" if isinstance(e, (socket.timeout, TimeoutError)) else "conn_error"
            self.stats.count(category, kind, outcome)
            self.stats.error((t0, t1, kind, method, path, outcome, f"{type(e).__name__}: {e}"))
            if not self.cachecar_alive():
                self.stop.set()
            time.sleep(0.05)  # never spin on a refused port
            return None, None, None
        t1 = now()
        if status in expect:
            self.stats.count(category, kind, outcome_of_status(status))
        else:
            outcome = "5xx" if status >= 500 else f"unexpected_{status}"
            self.stats.count(category, kind, outcome)
            self.stats.error((t0, t1, kind, method, path, outcome,
                              f"{status} {data[:120]!r}"))
        return status, resp, data

    def cachecar_alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state not in ("Z", "X")
        except OSError:
            return False

    # --- workers ---
    def reader(self, seed):
        rng = random.Random(seed)
        client = Client(self.host, self.port)
        while self.running():
            if rng.random() < 0.85:
                self.good(client, "good", "read_item", "GET", f"/products/{rng.choice(self.all_ids)}")
            else:
                limit, offset = rng.choice((10, 20, 50, 100)), rng.choice((0, 0, 20, 50))
                self.good(client, "good", "read_list", "GET", f"/products?limit={limit}&offset={offset}")
        client.close()

    def writer(self, seed):
        rng = random.Random(seed)
        client = Client(self.host, self.port)
        while self.running():
            pid = rng.choice(self.general_ids)
            body = json.dumps({"price": round(rng.uniform(1, 1000), 2)})
            self.good(client, "good", "write", "PUT", f"/products/{pid}", body,
                      {"Content-Type": "application/json"})
            time.sleep(rng.uniform(0, 0.02))
        client.close()

    def bypasser(self, seed):
        rng = random.Random(seed)
        client = Client(self.host, self.port)
        while self.running():
            if rng.random() < 0.8:
                # Every id, the checkers' too: a bypass refresh racing a write must not store old data.
                self.good(client, "good", "bypass_item", "GET",
                          f"/products/{rng.choice(self.all_ids)}?nocache=true")
            else:
                self.good(client, "good", "bypass_list", "GET", "/products?limit=20&nocache=true")
            time.sleep(rng.uniform(0, 0.01))
        client.close()

    def checker(self, index):
        rng = random.Random(1000 + index)
        client = Client(self.host, self.port)
        # --checker-write-base (a self-test of the checker): write to the upstream directly, so
        # nothing invalidates and the reads must be reported stale.
        writes = Client(*host_port(self.args.checker_write_base)) if self.args.checker_write_base else client
        owned = self.checker_ids[index]
        # Values a read may return: exactly the last confirmed write; after a write whose outcome
        # is unknown (error, 5xx) also the values attempted since the last confirmed one.
        acceptable = {pid: {price} for pid, price in owned}
        last_put = {pid: 0.0 for pid, _ in owned}
        seq = 0
        while self.running():
            pid, _ = owned[seq % len(owned)]
            seq += 1
            price = float(index * 1_000_000 + seq) + 0.25
            status, _, data = self.good(writes, "good", "check_write", "PUT", f"/products/{pid}",
                                        json.dumps({"price": price}),
                                        {"Content-Type": "application/json"})
            confirmed = False
            if status == 200:
                try:
                    confirmed = float(json.loads(data)["price"]) == price
                except (ValueError, KeyError, TypeError):
                    confirmed = False
            if confirmed:
                acceptable[pid] = {price}
                last_put[pid] = now()
            else:
                acceptable[pid].add(price)
            for _ in range(rng.randint(1, 3)):
                if not self.running():
                    break
                status, resp, data = self.good(client, "good", "check_read", "GET", f"/products/{pid}")
                if status == 200:
                    try:
                        got = float(json.loads(data)["price"])
                    except (ValueError, KeyError, TypeError):
                        got = None
                    if got not in acceptable[pid]:
                        t = now()
                        with self.stats.lock:
                            self.stats.stale.append((t, pid, sorted(acceptable[pid]), got,
                                                     resp.getheader("X-Cache", ""),
                                                     resp.getheader("Cache-Status", ""),
                                                     resp.getheader("Age", ""),
                                                     round(t - last_put[pid], 3)))
                        self.stats.count("check", "stale_read", "violation")
                    else:
                        self.stats.count("check", "fresh_read", "ok")
                time.sleep(rng.uniform(0, 0.05))
        client.close()
        writes.close()

    # Bad requests, each on its own connection, to a path no rule matches (so if one ever got
    # through, product-api answers 404 and nothing changes). Expected answers: issue 9, RFC 9112.
    def bad_requests(self):
        p = "/soak-bad"
        h = "Host: 127.0.0.1\r\n"
        big = "x" * (20 * 1024)
        trailer = "y" * (200 * 1024)
        kinds = [
            ("garbage", b"\x00\x01\x02garbage \xff\xfe\r\n\r\n", "400"),
            ("bad_request_line", b"GET\r\n\r\n", "400"),
            ("oversize_head", f"GET {p} HTTP/1.1\r\n{h}X-Big: {big}\r\n\r\n".encode(), "431"),
            ("oversize_head_many",
             (f"GET {p} HTTP/1.1\r\n{h}" + "".join(f"X-H{i}: {'z' * 100}\r\n" for i in range(200))
              + "\r\n").encode(), "431"),
            ("missing_host", f"GET {p} HTTP/1.1\r\n\r\n".encode(), "400"),
            ("duplicate_host", f"GET {p} HTTP/1.1\r\n{h}Host: other.example\r\n\r\n".encode(), "400"),
            ("chunked_size_zz", self._chunked(p, h, "zz\r\nabc\r\n0\r\n\r\n"), "400"),
            ("chunked_size_negative", self._chunked(p, h, "-5\r\nhello\r\n0\r\n\r\n"), "400"),
            ("chunked_size_overflow", self._chunked(p, h, "10000000000000005\r\nhello\r\n0\r\n\r\n"),
             "400"),
            ("chunked_size_0x", self._chunked(p, h, "0x5\r\nhello\r\n0\r\n\r\n"), "400"),
            ("chunked_data_too_long", self._chunked(p, h, "5\r\nhelloEXTRA\r\n0\r\n\r\n"), "400"),
            ("chunked_bare_lf", self._chunked(p, h, "5\nhello\n0\n\n"), "400"),
            ("te_chunked_identity", self._chunked(p, h, "5\r\nhello\r\n0\r\n\r\n", "chunked, identity"),
             "400"),
            ("te_xchunked", self._chunked(p, h, "5\r\nhello\r\n0\r\n\r\n", "xchunked"), "400"),
            ("te_gzip_chunked", self._chunked(p, h, "5\r\nhello\r\n0\r\n\r\n", "gzip, chunked"), "501"),
            ("huge_trailer", self._chunked(p, h, f"5\r\nhello\r\n0\r\nX-Trailer: {trailer}\r\n\r\n"),
             "431"),
            ("abort_mid_body",
             f"POST {p} HTTP/1.1\r\n{h}Content-Length: 1000\r\n\r\nonly-this".encode(), "any"),
        ]
        kinds = [k for k in kinds if k[0] not in self.skip_bad]
        self.bad_expected = {name: expected for name, _, expected in kinds}
        i = 0
        while self.running() and kinds:
            name, payload, expected = kinds[i % len(kinds)]
            i += 1
            with self.stats.lock:
                self.stats.bad.append((now(), name, "sent"))
            outcome = self._send_raw(payload, read=expected != "any")
            ok = expected == "any" or outcome == expected
            self.stats.count("bad", name, outcome if ok else f"{outcome} (expected {expected})")
            time.sleep(0.2)

    @staticmethod
    def _chunked(path, host, body, coding="chunked"):
        return (f"POST {path} HTTP/1.1\r\n{host}Transfer-Encoding: {coding}\r\n\r\n{body}").encode()

    def _send_raw(self, payload, read=True):
        try:
            s = socket.create_connection((self.host, self.port), timeout=5)
        except OSError as e:
            return f"connect_failed:{type(e).__name__}"
        try:
            try:
                s.sendall(payload)
            except OSError:
                pass  # the server may answer and close before reading everything: read below
            if not read:
                return "sent"
            data = b""
            try:
                while b"\r\n" not in data and len(data) < 4096:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, TimeoutError):
                return "timeout" if not data else self._status_of(data)
            except OSError:
                return "reset" if not data else self._status_of(data)
            return self._status_of(data) if data else "closed_without_answer"
        finally:
            s.close()

    @staticmethod
    def _status_of(data):
        parts = data.split(b" ", 2)
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            return parts[1].decode()
        return "garbled_answer"

    # Slow clients. A head trickled one byte per second, on a new connection and on a kept-alive
    # one after a first request; time until cachecar closes it (bounded by --slow-cap).
    def trickler(self, keepalive):
        kind = "trickle_keepalive" if keepalive else "trickle_new"
        while self.running():
            t_start = now()
            sock = None
            client = None
            if keepalive:
                client = Client(self.host, self.port)
                status, _, _ = self.good(client, "good", "trickle_first", "GET",
                                         f"/products/{self.all_ids[0]}")
                if status != 200 or client.conn is None or client.conn.sock is None:
                    client.close()
                    time.sleep(1)
                    continue
                sock = client.conn.sock
            else:
                try:
                    sock = socket.create_connection((self.host, self.port), timeout=5)
                except OSError:
                    time.sleep(1)
                    continue
            head = (f"GET /products/{self.all_ids[0]} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
                    + "a" * 400 + "\r\n\r\n").encode()
            t_first = now()
            result, outcome = None, "not_closed_within_cap"
            for i in range(len(head)):
                if not self.running():
                    outcome = "run_ended"
                    break
                if now() - t_first > self.args.slow_cap:
                    break
                try:
                    sock.send(head[i:i + 1])
                except OSError:
                    result, outcome = now() - t_first, "closed(send failed)"
                    break
                closed = self._wait_closed(sock, 1.0)
                if closed:
                    result, outcome = now() - t_first, closed
                    break
            if client is not None:
                client.close()
            else:
                sock.close()
            if result is not None and not self.cachecar_alive():
                outcome = "cachecar_died"
            with self.stats.lock:
                self.stats.slow.append((t_start, kind, result, outcome))
            self.stats.count("slow", kind, outcome.split("(")[0])
            time.sleep(0.5)

    @staticmethod
    def _wait_closed(sock, seconds):
        """Waits up to `seconds`; returns a description if the peer answered/closed, else None."""
        r, _, _ = select.select([sock], [], [], seconds)
        if not r:
            return None
        try:
            data = sock.recv(65536)
        except OSError as e:
            return f"reset({type(e).__name__})"
        if not data:
            return "closed"
        return f"answered({Load._status_of(data)})"

    # A client that sends many requests for a large response and reads nothing: cachecar's write
    # blocks; it should give up on the connection (limits.client_body_timeout) instead of holding
    # it and its buffers forever. The close is seen on cachecar's side of the loopback connection
    # (/proc/net/tcp), since with a zero receive window our side sees nothing until it reads.
    def stalled_reader(self):
        requests = b"".join(b"GET /products?limit=100&offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                            for _ in range(60))
        while self.running():
            t_start = now()
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.settimeout(5)
                sock.connect((self.host, self.port))
                sock.sendall(requests)
            except OSError:
                sock.close()
                time.sleep(1)
                continue
            local_port = sock.getsockname()[1]
            result, outcome = None, "not_closed_within_cap"
            while True:
                if not self.running():
                    outcome = "run_ended"
                    break
                if now() - t_start > self.args.slow_cap:
                    break
                state = server_side_state(self.port, local_port)
                if state != "01":  # no longer ESTABLISHED: cachecar closed or reset it
                    result = now() - t_start
                    outcome = "closed" if self.cachecar_alive() else "cachecar_died"
                    break
                time.sleep(1)
            sock.close()
            with self.stats.lock:
                self.stats.slow.append((t_start, "stalled_reader", result, outcome))
            self.stats.count("slow", "stalled_reader", outcome)
            time.sleep(1)

    # Every 10 s: RSS, fds, connections, pending invalidations, request counts by outcome.
    def sampler(self, path):
        with open(path, "w") as out:
            out.write("t\trss_kb\tfds\tclient_conns\tpending_inv\tredis_connected\trequests\tcounts\n")
            next_sample = 0.0
            while True:
                alive = self.cachecar_alive()
                if not alive and self.died_at is None:
                    self.died_at = now()
                    self.stop.set()
                t = now() - self.t0
                last = not self.running()
                if t >= next_sample or last:
                    rss = proc_rss_kb(self.pid) if alive else "-"
                    fds = proc_fd_count(self.pid) if alive else "-"
                    metrics = admin_metrics(self.admin_host, self.admin_port) if alive else {}
                    snap = self.stats.snapshot()
                    total = sum(v for (cat, _, _), v in snap.items() if cat in ("good", "bad"))
                    by_outcome = collections.Counter()
                    for (cat, _, outcome), v in snap.items():
                        by_outcome[f"{cat}:{outcome}"] += v
                    out.write("\t".join(str(x) for x in (
                        round(t, 1), rss, fds, metrics.get("cachecar_client_connections", "-"),
                        metrics.get("cachecar_pending_invalidations", "-"),
                        metrics.get("cachecar_redis_connected", "-"), total,
                        ",".join(f"{k}={v}" for k, v in sorted(by_outcome.items())))) + "\n")
                    out.flush()
                    next_sample += self.args.sample_every
                if last:
                    return
                time.sleep(0.5)

    def run(self):
        out = self.args.out
        self.t0 = now()
        self.deadline = self.t0 + self.args.duration
        with open(os.path.join(out, "started"), "w") as f:
            f.write(f"{self.t0:.6f}\n")
        threads = [threading.Thread(target=self.sampler, args=(os.path.join(out, "samples.tsv"),))]
        for i in range(self.args.readers):
            threads.append(threading.Thread(target=self.reader, args=(i,)))
        for i in range(self.args.writers):
            threads.append(threading.Thread(target=self.writer, args=(100 + i,)))
        threads.append(threading.Thread(target=self.bypasser, args=(200,)))
        for i in range(self.args.checkers):
            threads.append(threading.Thread(target=self.checker, args=(i,)))
        threads.append(threading.Thread(target=self.bad_requests))
        threads.append(threading.Thread(target=self.trickler, args=(False,)))
        threads.append(threading.Thread(target=self.trickler, args=(True,)))
        threads.append(threading.Thread(target=self.stalled_reader))
        for t in threads:
            t.daemon = True
            t.start()
        for t in threads:
            t.join(timeout=max(0.0, self.deadline - now()) + 60)
        self.stop.set()
        t_end = now()
        result = {
            "t0": self.t0, "t_end": t_end, "duration": t_end - self.t0,
            "died_at": self.died_at,
            "counts": [[c, k, o, v] for (c, k, o), v in sorted(self.stats.snapshot().items())],
            "error_count": self.stats.error_count,
            "stale": self.stats.stale,
            "slow": self.stats.slow,
            "bad_expected": getattr(self, "bad_expected", {}),
            "last_bad": self.stats.bad[-5:],
            "hung_threads": [t.name for t in threads if t.is_alive()],
        }
        with open(os.path.join(out, "errors.tsv"), "w") as f:
            f.write("t_start\tt_end\tkind\tmethod\tpath\toutcome\tdetail\n")
            for rec in self.stats.errors:
                f.write("\t".join(str(x).replace("\t", " ") for x in rec) + "\n")
        with open(os.path.join(out, "bad.tsv"), "w") as f:
            for rec in self.stats.bad:
                f.write("\t".join(str(x) for x in rec) + "\n")
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(result, f)
        return 0


def proc_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return "-"


def proc_fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))  # what `ls /proc/<pid>/fd | wc -l` counts
    except OSError:
        return "-"


def server_side_state(server_port, client_port):
    """TCP state (hex, as in /proc/net/tcp) of 127.0.0.1:server_port <- 127.0.0.1:client_port."""
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client_port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == local and fields[2] == remote:
                    return fields[3]
    except OSError:
        return "??"
    return "gone"


def admin_metrics(host, port):
    wanted = ("cachecar_client_connections", "cachecar_pending_invalidations",
              "cachecar_redis_connected")
    try:
        conn = http.client.HTTPConnection(host, port, timeout=2)
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        conn.close()
    except (OSError, http.client.HTTPException):
        return {}
    values = {}
    for line in text.splitlines():
        name = line.split(" ", 1)[0].split("{", 1)[0]
        if name in wanted and not line.startswith("#"):
            try:
                values[name] = int(float(line.rsplit(" ", 1)[1]))
            except ValueError:
                pass
    return values


def cmd_load(args):
    os.makedirs(args.out, exist_ok=True)
    return Load(args).run()


# --- report ------------------------------------------------------------------------------------
def read_schedule(path):
    events = []
    with open(path) as f:
        for line in f:
            if line.startswith("epoch") or not line.strip():
                continue
            epoch, offset, event, detail = (line.rstrip("\n").split("\t") + ["", "", "", ""])[:4]
            events.append((float(epoch), float(offset), event, detail))
    return events


def windows(events, start_event, end_event, t_end, grace=0.0):
    """[(start, end)] from pairs of events; an unfinished window runs to the end of the run."""
    out, open_at = [], None
    for epoch, _, event, _ in events:
        if event == start_event and open_at is None:
            open_at = epoch
        elif event == end_event and open_at is not None:
            out.append((open_at, epoch + grace))
            open_at = None
    if open_at is not None:
        out.append((open_at, t_end + grace))
    return out


def overlaps(t0, t1, spans):
    return any(t0 <= b and t1 >= a for a, b in spans)


def cmd_report(args):
    d = args.out
    with open(os.path.join(d, "results.json")) as f:
        res = json.load(f)
    events = read_schedule(os.path.join(d, "schedule.tsv"))
    meta = {}
    if os.path.exists(os.path.join(d, "meta.tsv")):
        with open(os.path.join(d, "meta.tsv")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                meta[k] = v
    t0, t_end = res["t0"], res["t_end"]
    upstream_down = windows(events, "upstream_kill", "upstream_up", t_end, args.grace)
    redis_down = windows(events, "redis_kill", "redis_up", t_end)
    redis_paused = windows(events, "redis_stop", "redis_cont", t_end)

    errors = []
    with open(os.path.join(d, "errors.tsv")) as f:
        next(f)
        for line in f:
            t_start, t_stop, kind, method, path, outcome, detail = line.rstrip("\n").split("\t", 6)
            errors.append((float(t_start), float(t_stop), kind, method, path, outcome, detail))
    inside = [e for e in errors if overlaps(e[0], e[1], upstream_down)]
    outside = [e for e in errors if not overlaps(e[0], e[1], upstream_down)]
    truncated = res["error_count"] > len(errors)

    def where(e):
        if res["died_at"] and e[1] >= res["died_at"] - 1:
            return "cachecar dying"
        if overlaps(e[0], e[1], redis_down):
            return "redis killed"
        if overlaps(e[0], e[1], redis_paused):
            return "redis paused"
        return "no fault active"

    counts = collections.Counter()
    by_kind = collections.defaultdict(collections.Counter)
    for cat, kind, outcome, v in res["counts"]:
        counts[cat] += v
        by_kind[(cat, kind)][outcome] += v
    stale = res["stale"]
    samples = []
    with open(os.path.join(d, "samples.tsv")) as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            samples.append(cols)
    rss = [int(s[1]) for s in samples if s[1].isdigit()]
    fds = [int(s[2]) for s in samples if s[2].isdigit()]
    duration = res["duration"]
    requests = counts["good"] + counts["bad"]
    alive = args.alive == 1 and res["died_at"] is None

    failures = []
    if not alive:
        failures.append("cachecar died" if res["died_at"] or args.alive != 1 else "cachecar is not answering")
    if stale:
        failures.append(f"{len(stale)} stale read(s)")
    if outside or (truncated and not inside and res["error_count"]):
        failures.append(f"{len(outside)} error(s) outside the upstream's downtime")

    L = []
    L.append(f"# cachecar soak run ({'PASSED' if not failures else 'FAILED: ' + '; '.join(failures)})")
    L.append("")
    for k in ("command", "commit", "binary", "date", "machine", "config"):
        if k in meta:
            L.append(f"- {k}: {meta[k]}")
    L.append(f"- duration: {duration:.0f} s; requests: {requests} ({requests / duration:.0f} req/s; "
             f"good {counts['good']} = {counts['good'] / duration:.0f}/s, bad {counts['bad']}), "
             f"slow-client attempts {counts['slow']}")
    L.append(f"- cachecar alive at the end: {'yes' if alive else 'NO'}"
             + (f" (died at t={res['died_at'] - t0:.1f} s)" if res["died_at"] else ""))
    if res["died_at"] and res["last_bad"]:
        L.append("- last bad requests sent before it died: "
                 + ", ".join(f"{name} at t={t - t0:.1f} s" for t, name, _ in res["last_bad"]))
    if res.get("hung_threads"):
        L.append(f"- load threads still running at the end (hung): {', '.join(res['hung_threads'])}")
    L.append("")
    L.append("## Fault schedule")
    L.append("")
    L.append("| t (s) | event | detail |")
    L.append("|---:|---|---|")
    for epoch, offset, event, detail in events:
        L.append(f"| {epoch - t0:.1f} | {event} | {detail} |")
    L.append("")
    L.append(f"Upstream downtime windows (kill → listening again + {args.grace:g} s grace): "
             + (", ".join(f"{a - t0:.1f}–{b - t0:.1f} s" for a, b in upstream_down) or "none"))
    L.append("")
    L.append("## Verdicts")
    L.append("")
    L.append(f"- stale reads after writes (id-partitioned checkers, normal GET through cachecar): "
             f"**{len(stale)}**{f' on {len(set(x[1] for x in stale))} id(s)' if stale else ''} (fresh reads checked: {by_kind[('check', 'fresh_read')]['ok']}, "
             f"checked writes: {sum(by_kind[('good', 'check_write')].values())})")
    L.append(f"- good-request errors outside the upstream's downtime: **{len(outside)}**; "
             f"inside it (expected 502s): {len(inside)}"
             + (f" (only the first {len(errors)} of {res['error_count']} errors were recorded)"
                if truncated else ""))
    if outside:
        by_cause = collections.Counter((where(e), e[2], e[5]) for e in outside)
        for (w, kind, outcome), v in by_cause.most_common():
            L.append(f"  - {v} × {kind} {outcome} ({w})")
        for e in outside[:10]:
            L.append(f"  - t={e[0] - t0:.2f}–{e[1] - t0:.2f} s {e[3]} {e[4]}: {e[5]} {e[6]}")
    bad_total = sum(v for (cat, _), oc in by_kind.items() if cat == "bad" for v in oc.values())
    bad_off = collections.Counter()
    for (cat, kind), oc in by_kind.items():
        if cat == "bad":
            bad_off[kind] = sum(v for o, v in oc.items() if "(expected" in o)
    off_kinds = [k for k, v in sorted(bad_off.items()) if v]
    L.append(f"- informational: bad requests answered otherwise than expected: "
             f"{sum(bad_off.values())} of {bad_total}"
             + (f" (kinds: {', '.join(off_kinds)}; see the table below)" if off_kinds else ""))
    if stale:
        L.append("")
        L.append("Stale reads (first 20): t, id, acceptable, got, X-Cache, Cache-Status, Age, s since the write")
        L.append("")
        for t, pid, exp, got, xc, cs, age, since in stale[:20]:
            L.append(f"- t={t - t0:.2f} s {pid} expected {exp} got {got} X-Cache={xc!r} "
                     f"Cache-Status={cs!r} Age={age!r} since_put={since}")
    L.append("")
    L.append("## Memory and file descriptors (every 10 s)")
    L.append("")
    if rss:
        L.append(f"- RSS (VmRSS): first {rss[0] / 1024:.1f} MiB, last {rss[-1] / 1024:.1f} MiB, "
                 f"max {max(rss) / 1024:.1f} MiB")
    if fds:
        L.append(f"- open fds: first {fds[0]}, last {fds[-1]}, max {max(fds)}")
    L.append("")
    L.append("| t (s) | RSS MiB | fds | client conns | pending inval. | redis up | requests |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|")
    for s in samples:
        rss_mib = f"{int(s[1]) / 1024:.1f}" if s[1].isdigit() else s[1]
        L.append(f"| {s[0]} | {rss_mib} | {s[2]} | {s[3]} | {s[4]} | {s[5]} | {s[6]} |")
    L.append("")
    L.append("## Requests by outcome")
    L.append("")
    L.append("| category | kind | outcomes |")
    L.append("|---|---|---|")
    for (cat, kind), outcomes in sorted(by_kind.items()):
        exp = res["bad_expected"].get(kind) if cat == "bad" else None
        text = ", ".join(f"{o}: {v}" for o, v in outcomes.most_common())
        L.append(f"| {cat} | {kind}{f' (expect {exp})' if exp else ''} | {text} |")
    L.append("")
    L.append("## Slow clients (seconds until cachecar closed the connection)")
    L.append("")
    slow = collections.defaultdict(list)
    for _, kind, secs, outcome in res["slow"]:
        slow[kind].append((secs, outcome))
    L.append("| kind | attempts | closed | median s | max s | outcomes |")
    L.append("|---|---:|---:|---:|---:|---|")
    for kind, items in sorted(slow.items()):
        closed = [s for s, _ in items if s is not None]
        oc = ", ".join(f"{o}: {v}" for o, v in collections.Counter(o for _, o in items).most_common())
        med = f"{statistics.median(closed):.1f}" if closed else "–"
        top = f"{max(closed):.1f}" if closed else "–"
        L.append(f"| {kind} | {len(items)} | {len(closed)} | {med} | {top} | {oc} |")
    L.append("")
    L.append(f"Expected: a trickled head is closed after `limits.client_header_timeout` (10 s by default; "
             f"on a kept-alive connection counted from its first byte), a stalled reader after "
             f"`limits.client_body_timeout` (30 s); the cap is {args.slow_cap:g} s.")
    text = "\n".join(L) + "\n"
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--upstream", required=True)
    s.add_argument("--count", type=int, default=200)
    s.add_argument("--out", required=True)
    s = sub.add_parser("load")
    s.add_argument("--base", required=True)
    s.add_argument("--admin", required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--ids", required=True)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--readers", type=int, default=3)
    s.add_argument("--writers", type=int, default=1)
    s.add_argument("--checkers", type=int, default=2)
    s.add_argument("--ids-per-checker", type=int, default=10)
    s.add_argument("--sample-every", type=float, default=10)
    s.add_argument("--slow-cap", type=float, default=75)
    s.add_argument("--skip-bad", default="")
    s.add_argument("--checker-write-base", default="",
                   help="self-test: checkers PUT here (the upstream), around the cache")
    s = sub.add_parser("report")
    s.add_argument("--out", required=True)
    s.add_argument("--grace", type=float, default=3)
    s.add_argument("--alive", type=int, required=True)
    s.add_argument("--slow-cap", type=float, default=75)
    args = ap.parse_args()
    return {"setup": cmd_setup, "load": cmd_load, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
