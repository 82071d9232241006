#!/usr/bin/env python3
"""Measures referstreamd against issue #15's daemon targets (not in CI): one live 25 fps stream, the
default window, one phrase.

usage: REFERSTREAM_PYTHON=.venv/bin/python .venv/bin/python tools/daemon_targets.py --weights R50.safetensors
       [--tokenizer DIR] [--bin .build/release] [--seconds 120] [--width 640 --height 360] [--side 360]

R50 weights without the released checkpoint: `tools/make_random_checkpoint.py r50.pth` (the official
shapes, random values), then `referstream convert r50.pth r50.safetensors`.

Runs the daemon (log level debug) on a live videotestsrc (pattern ball, `live: true`: paced at the frame
rate like a camera), with a subscriber that receives every mask. Reports:
- frame age at publish (publish_time - capture_time of every mask message): p50 / p99 / max, and the
  frames received, processed and dropped (a bounded age with drops means frames are dropped, not
  queued);
- pipeline overhead outside the model per processed frame (the daemon's
  `referstream_frame_overhead_seconds`, exact values from its debug log): p50 / p99 / max;
- peak RSS (VmHWM) and its split at the end (RssAnon: heap; RssFile: the memory-mapped weights and
  libraries), sampled every second;
- CPU seconds per thread name (/proc/PID/task; OpenBLAS and Dispatch workers included), in all and per
  received frame: GStreamer's source, conversion and scaling threads are the ingest's cost.
The machine's load (`uptime`) is printed with the figures: on a shared machine latency is noise.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from soak import Watcher, free_port, metrics  # tools/soak.py, next to this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(rest.split()[0]) * 1024
    return out


def thread_cpu(pid):
    """Thread name -> CPU seconds (utime + stime), summed over threads of that name."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--weights", required=True)
    parser.add_argument("--tokenizer", default=os.path.join(ROOT, "Tests/Fixtures/tokenizer"))
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--side", type=int, default=360, help="model.shorter_side")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="referstream-targets-")
    masks, control, http = free_port(), free_port(), free_port()
    config = os.path.join(work, "targets.yaml")
    with open(config, "w") as f:
        f.write(f"""model: {{weights: {args.weights}, tokenizer: {args.tokenizer}, threads: {args.threads}, shorter_side: {args.side}}}
transport: {{masks: tcp://127.0.0.1:{masks}, control: tcp://127.0.0.1:{control}}}
metrics: {{listen: 127.0.0.1:{http}}}
streams:
  - id: cam
    source: test
    params: {{pattern: ball, live: true, width: {args.width}, height: {args.height}, framerate: 25}}
    phrases: ["the ball"]
""")
    watcher = Watcher(f"tcp://127.0.0.1:{masks}")
    watcher.start()
    log_path = os.path.join(work, "referstreamd.log")
    log = open(log_path, "w")
    environment = dict(os.environ, MALLOC_ARENA_MAX=os.environ.get("MALLOC_ARENA_MAX", "2"))  # as the systemd units
    daemon = subprocess.Popen([os.path.join(args.bin, "referstreamd"), "--config", config, "--log-level", "debug"],
                              stderr=log, env=environment)
    address = f"127.0.0.1:{http}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            metrics(address)
            break
        except OSError:
            if daemon.poll() is not None:
                sys.exit(f"referstreamd exited ({daemon.returncode}); log: {log_path}")
            time.sleep(0.5)
    loaded = status(daemon.pid)
    print(f"targets: daemon pid {daemon.pid} up, RSS after loading {loaded['VmRSS'] / 1e9:.2f} GB; "
          f"running {args.seconds:.0f} s; log {log_path}", flush=True)
    cpu0, start = thread_cpu(daemon.pid), time.time()
    peak, samples = loaded, []
    while time.time() - start < args.seconds:
        time.sleep(1)
        s = status(daemon.pid)
        samples.append(s)
        if s["VmHWM"] > peak["VmHWM"]:
            peak = s
    cpu1, m, end_status = thread_cpu(daemon.pid), metrics(address), status(daemon.pid)
    load = open("/proc/loadavg").read().split()[:3]
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=30)
    log.close()

    with watcher.lock:
        ages = list(watcher.ages)
    overheads, handoffs, engines, publishes, publish_cpus, models = [], [], [], [], [], []
    pattern = re.compile(r"frame overhead ([0-9.]+) ms \(hand-off ([0-9.]+) ms, engine ([0-9.]+) ms, publish (-?[0-9.]+) ms, "
                         r"publish CPU ([0-9.]+) ms\), model ([0-9.]+) s")
    with open(log_path) as f:
        for line in f:
            match = pattern.search(line)
            if match:
                for values, group in ((overheads, 1), (handoffs, 2), (engines, 3), (publishes, 4), (publish_cpus, 5), (models, 6)):
                    values.append(float(match.group(group)))
    received = m.get('referstream_frames_received_total{stream="cam"}', 0)
    processed = m.get('referstream_frames_processed_total{stream="cam"}', 0)
    windows = m.get('referstream_windows_total{stream="cam"}', 0)
    stages = {k.split('"')[1]: v for k, v in m.items() if k.startswith("referstream_inference_stage_seconds_total")}
    dropped = {k: v for k, v in m.items() if k.startswith("referstream_frames_dropped_total")}
    cpu = {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu1}
    busy = sorted(((v, k) for k, v in cpu.items() if v > 0.05), reverse=True)
    result = {
        "load_average": load,
        "seconds": args.seconds, "frames_received": received, "frames_processed": processed, "windows": windows, "dropped": dropped,
        "frame_age_s": {"count": len(ages), "p50": percentile(ages, 50), "p99": percentile(ages, 99), "max": max(ages, default=float("nan"))},
        "overhead_ms": {"count": len(overheads), "p50": percentile(overheads, 50), "p99": percentile(overheads, 99),
                        "max": max(overheads, default=float("nan")), "handoff_p99": percentile(handoffs, 99),
                        "engine_p99": percentile(engines, 99), "publish_p99": percentile(publishes, 99),
                        "publish_cpu_p99": percentile(publish_cpus, 99),
                        # The daemon's default window is 3/3: a window's post-processing lands on the frame that
                        # completes it; spread over the window's 3 frames:
                        "per_frame_of_window_p99": percentile([sum(overheads[i:i + 3]) / 3 for i in range(0, len(overheads) - 2, 3)], 99)},
        "model_s_per_push": {"p50": percentile(models, 50), "max": max(models, default=float("nan"))},
        "stage_s_per_window": {k: v / max(windows, 1) for k, v in stages.items()},
        "overhead_histogram": {k: v for k, v in m.items() if k.startswith("referstream_frame_overhead_seconds")},
        "rss_gb": {"after_load": loaded["VmRSS"] / 1e9, "peak_VmHWM": peak["VmHWM"] / 1e9,
                   "end_anon": end_status["RssAnon"] / 1e9, "end_file": end_status["RssFile"] / 1e9},
        "thread_cpu_s": {k: round(v, 2) for v, k in busy},
        "cpu_s_per_received_frame": {k: round(v / max(received, 1), 5) for v, k in busy},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
