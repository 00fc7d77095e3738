# Turns the raw tables that bench/run.sh writes into markdown (stdout).
#   awk -v dir=RAW-DIR -v l1_supported=0|1 -f bench/report.awk
# RAW-DIR holds labels.tsv, scenarios.tsv, results.tsv (one line per wrk run), warm.tsv and
# memory.tsv. Portable awk (Debian's default is mawk): no gawk extensions.

# Little's law: with n connections always busy at r req/s, a request takes n / r on average.
# When the server is already saturated at the lower connection count, that mean alone sets a
# floor under the higher count's p99 that no scheduling can beat. p99 / mean at both counts
# shows whether the tail itself grew, or only the whole distribution moved.
function little(n_hi, r_hi, p99_hi, n_lo, r_lo, p99_lo,    mean_hi, mean_lo) {
  if (r_hi <= 0 || r_lo <= 0 || p99_lo <= 0) return "Little's law: no rate"
  mean_hi = n_hi / r_hi * 1000000; mean_lo = n_lo / r_lo * 1000000
  return sprintf("Little's law floor: %d connections at %s req/s wait %s ms on average, already × %s the %d-connection p99 (× 2 would need ≥ %s req/s); p99 / mean: %s at %d, %s at %d connections",
    n_hi, commas(r_hi), ms(mean_hi), ratio(mean_hi, p99_lo), n_lo, commas(n_hi / (2 * p99_lo) * 1000000),
    ratio(p99_hi, mean_hi), n_hi, ratio(p99_lo, mean_lo), n_lo)
}

function median(list, n,    i, j, t, a) {  # list[1..n]
  if (n == 0) return 0
  for (i = 1; i <= n; i++) a[i] = list[i] + 0
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
  if (n % 2) return a[(n + 1) / 2]
  return (a[n / 2] + a[n / 2 + 1]) / 2
}
function commas(x,    s, out) {
  s = sprintf("%.0f", x)
  out = ""
  while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
  return s out
}
function ms(us) { return sprintf(us < 1000 ? "%.3f" : "%.2f", us / 1000) }
function mib(kb) { return sprintf("%.1f", kb / 1024) }
function ratio(a, b) { return (b > 0 && a > 0) ? sprintf("%.2f", a / b) : "–" }
function yesno(ok) { return ok ? "**met**" : "**not met**" }
function add(notes, text) { return notes == "" ? text : notes "; " text }
# Sets A_*, B_* for a target comparison of keys ka and kb: the quiet rounds' medians when either
# side had a disturbed round and both have quiet ones, else the plain medians.
function pick(ka, kb) {
  if ((disturbed[ka] > 0 || disturbed[kb] > 0) && quiet[ka] > 0 && quiet[kb] > 0) {
    A_rps = med_quiet[ka]; B_rps = med_quiet[kb]; A_p99 = med_quiet_p99[ka]; B_p99 = med_quiet_p99[kb]
    qnote = sprintf(" (quiet rounds only: %d and %d of %d)", quiet[ka], quiet[kb], runs[ka])
  } else {
    A_rps = med_rps[ka]; B_rps = med_rps[kb]; A_p99 = med_p99[ka]; B_p99 = med_p99[kb]; qnote = ""
  }
}

function read_tsv(name, kind,    file, line, f, k) {
  file = dir "/" name
  while ((getline line < file) > 0) {
    split(line, f, "\t")
    if (kind == "labels") {
      corder[++nc] = f[1]; label[f[1]] = f[2]; avail[f[1]] = f[3]
    } else if (kind == "scenarios") {
      sorder[++ns] = f[1]; kind_of[f[1]] = f[2]; conns[f[1]] = f[3]; path[f[1]] = f[4]; title[f[1]] = f[5]
    } else if (kind == "results") {
      if (f[1] == "scenario") continue
      k = f[1] SUBSEP f[2]
      if (f[15] != "ok") { failed[k]++; continue }
      runs[k]++
      RPS[k, runs[k]] = f[5]; P50[k, runs[k]] = f[6]; P99[k, runs[k]] = f[8]
      CPU[k, runs[k]] = f[10]; OTHER[k, runs[k]] = f[11]; WRK[k, runs[k]] = f[16]
      if (f[11] > 25) disturbed[k]++
      else { quiet[k]++; QRPS[k, quiet[k]] = f[5]; QP99[k, quiet[k]] = f[8] }
      if (f[12] >= 0) { origin_total[k] += f[12]; has_origin[k] = 1 }
      sock[k] += f[13]; non2xx[k] += f[14]; requests[k] += f[4]
    } else if (kind == "warm") {
      whits[f[1], f[2]] = f[3]; wtotal[f[1], f[2]] = f[4]
    } else if (kind == "memory") {
      mhwm[f[1], f[2]] = f[3]; mrss[f[1], f[2]] = f[4]; mredis[f[1], f[2]] = f[5]; idle[f[2]] = f[6]
    }
  }
  close(file)
}

# Medians of one scenario/contender into med_* (indexed by scenario, contender).
function summarise(s, c,    k, n, i, l1, l2, l3, l4, l5, l6, lo, hi) {
  k = s SUBSEP c
  n = runs[k]
  for (i = 1; i <= n; i++) {
    l1[i] = RPS[k, i]; l2[i] = P50[k, i]; l3[i] = P99[k, i]; l4[i] = CPU[k, i]; l5[i] = OTHER[k, i]
    l6[i] = WRK[k, i]
    if (i == 1 || RPS[k, i] < lo) lo = RPS[k, i]
    if (i == 1 || RPS[k, i] > hi) hi = RPS[k, i]
  }
  med_rps[k] = median(l1, n); med_p50[k] = median(l2, n); med_p99[k] = median(l3, n)
  med_cpu[k] = median(l4, n); med_other[k] = median(l5, n); med_wrk[k] = median(l6, n)
  spread[k] = (n > 1 && med_rps[k] > 0) ? (hi - lo) / med_rps[k] * 100 : 0
  for (i = 1; i <= quiet[k]; i++) { l1[i] = QRPS[k, i]; l3[i] = QP99[k, i] }
  med_quiet[k] = median(l1, quiet[k] + 0); med_quiet_p99[k] = median(l3, quiet[k] + 0)
}

BEGIN {
  FS = "\t"
  read_tsv("labels.tsv", "labels")
  read_tsv("scenarios.tsv", "scenarios")
  read_tsv("results.tsv", "results")
  read_tsv("warm.tsv", "warm")
  read_tsv("memory.tsv", "memory")

  for (si = 1; si <= ns; si++) {
    s = sorder[si]
    for (ci = 1; ci <= nc; ci++) { c = corder[ci]; if (runs[s, c] > 0) summarise(s, c) }
    ceil = med_rps[s, "ceiling"] + 0
    varn = med_rps[s, "varnish"] + 0

    print "## " title[s]
    print ""
    print "`" path[s] "`, " conns[s] " connection" (conns[s] == 1 ? "" : "s") "; medians of the rounds."
    print ""
    print "| contender | req/s | × ceiling | × Varnish | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | errors (socket / non-2xx) | origin requests | wrk CPU % | other CPU % | notes |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for (ci = 1; ci <= nc; ci++) {
      c = corder[ci]; k = s SUBSEP c
      if (runs[k] == 0 && failed[k] == 0) {
        if (c == "cachecar-l1" && avail[c] == 0)
          printf "| %s | not available | | | | | | | | | | | this build rejects `cache.l1` (`--check-config`) |\n", label[c]
        continue
      }
      notes = ""
      if (failed[k] > 0) notes = add(notes, "**wrk failed in " failed[k] " round(s)**")
      if (kind_of[s] == "hit" && has_origin[k] && origin_total[k] > 0)
        notes = add(notes, "**MISSES: the origin served " origin_total[k] " requests**")
      if ((s, c) in wtotal && whits[s, c] < wtotal[s, c] && c != "ceiling" && c != "origin")
        notes = add(notes, "**not warm: " whits[s, c] "/" wtotal[s, c] " hits after warming**")
      if (med_wrk[k] >= 95) notes = add(notes, "wrk saturated (the load generator, not the server, is the limit)")
      if (spread[k] > 10) notes = add(notes, sprintf("rounds differ by %.0f %%", spread[k]))
      if (disturbed[k] > 0) {
        notes = add(notes, disturbed[k] "/" runs[k] " rounds disturbed (other CPU > 25 %)")
        if (quiet[k] > 0) {
          t = sprintf("quiet rounds: %s req/s", commas(med_quiet[k]))
          if (c != "ceiling" && quiet[s, "ceiling"] > 0)
            t = t sprintf(", × %s the ceiling's quiet rounds", ratio(med_quiet[k], med_quiet[s, "ceiling"]))
          notes = add(notes, t)
        }
      } else if (quiet[k] > 0 && c != "ceiling" && disturbed[s, "ceiling"] > 0 && quiet[s, "ceiling"] > 0)
        notes = add(notes, sprintf("× %s the ceiling's quiet rounds", ratio(med_quiet[k], med_quiet[s, "ceiling"])))
      if (kind_of[s] == "hit" && has_origin[k] && origin_total[k] == 0 && (s, c) in wtotal && c != "ceiling")
        notes = add(notes, "warm: " whits[s, c] "/" wtotal[s, c] " HIT, 0 origin requests")
      rss = (s, c) in mhwm ? mib(mhwm[s, c]) : "?"
      if (mredis[s, c] > 0) rss = rss " + " mib(mredis[s, c]) " Redis"
      printf "| %s | %s | %s | %s | %s | %s | %.1f | %s | %d / %d | %s | %.0f | %.0f | %s |\n",
        label[c], commas(med_rps[k]), (c == "ceiling" ? "1.00" : ratio(med_rps[k], ceil)),
        (c == "varnish" ? "1.00" : ratio(med_rps[k], varn)), ms(med_p50[k]), ms(med_p99[k]),
        med_cpu[k], rss, sock[k], non2xx[k], (has_origin[k] ? commas(origin_total[k]) : "—"),
        med_wrk[k], med_other[k], notes
    }
    print ""
    if (kind_of[s] == "miss" && runs[s, "origin"] > 0) {
      line = ""
      for (ci = 1; ci <= nc; ci++) {
        c = corder[ci]
        if (c ~ /^cachecar/ && runs[s, c] > 0)
          line = line (line == "" ? "" : ", ") sprintf("%s %+.3f ms", c, (med_p50[s, c] - med_p50[s, "origin"]) / 1000)
      }
      print "p50 added to going to the origin directly: " line "."
      print ""
    }
  }

  # --- the issue's targets, from this run's medians ---
  print "## Targets (issue 5), from this run"
  print ""
  print "Where a round of either side was disturbed (other CPU > 25 %) and both have quiet rounds, the comparison uses the quiet rounds' medians and says so."
  print ""
  print "| target | measured | verdict |"
  print "|---|---|---|"
  k = "c50" SUBSEP "cachecar-redis"; kv = "c50" SUBSEP "varnish"
  if (runs[k] > 0 && runs[kv] > 0) {
    pick(k, kv)
    printf "| Redis store, L1 off, 50 connections: req/s ≥ Varnish's and p99 ≤ Varnish's | %s vs %s req/s (× %s); p99 %s vs %s ms%s | %s |\n",
      commas(A_rps), commas(B_rps), ratio(A_rps, B_rps), ms(A_p99), ms(B_p99), qnote,
      yesno(A_rps >= B_rps && A_p99 <= B_p99)
  }
  k = "c50" SUBSEP "cachecar-l1"; kc = "c50" SUBSEP "ceiling"
  if (runs[k] > 0 && runs[kc] > 0) {
    pick(k, kc)
    printf "| L1 on, 50 connections: ≥ 0.8 × the ceiling | %s vs %s req/s (× %s)%s | %s |\n",
      commas(A_rps), commas(B_rps), ratio(A_rps, B_rps), qnote, yesno(A_rps >= 0.8 * B_rps)
  }
  else if (l1_supported == 0)
    print "| L1 on, 50 connections: ≥ 0.8 × the ceiling | L1 not available in this build | **not measured** |"
  if (runs["c200", "ceiling"] > 0 && runs["c50", "ceiling"] > 0) {
    pick("c200" SUBSEP "ceiling", "c50" SUBSEP "ceiling")
    printf "| (reference) the ceiling, 200 vs 50 connections | p99 %s vs %s ms (× %s)%s; %s | — |\n",
      ms(A_p99), ms(B_p99), ratio(A_p99, B_p99), qnote, little(conns["c200"], A_rps, A_p99, conns["c50"], B_rps, B_p99)
  }
  for (ci = 1; ci <= nc; ci++) {
    c = corder[ci]
    if (c !~ /^cachecar/) continue
    k = "c200" SUBSEP c; k0 = "c50" SUBSEP c
    if (runs[k] > 0 && runs[k0] > 0) {
      pick(k, k0)
      printf "| %s, 200 connections: no errors, p99 ≤ 2 × the 50-connection p99 | %d socket / %d non-2xx errors; p99 %s vs %s ms (× %s)%s; %s | %s |\n",
        c, sock[k], non2xx[k], ms(A_p99), ms(B_p99), ratio(A_p99, B_p99), qnote,
        little(conns["c200"], A_rps, A_p99, conns["c50"], B_rps, B_p99), yesno(sock[k] + non2xx[k] == 0 && A_p99 <= 2 * B_p99)
    }
  }
  for (ci = 1; ci <= nc; ci++) {
    c = corder[ci]
    if (c !~ /^cachecar/) continue
    k = "miss" SUBSEP c; ko = "miss" SUBSEP "origin"
    if (runs[k] > 0 && runs[ko] > 0)
      printf "| %s, miss path (nocache): adds ≤ 0.2 ms to the origin's p50 | p50 %s vs %s ms (%+.3f ms) | %s |\n",
        c, ms(med_p50[k]), ms(med_p50[ko]), (med_p50[k] - med_p50[ko]) / 1000,
        yesno(med_p50[k] - med_p50[ko] <= 200)
  }
  for (ci = 1; ci <= nc; ci++) {
    c = corder[ci]
    if (c !~ /^cachecar/ || !(("end", c) in mrss)) continue
    printf "| %s: idle RSS ≤ 30 MB | %s MiB | %s |\n", c, mib(idle[c]), yesno(idle[c] <= 30 * 1000 * 1000 / 1024)
    allowance = 2 * idle[c] + (c == "cachecar-redis" ? 0 : 65536)
    printf "| %s: RSS after the benchmark ≤ 2 × idle%s | %s MiB now, peak %s MiB; allowance %s MiB | %s |\n",
      c, (c == "cachecar-l1" ? " + L1 size (64 MiB)" : (c == "cachecar-memory" ? " + memory:// capacity (64 MiB)" : "")),
      mib(mrss["end", c]), mib(mhwm["end", c]), mib(allowance), yesno(mrss["end", c] <= allowance)
  }
  print ""

  # --- memory ---
  print "## Memory"
  print ""
  print "RSS in MiB, summed over a server's processes (nginx master + workers, Varnish manager + child; shared pages are counted in each process). Idle = after start, before any request."
  print ""
  print "| contender | idle RSS | RSS after all scenarios | peak RSS (VmHWM) | its Redis, peak |"
  print "|---|---:|---:|---:|---:|"
  for (ci = 1; ci <= nc; ci++) {
    c = corder[ci]
    if (!(("end", c) in mrss)) continue
    printf "| %s | %s | %s | %s | %s |\n", label[c], mib(idle[c]), mib(mrss["end", c]), mib(mhwm["end", c]),
      (mredis["end", c] > 0 ? mib(mredis["end", c]) : "—")
  }
  print ""
  print "Columns: **req/s** median over the rounds; **× ceiling**, **× Varnish** = that median divided by the ceiling's / Varnish's median in the same scenario of this run; **p50/p99** medians of the rounds' wrk percentiles; **CPU µs/req** = utime+stime of the server's processes (and its Redis) during the run, per request; **origin requests** = requests the origin counted (nginx stub_status) during the contender's runs, summed over rounds — must be 0 for hits; **wrk CPU %** = the load generator's CPU (user + system) in % of one core: near 100 means wrk itself was the limit, and the server could go faster; **other CPU %** = CPU used on the machine during the run by anything but the server, its Redis, the origin and wrk, in % of one core (other users' builds, kernel work not charged to a process): high values mean a disturbed run."
  print ""
}
