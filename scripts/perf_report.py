#!/usr/bin/env python3
"""Turns Google Benchmark JSON output into docs/performance.md and a throughput chart.

    scripts/run_benchmarks.sh            # runs the binaries, writes build/bench/*.json, calls this
    scripts/perf_report.py benchmarks/results/*.json --out docs/performance.md --png docs/performance_throughput.png \
        --append benchmarks/performance_notes.md   # regenerate from the committed final run

Every ratio comes from the benchmark binary itself (counters ratio_vs_bare / throughput_vs_bare,
measured in the same run right after our loop, see benchmarks/bench_util.h); this script only
formats. With --benchmark_repetitions the medians are used.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

SIZES = [0, 64, 1 << 10, 64 << 10, 1 << 20, 64 << 20]
SUITES = {"1": "AES-256-GCM", "2": "XChaCha20-Poly1305"}


def human_size(n):
    n = int(n)
    if n >= 1 << 20:
        return f"{n >> 20} MiB"
    if n >= 1 << 10:
        return f"{n >> 10} KiB"
    return f"{n} B"


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.0f} ns"


def fmt_rate(bps):
    if bps is None or bps == 0:
        return "-"
    mb = bps / 1e6
    if mb >= 1000:
        return f"{mb / 1000:.2f} GB/s"
    return f"{mb:.1f} MB/s"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def to_ns(value, unit):
    return value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


class Result:
    def __init__(self, entry):
        self.raw = entry
        name = entry.get("run_name", entry["name"])
        parts = name.split("/")
        self.base = parts[0]
        self.params = {}
        positional = 0
        for p in parts[1:]:
            if ":" in p:
                k, v = p.split(":", 1)
                self.params[k] = v
            else:
                self.params[f"arg{positional}"] = p
                positional += 1
        self.params.setdefault("threads", str(entry.get("threads", 1)))
        self.ns = to_ns(entry["real_time"], entry.get("time_unit", "ns"))
        self.cpu_ns = to_ns(entry["cpu_time"], entry.get("time_unit", "ns"))
        self.bps = entry.get("bytes_per_second")
        self.counters = {k: v for k, v in entry.items() if isinstance(v, (int, float))}

    def p(self, key, default=None):
        return self.params.get(key, default)

    def c(self, key):
        return self.counters.get(key)


def load(paths):
    results = []
    context = None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context = context or data.get("context", {})
        entries = data.get("benchmarks", [])
        has_aggregates = any(e.get("run_type") == "aggregate" for e in entries)
        for e in entries:
            if has_aggregates:
                if e.get("run_type") != "aggregate" or e.get("aggregate_name") != "median":
                    continue
            if e.get("error_occurred"):
                continue
            results.append(Result(e))
    return results, context or {}


def find(results, base, **params):
    for r in results:
        if r.base != base:
            continue
        if all(r.p(k) == str(v) for k, v in params.items()):
            return r
    return None


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(x) for x in row) + " |")
    return "\n".join(out)


def chart(results, png_path):
    """Throughput by message size, ours (cache off, 1 thread) against the bare AEADs."""
    if shutil.which("gnuplot") is None:
        print("perf_report: gnuplot not found (apt-get install gnuplot-nox); no chart", file=sys.stderr)
        return False
    series = [
        ("Seal AES-256-GCM (ours)", "BM_Seal", {"suite": 1, "cache": 0, "threads": 1}, "bytes"),
        ("Open AES-256-GCM (ours)", "BM_Open", {"suite": 1, "cache": 0, "threads": 1}, "bytes"),
        ("AES-256-GCM seal (bare EVP)", "BM_BareAesGcmSeal", {"threads": 1}, "arg0"),
        ("AES-256-GCM open (bare EVP)", "BM_BareAesGcmOpen", {"threads": 1}, "arg0"),
        ("Seal XChaCha20-Poly1305 (ours)", "BM_Seal", {"suite": 2, "cache": 0, "threads": 1}, "bytes"),
        ("XChaCha20-Poly1305 seal (bare libsodium)", "BM_BareXChaChaSeal", {"threads": 1}, "arg0"),
        ("Seal AES-256-GCM, cache on (ours)", "BM_Seal", {"suite": 1, "cache": 1, "threads": 1}, "bytes"),
    ]
    tmp = tempfile.mkdtemp()
    plots = []
    for i, (title, base, params, size_key) in enumerate(series):
        rows = []
        for size in SIZES:
            if size == 0:
                continue  # log scale
            r = find(results, base, **params, **{size_key: size})
            if r and r.bps:
                rows.append((size, r.bps / 1e6))
        if not rows:
            continue
        path = os.path.join(tmp, f"s{i}.dat")
        with open(path, "w") as f:
            for size, mbps in rows:
                f.write(f"{size} {mbps}\n")
        plots.append(f"'{path}' using 1:2 with linespoints title '{title}'")
    if not plots:
        return False
    script = f"""
set terminal pngcairo size 1200,600 noenhanced
set output '{png_path}'
set logscale x 2
set logscale y 10
set xlabel 'message size (bytes)'
set ylabel 'throughput (MB/s)'
set title 'Throughput by message size: ours vs bare primitives (1 thread, cache off unless noted)'
set key outside right top
set xrange [40:1.2e8]
set grid
set xtics ('64 B' 64, '1 KiB' 1024, '64 KiB' 65536, '1 MiB' 1048576, '64 MiB' 67108864)
plot {", ".join(plots)}
"""
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    except subprocess.CalledProcessError:
        script = script.replace("pngcairo", "png")
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    return True


def render(results, context, png_name, have_png, run_note):
    out = []
    w = out.append
    w("# Performance")
    w("")
    w("<!-- Generated by scripts/perf_report.py from Google Benchmark JSON; edit the script, not this file. -->")
    w("")
    w(f"Measured on this machine: {context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz, "
      f"load average {', '.join(f'{x:.2f}' for x in context.get('load_avg', []))} at the start, "
      f"date {context.get('date', '?')}. {run_note}")
    w("")
    w("**Method.** Each benchmark binary measures our operation and, in the same run right after "
      "it, the bare primitive chain it is built on, for the same number of iterations (best of "
      "three rounds, which can only make our ratios look worse); the ratio "
      "is reported by the binary as a counter (`ratio_vs_bare` = our time / bare time, "
      "`throughput_vs_bare` = bare time / our time). Ratios are medians over repetitions "
      "(`--benchmark_report_aggregates_only=true`, repetitions as stated above). The VM is a shared "
      "2-core machine: absolute figures move by 10-20% between runs; the ratios, measured "
      "back-to-back, move less. Debian's libbenchmark is a debug build (its own bookkeeping only; "
      "our code is built with `-c opt`).")
    w("")

    # ---- Targets ----
    w("## Targets")
    w("")
    rows = []
    g = find(results, "BM_GenerateDataKey", bytes=32, cache=0, threads=1)
    if g:
        r = g.c("ratio_vs_bare")
        rows.append(["Local GenerateDataKey (32 B) + wrap vs bare chain (random 32 B + one AES-GCM "
                     "encrypt of 32 B under a precomputed key)", "<= 1.5x time",
                     f"{fmt_ratio(r)} ({fmt_ns(g.ns)} vs {fmt_ns(g.c('bare_ns'))})",
                     "met" if r is not None and r <= 1.5 else "MISSED"])
    for op in ("BM_Seal", "BM_Open"):
        for size in (1 << 20, 64 << 20):
            s = find(results, op, suite=1, bytes=size, cache=0, threads=1)
            if not s:
                continue
            t = s.c("throughput_vs_ipsec_mb")
            e = s.c("throughput_vs_evp")
            limit = fmt_rate(size / s.c("ipsec_mb_ns") * 1e9) if s.c("ipsec_mb_ns") else "-"
            evp = fmt_rate(size / s.c("evp_ns") * 1e9) if s.c("evp_ns") else "-"
            rows.append([f"{op[3:]} {human_size(size)} (AES-256-GCM suite) vs one raw intel-ipsec-mb "
                         f"AES-256-GCM call of {human_size(size)}; and vs OpenSSL EVP",
                         ">= 0.85x throughput; >= 3x EVP",
                         f"{fmt_ratio(t)} ({fmt_rate(s.bps)} vs {limit}); {fmt_ratio(e)} of EVP ({evp})",
                         "met" if t is not None and t >= 0.85 and e is not None and e >= 3 else
                         ("limit met; EVP ratio MISSED" if t is not None and t >= 0.85 else "MISSED")])
    for op, goal in (("BM_Seal", 800), ("BM_Open", 900)):
        s = find(results, op, suite=1, bytes=64, cache=0, threads=1)
        if s:
            rows.append([f"{op[3:]} of a 64 B message (local provider{', fresh data key' if op == 'BM_Seal' else ''}), median",
                         f"<= {goal / 1000:.1f} us", f"{fmt_ns(s.ns)} wall, {fmt_ns(s.cpu_ns)} CPU",
                         "met" if s.cpu_ns <= goal else "MISSED"])
    w(table(["target", "goal", "measured", "status"], rows))
    w("")
    if g and g.c("blob_chain_ns"):
        w("The local provider must write the service's CiphertextBlob layout: the data key is "
          "base64-encoded and the AES-GCM input is that text (44 B for a 32-byte key, one AES "
          f"block more than the bare chain's 32 B). That chain alone takes {fmt_ns(g.c('blob_chain_ns'))} "
          f"in the same run, {fmt_ratio(g.c('blob_chain_ns') / g.c('bare_ns'))} the bare chain; "
          f"the local provider is {fmt_ratio(g.c('ratio_vs_blob_chain'))} of it (store lookup under a "
          "reader lock, RequestId, copying the ids into the response).")
        w("")

    # ---- Small messages, step by step ----
    steps = {r.base: r for r in results if r.base.startswith(("BM_Step_", "BM_Floor_"))
             or r.base in ("BM_Seal64", "BM_SealInto64", "BM_Open64", "BM_OpenInto64")}
    if steps:
        w("## Small messages: the per-message chain, step by step")
        w("")
        w("`benchmarks/seal_steps_benchmark.cc`, local provider, AES-256-GCM suite, 64-byte "
          "message, pinned to one core. Each step runs the same private function Envelope runs, in "
          "isolation. CPU time is the figure to read on this shared VM (wall time includes waiting "
          "for a core); both are medians.")
        w("")
        labels = [
            ("BM_Seal64", "Seal 64 B (whole operation, returns a std::string)", "-"),
            ("BM_SealInto64", "SealInto 64 B (whole operation, caller's buffer)", "-"),
            ("BM_Step_MessageIdRandom", "message id: 32 random bytes", "32 B random (format)"),
            ("BM_Step_LocalGenerateDataKey", "local GenerateDataKey: random key, AES-GCM wrap under the CMK, blob, ids", "wrap floor below"),
            ("BM_Step_BareWrapFloor", "  wrap floor: 32 + 12 random bytes, one raw ipsec-mb GCM seal of 32 B", "-"),
            ("BM_Step_DeriveMessageKeys", "derive (format v2): one-step KDF, payload key setup", "-"),
            ("BM_Step_OneStepKdf", "  one-step KDF (SP 800-56C, SHA-256), payload key + commitment", "4 SHA-256 compressions (v2)"),
            ("BM_Floor_Sha256FourCompressions", "  floor: two SHA-256 calls of 89 bytes", "-"),
            ("BM_Step_HkdfTwoOutputs", "  for comparison, format v1: HKDF-SHA256, payload key + commitment", "10 SHA-256 compressions (v1)"),
            ("BM_Floor_Sha256TenCompressions", "  v1 floor: one SHA-256 call of 10 compressions", "-"),
            ("BM_Step_PayloadKeySetup", "  payload key setup (locked buffer, AES schedule, GHASH table)", "one GCM key setup"),
            ("BM_Step_HeaderSerialize", "header: validate + serialize", "-"),
            ("BM_Step_HeaderTag", "header tag: AES-GCM over the header body", "one GCM call"),
            ("BM_Step_Frame64", "frame: AES-GCM seal of 64 B", "one GCM call"),
            ("BM_Floor_IpsecMbFreshKeyTwoCalls", "floor of the payload part: raw ipsec-mb key setup + header tag + 64 B frame", "-"),
            ("BM_Open64", "Open 64 B (whole operation)", "-"),
            ("BM_OpenInto64", "OpenInto 64 B (whole operation)", "-"),
            ("BM_Step_ParseHeader", "parse header into reused buffers (context compared with the expected one)", "-"),
            ("BM_Step_LocalDecrypt", "local Decrypt: parse blob, AES-GCM unwrap, ids", "one GCM open of 32 B"),
            ("BM_Step_VerifyHeader", "commitment (constant time) + header tag check", "one GCM call"),
        ]
        rows = []
        for base, label, need in labels:
            r = steps.get(base)
            if r:
                rows.append([label, fmt_ns(r.cpu_ns), fmt_ns(r.ns), need])
        w(table(["step", "CPU time", "wall time", "what the format requires"], rows))
        w("")
        backends = [r for r in results if r.base == "BM_Step_PayloadKeySetupBackend"]
        if backends:
            w("Payload key setup by AES-GCM backend (CPU time): " + ", ".join(
                f"{r.raw.get('label', r.p('arg0'))} {fmt_ns(r.cpu_ns)}" for r in backends) + ".")
            w("")
    scaling = [r for r in results if r.base == "BM_CacheHitScaling"]
    if scaling:
        r = scaling[0]
        w("## Cache hits from two threads")
        w("")
        w(f"`BM_CacheHitScaling` (data_key_benchmark): GenerateDataKey hits on one cached entry, "
          f"1 thread then 2 threads in the same repetition; median over repetitions. "
          f"1 thread {r.c('hits_per_s_1_thread') / 1e6:.2f} M hits/s, 2 threads "
          f"{r.c('hits_per_s_2_threads') / 1e6:.2f} M hits/s: aggregate ratio "
          f"**{fmt_ratio(r.c('aggregate_2_over_1'))}** (target >= 1.7x). Two threads can only "
          "scale when two cores are free; the load average of the run is in the header above.")
        w("")
    rocks = [r for r in results if r.base in ("BM_FillRandom", "BM_ReadRandom")]
    if rocks:
        w("## RocksDB with the KMS EncryptionProvider")
        w("")
        w("`benchmarks/rocksdb`: 16-byte keys, 100-byte values, no compression, 1 MiB block cache; "
          "mode 0 = plain Env, 1 = AES-256-CTR, 2 = XChaCha20. Ratios against plain in the same "
          "run, by wall-clock throughput and by CPU time per operation.")
        w("")
        rows = []
        for base in ("BM_FillRandom", "BM_ReadRandom"):
            plain = find(results, base, arg0=0)
            for mode in ("0", "1", "2"):
                r = find(results, base, arg0=mode)
                if not r:
                    continue
                ops = r.c("items_per_second")
                ratio = ops / plain.c("items_per_second") if plain and ops else None
                cpu_ratio = plain.cpu_ns / r.cpu_ns if plain and r.cpu_ns else None
                rows.append([base[3:], r.raw.get("label", mode), f"{ops / 1e3:.1f}k ops/s" if ops else "-",
                             fmt_ratio(ratio), fmt_ns(r.cpu_ns), fmt_ratio(cpu_ratio)])
        w(table(["benchmark", "Env", "throughput", "vs plain", "CPU/op", "vs plain (CPU)"], rows))
        w("")

    # ---- Data keys ----
    w("## Data keys: GenerateDataKey and Decrypt (local provider)")
    w("")
    w("Bare chain for GenerateDataKey: per-thread ChaCha20 generator for the key and the nonce + "
      "one AES-256-GCM encrypt of the key under a precomputed key schedule (the faster of "
      "libsodium and OpenSSL for that size). For Decrypt: one AES-256-GCM decrypt of the wrapped "
      "key. With the cache on, every call after the first is served from the cache.")
    w("")
    rows = []
    for base, label in (("BM_GenerateDataKey", "GenerateDataKey"), ("BM_Decrypt", "Decrypt")):
        for r in sorted((x for x in results if x.base == base),
                        key=lambda x: (int(x.p("bytes", 32)), x.p("cache"), int(x.p("threads")))):
            rows.append([label, human_size(r.p("bytes", 32)), "on" if r.p("cache") == "1" else "off",
                         r.p("threads"), fmt_ns(r.ns), fmt_ns(r.c("bare_ns")), fmt_ratio(r.c("ratio_vs_bare")),
                         fmt_ratio(r.c("ratio_vs_blob_chain")) if r.c("ratio_vs_blob_chain") else "-"])
    w(table(["operation", "key", "cache", "threads", "time/op", "bare chain", "ratio",
             "vs blob-layout chain"], rows))
    w("")
    w("With 2 threads, time/op is Google Benchmark's real time: elapsed wall time over the "
      "operations of both threads (half the 1-thread figure when it scales perfectly), and "
      "throughput is the aggregate. The 2-thread ratio compares each thread's own time per "
      "operation with the bare chain run by both threads at once, so it shows contention (the "
      "local store's lock, the SecretBytes pool lock; cache hits are served from per-thread "
      "leases, see cache.md).")
    w("")

    # ---- Seal/Open ----
    w("## Seal and Open by message size")
    w("")
    if have_png:
        w(f"![throughput by message size]({png_name})")
        w("")
    w("`vs AEAD` compares against one bare AEAD call over the whole message (OpenSSL EVP "
      "AES-256-GCM or libsodium XChaCha20-Poly1305, key schedule precomputed); `vs chain` compares "
      "against the full bare chain (new data key + wrap, the v2 one-step KDF, header tag, "
      "payload AEAD) for Seal, and (unwrap + one-step KDF + header tag + payload AEAD) for Open.")
    w("")
    for suite, suite_name in SUITES.items():
        rows = []
        for op in ("BM_Seal", "BM_Open"):
            for cache in ("0", "1"):
                for threads in ("1", "2"):
                    for size in SIZES:
                        r = find(results, op, suite=suite, bytes=size, cache=cache, threads=threads)
                        if not r:
                            continue
                        rows.append([op[3:], human_size(size), "on" if cache == "1" else "off", threads,
                                     fmt_ns(r.ns), fmt_rate(r.bps), fmt_ratio(r.c("throughput_vs_bare")),
                                     fmt_ratio(r.c("ratio_vs_chain"))])
        if rows:
            w(f"### {suite_name}")
            w("")
            w(table(["op", "size", "cache", "threads", "time/op", "throughput", "vs AEAD (throughput)",
                     "vs chain (time)"], rows))
            w("")

    # ---- Streaming ----
    stream = [r for r in results if r.base in ("BM_SealStream", "BM_OpenStream")]
    if stream:
        w("## Streaming a file")
        w("")
        w("SealStream/OpenStream from a file to a file (64 KiB frames) on the VM's disk (page "
          "cache); the bare figure is one AEAD call over the same bytes in memory, so the ratio "
          "includes the file I/O.")
        w("")
        rows = []
        for r in sorted(stream, key=lambda x: (x.base, x.p("suite"), int(x.p("bytes")), x.p("cache", "0"), x.p("threads"))):
            rows.append([r.base[3:], SUITES.get(r.p("suite"), r.p("suite")), human_size(r.p("bytes")),
                         "on" if r.p("cache") == "1" else "off", r.p("threads"),
                         fmt_ns(r.ns), fmt_rate(r.bps), fmt_ratio(r.c("throughput_vs_bare"))])
        w(table(["op", "suite", "size", "cache", "threads", "time/op", "throughput", "vs AEAD (throughput)"], rows))
        w("")

    # ---- Remote ----
    remote = [r for r in results if r.base.startswith("BM_Remote")]
    if remote:
        w("## Remote provider over loopback")
        w("")
        w("RemoteKeyProvider -> KMS-compatible HTTP server on 127.0.0.1 (signed requests, JSON), "
          "same process. Bare = the same operation on the local provider the server wraps.")
        w("")
        rows = []
        for r in sorted(remote, key=lambda x: (x.base, int(x.p("bytes", 0)), x.p("cache", "0"), x.p("threads"))):
            rows.append([r.base[9:], human_size(r.p("bytes")) if r.p("bytes") else "-",
                         "on" if r.p("cache") == "1" else "off", r.p("threads"), fmt_ns(r.ns),
                         fmt_ns(r.c("bare_ns")), fmt_ratio(r.c("ratio_vs_bare"))])
        w(table(["operation", "size", "cache", "threads", "time/op", "bare (local)", "ratio"], rows))
        w("")

    # ---- Cache workload ----
    work = [r for r in results if r.base == "BM_CacheWorkload"]
    if work:
        w("## Data-key cache: KMS calls saved")
        w("")
        w("100,000 messages of 64 B sealed through `CachingKeyProvider` with limits max_age 60 s, "
          "max_messages 10,000 (max_bytes 1 GiB, capacity 1,000). `rate` is the simulated arrival "
          "rate (messages per second, on an injected clock; 0 = back to back on the real clock); "
          "`tenants` is the number of distinct encryption contexts the messages rotate through. "
          "The security trade-off of each limit is explained in [cache.md](cache.md).")
        w("")
        rows = []
        for r in sorted(work, key=lambda x: (int(x.p("tenants")), int(x.p("rate")))):
            calls = r.c("kms_calls")
            saved = r.c("calls_saved_fraction")
            rows.append([r.p("tenants"), r.p("rate"), f"{int(r.c('messages') or 0):,}",
                         f"{int(calls):,}" if calls is not None else "-",
                         f"{saved * 100:.3f}%" if saved is not None else "-",
                         fmt_ns(r.c("ns_per_message"))])
        w(table(["tenants", "rate (msg/s)", "messages", "KMS calls", "calls saved", "time per message"], rows))
        w("")

    # ---- Primitives ----
    limit = [r for r in results if r.base in ("BM_BareIpsecMbGcmSeal", "BM_BareIpsecMbGcmOpen",
                                              "BM_BareAesGcmSeal", "BM_BareAesGcmOpen")]
    if limit:
        w("## The limit: one raw AES-256-GCM call")
        w("")
        w("intel-ipsec-mb (the arch `init_mb_mgr_auto` picks: AVX-512/VAES on this CPU) and "
          "OpenSSL 3.0 EVP, key schedule and GHASH table precomputed, one call per message. time/op is wall-clock (it includes waiting for a core on this loaded VM), throughput is Google Benchmark's bytes/s over CPU time.")
        w("")
        rows = []
        seen = set()  # the first input file wins (pass this round's JSON first)
        for r in limit:
            key = (r.base, r.p("arg0"))
            if r.p("threads") != "1" or key in seen or r.p("arg0") not in ("64", "1048576", "67108864"):
                continue
            seen.add(key)
            rows.append([r.base[3:], human_size(r.p("arg0") or 0), fmt_ns(r.ns), fmt_rate(r.bps)])
        rows.sort(key=lambda row: row[0])
        w(table(["primitive", "size", "time/op", "throughput"], rows))
        w("")
    fresh = [r for r in results if r.base == "BM_IpsecMbFreshKeySeal64"]
    if fresh:
        w("Fresh key per message (key schedule + GHASH table, then one 64-byte seal), by backend "
          "(`backend` 4 = ipsec-mb SSE, 6 = AVX2, 7 = AVX-512, 2 = OpenSSL):")
        w("")
        w(table(["backend", "time/op"], [[r.p("backend"), fmt_ns(r.ns)] for r in fresh]))
        w("")
    prim = [r for r in results if r.base.startswith("BM_Random32") or r.base == "BM_BareDataKeyChain"]
    if prim:
        w("## Primitives")
        w("")
        rows = []
        for r in prim:
            rows.append([r.base[3:] + (f" ({r.p('arg0')} B)" if r.p("arg0") else ""), r.p("threads"),
                         fmt_ns(r.ns)])
        w(table(["primitive", "threads", "time/op"], rows))
        w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+")
    ap.add_argument("--out", default="docs/performance.md")
    ap.add_argument("--png", default="docs/performance_throughput.png")
    ap.add_argument("--append", default=None, help="markdown file appended verbatim (hand-written sections)")
    ap.add_argument("--note", default="", help="sentence about the run (pinning, load)")
    args = ap.parse_args()
    results, context = load([p for p in args.json if not p.endswith("file_copy.json")])
    copy = [p for p in args.json if p.endswith("file_copy.json")]
    if not results:
        sys.exit("perf_report: no benchmark results in the input")
    have_png = chart(results, args.png)
    text = render(results, context, os.path.relpath(args.png, os.path.dirname(args.out) or "."), have_png, args.note)
    if copy:
        with open(copy[0]) as f:
            fc = json.load(f)
        m = fc["median_seconds"]
        rss = fc.get("max_rss_kib", {})
        text += ("\n## Files: encrypt and decrypt vs cp\n\n`benchmarks/file_copy_benchmark.sh`: "
                 f"{fc['bytes'] >> 20} MiB on tmpfs, opt build, medians of {fc['repetitions']} runs "
                 "in one script run.\n\n" + table(
                     ["command", "seconds", "throughput vs cp", "peak RSS"],
                     [[k, f"{m[k]:.2f}", fmt_ratio(m['cp'] / m[k]), f"{rss.get(k, 0) / 1024:.1f} MiB"]
                      for k in ("cp", "encrypt", "decrypt")]) +
                 f"\n\ndecrypt / encrypt time: {fmt_ratio(m['decrypt'] / m['encrypt'])} (target <= 1.1x).\n")
    if args.append:
        with open(args.append) as f:
            text += "\n" + f.read()
    with open(args.out, "w") as f:
        f.write(text + "\n")
    print(f"perf_report: wrote {args.out}" + (f" and {args.png}" if have_png else ""))


if __name__ == "__main__":
    main()
