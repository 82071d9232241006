#!/usr/bin/env python3
"""Soak test of referstreamd (not in CI): a long run under churn, sampled for leaks and latency.

usage: REFERSTREAM_PYTHON=.venv/bin/python .venv/bin/python tools/soak.py [--minutes 30] [--flap 45]
       [--outage 6] [--phrase-every 60] [--bin .build/release] [--weights W --tokenizer T --side 64]

Runs the daemon on two streams — a live test pattern and an RTSP stream from the loopback server of the
ingest tests (Tests/Fixtures/ingest/rtsp_server.py), which is killed every --flap seconds and restarted
after --outage seconds — with two phrases on the RTSP stream whose texts change every --phrase-every
seconds (referstream phrase set), one subscriber that measures frame age (publish - capture time) and one
that never reads. Every 5 s it samples the daemon's RSS and open file descriptors (/proc), frame age and
the drop counters (/metrics). Prints a summary: RSS after warm-up (first 20 %) flat within ±3 %, fd
count, frame age percentiles, drops, and for every RTSP return the seconds until its masks resumed
(target ≤ 5 s). Exit status 1 when a target is missed.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(address):
    values = {}
    text = urllib.request.urlopen("http://%s/metrics" % address, timeout=5).read().decode()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


class RTSPServer:
    def __init__(self, python, port):
        self.python, self.port, self.process = python, port, None

    def start(self):
        self.process = subprocess.Popen([self.python, os.path.join(ROOT, "Tests/Fixtures/ingest/rtsp_server.py"), str(self.port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.process.stdout.readline()  # READY

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Watcher(threading.Thread):
    """Receives every mask; records frame age per message and the arrival time per stream."""

    def __init__(self, endpoint):
        super().__init__(daemon=True)
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"masks/")
        self.sock.connect(endpoint)
        self.lock = threading.Lock()
        self.ages, self.arrivals, self.gaps, self.last_seq, self.worst = [], {}, 0, {}, []

    def run(self):
        while True:
            topic, header, _ = self.sock.recv_multipart()
            h = json.loads(header)
            now = time.time()
            with self.lock:
                self.ages.append(h["publish_time"] - h["capture_time"])
                self.worst.append((h["publish_time"] - h["capture_time"], h["stream"], h["frame"], now))
                self.worst = sorted(self.worst, reverse=True)[:5]
                self.arrivals.setdefault(h["stream"], []).append(now)
                key = topic
                if key in self.last_seq and h["seq"] != self.last_seq[key] + 1:
                    self.gaps += 1
                self.last_seq[key] = h["seq"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--flap", type=float, default=45, help="seconds between RTSP server kills")
    parser.add_argument("--outage", type=float, default=6, help="seconds the RTSP server stays down")
    parser.add_argument("--phrase-every", type=float, default=60)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--weights", default=os.path.join(ROOT, "Tests/Fixtures/referformer-tiny/weights.safetensors"))
    parser.add_argument("--tokenizer", default=os.path.join(ROOT, "Tests/Fixtures/tokenizer"))
    parser.add_argument("--side", type=int, default=64, help="model.shorter_side")
    args = parser.parse_args()
    python = os.environ.get("REFERSTREAM_PYTHON", sys.executable)

    work = tempfile.mkdtemp(prefix="referstream-soak-")
    rtsp_port, masks, control, http = free_port(), free_port(), free_port(), free_port()
    config = os.path.join(work, "soak.yaml")
    with open(config, "w") as f:
        f.write(f"""model: {{weights: {args.weights}, tokenizer: {args.tokenizer}, threads: 2, shorter_side: {args.side}}}
transport: {{masks: tcp://127.0.0.1:{masks}, control: tcp://127.0.0.1:{control}}}
metrics: {{listen: 127.0.0.1:{http}, dead_after: 30}}
streams:
  - id: steady
    source: test
    params: {{pattern: ball, live: true, width: 160, height: 120, framerate: 10}}
    phrases: [{{id: s1, text: "the ball"}}]
  - id: cam
    source: rtsp
    params: {{location: "rtsp://127.0.0.1:{rtsp_port}/test", latency: 50}}
    phrases: [{{id: c1, text: "the ball"}}, {{id: c2, text: "the background"}}]
""")
    server = RTSPServer(python, rtsp_port)
    server.start()
    watcher = Watcher(f"tcp://127.0.0.1:{masks}")
    watcher.start()
    stalled = zmq.Context.instance().socket(zmq.SUB)  # never reads
    stalled.setsockopt(zmq.RCVHWM, 1)
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    stalled.connect(f"tcp://127.0.0.1:{masks}")
    log = open(os.path.join(work, "referstreamd.log"), "w")
    # As the systemd units run it: few malloc arenas, so memory freed by one GStreamer thread is reused
    # by the next pipeline's threads instead of growing RSS with every reconnection.
    environment = dict(os.environ, MALLOC_ARENA_MAX=os.environ.get("MALLOC_ARENA_MAX", "2"))
    daemon = subprocess.Popen([os.path.join(args.bin, "referstreamd"), "--config", config], stderr=log, env=environment)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            metrics(f"127.0.0.1:{http}")
            break
        except OSError:
            time.sleep(0.5)
    print(f"soak: daemon pid {daemon.pid}, {args.minutes} min, logs in {work}", flush=True)

    texts = [("the ball", "the background"), ("the red ball", "the floor"), ("the moving circle", "everything else")]
    samples, returns = [], []
    start = time.time()
    next_flap, next_phrase, next_sample, turn = start + args.flap, start + args.phrase_every, start, 0
    down_since = None
    try:
        while time.time() - start < args.minutes * 60:
            now = time.time()
            if down_since is None and now >= next_flap:
                server.kill()
                down_since = now
            elif down_since is not None and now >= down_since + args.outage:
                server.start()
                back = time.time()
                returns.append(back)
                down_since, next_flap = None, back + args.flap
            if now >= next_phrase:
                turn += 1
                a, b = texts[turn % len(texts)]
                for pid, text in (("c1", a), ("c2", b)):
                    subprocess.run([os.path.join(args.bin, "referstream"), "phrase", "set", pid, text,
                                    "--control", f"tcp://127.0.0.1:{control}"], capture_output=True)
                next_phrase = now + args.phrase_every
            if now >= next_sample:
                with open(f"/proc/{daemon.pid}/status") as f:
                    rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
                fds = len(os.listdir(f"/proc/{daemon.pid}/fd"))
                m = metrics(f"127.0.0.1:{http}")
                with watcher.lock:
                    recent = watcher.ages[-50:]
                samples.append({"t": now - start, "rss_kb": rss, "fds": fds,
                                "age_p50": statistics.median(recent) if recent else None,
                                "dropped": sum(v for k, v in m.items() if k.startswith("referstream_frames_dropped_total")),
                                "publish_dropped": m.get("referstream_publish_dropped_total", 0)})
                print("soak: t=%5.0fs rss=%d kB fds=%d age_p50=%s dropped=%d" % (
                    samples[-1]["t"], rss, fds, "%.3f" % samples[-1]["age_p50"] if recent else "-", samples[-1]["dropped"]), flush=True)
                next_sample = now + 5
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        t0 = time.time()
        daemon.wait(timeout=30)
        shutdown = time.time() - t0
        server.kill()

    warm = [s for s in samples if s["t"] >= 0.2 * samples[-1]["t"]] or samples
    rss = [s["rss_kb"] for s in warm]
    base = statistics.median(rss[: max(1, len(rss) // 5)])
    spread = (max(rss) - min(rss)) / base * 100
    fds = [s["fds"] for s in warm]
    with watcher.lock:
        ages = sorted(watcher.ages)
        cam = sorted(watcher.arrivals.get("cam", []))
        gaps = watcher.gaps
    resumes = []
    for back in returns:
        after = [t for t in cam if t > back]
        resumes.append(after[0] - back if after else float("inf"))
    pct = lambda p: ages[min(len(ages) - 1, int(p / 100 * len(ages)))] if ages else float("nan")
    print("\nsoak summary (%.1f min, %d samples, daemon exit %s, shutdown %.2f s)" % (
        samples[-1]["t"] / 60 if samples else 0, len(samples), daemon.returncode, shutdown))
    print("  RSS after warm-up: %d..%d kB, spread %.1f %% of %d kB (target ±3 %%)" % (min(rss), max(rss), spread, base))
    print("  open fds after warm-up: %d..%d" % (min(fds), max(fds)))
    print("  frame age at publish: p50 %.3f s, p99 %.3f s, max %.3f s (%d masks)" % (pct(50), pct(99), ages[-1] if ages else float("nan"), len(ages)))
    with watcher.lock:
        print("  oldest masks (age s, stream, frame, at s): %s" % ", ".join(
            "(%.2f, %s, %d, %.0f)" % (a, st, fr, t - start) for a, st, fr, t in watcher.worst))
    print("  frames dropped (model behind): %d; publish drops: %d; sequence gaps at the reading subscriber: %d" % (
        samples[-1]["dropped"], samples[-1]["publish_dropped"], gaps))
    print("  RTSP returns: %d; masks resumed after: %s s (target ≤ 5 s)" % (len(returns), ", ".join("%.2f" % r for r in resumes)))
    # Open files go up and down with the RTSP connection (a pipeline's sockets); growth is what matters:
    # the most open at once in the second half of the run against the first half.
    half = len(fds) // 2
    fd_growth = max(fds[half:]) - max(fds[:half]) if half else 0
    print("  open-fd growth (max of second half - max of first half): %d" % fd_growth)
    ok = spread <= 6 and fd_growth <= 2 and all(r <= 5 for r in resumes) and daemon.returncode == 0
    print("  verdict: %s" % ("OK" if ok else "TARGET MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
