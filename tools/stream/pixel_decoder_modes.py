"""Fidelity and cost of the incremental pixel decoder against the exact one, on demo clips.

Runs `referstream segment` on every clip of a make_dataset.py folder (tools/demo) once per pixel-decoder
mode (same window, all expressions of a clip per run), then reports:
  - per-frame mask IoU of incremental against exact (every clip, expression and frame), overall and split
    into the first window's older frames (the only ones that differ at stride 1) and the rest;
  - J&F of each mode with `referstream evaluate` (and by expression type);
  - CPU seconds of each mode's segment runs (children's user + system time; includes loading).

    python3 tools/stream/pixel_decoder_modes.py --referstream .build/release/referstream \
        --model models/demo --data /work/demo-valset --out /work/incremental-eval --window 5 --stride 1

Only the Python standard library. Writes OUT/<mode>/pred, OUT/<mode>/evaluation.json and OUT/summary.json.
"""
import argparse
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
import zlib


def read_png(path):
    """8-bit greyscale or RGB PNG (not interlaced) → (width, height, bytes of the first channel)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (0, 2) and interlace == 0, f"{path}: unsupported PNG"
            channels = 1 if colour == 0 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = row[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if f == 1:
                row[x] = (row[x] + a) & 255
            elif f == 2:
                row[x] = (row[x] + b) & 255
            elif f == 3:
                row[x] = (row[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * stride:(y + 1) * stride] = row
        prev = row
    return width, height, bytes(out[::channels])


def iou(a, b):
    inter = union = 0
    for x, y in zip(a, b):
        if x or y:
            union += 1
            if x and y:
                inter += 1
    return 1.0 if union == 0 else inter / union


def segment_all(a, meta, mode, out):
    """One segment run per clip; returns the children's CPU seconds and the frame count."""
    pred = os.path.join(out, "pred")
    shutil.rmtree(pred, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    frames = 0
    for seq, v in sorted(meta["videos"].items())[:a.clips]:
        raw = os.path.join(out, "raw", seq)
        shutil.rmtree(raw, ignore_errors=True)
        # The architecture is inferred from the weights (models/demo/config.json also records training facts).
        cmd = [a.referstream, "segment", "--weights", os.path.join(a.model, "weights.safetensors"), "--tokenizer", a.model,
               "--input", os.path.join(a.data, "JPEGImages", seq), "--output", raw,
               "--shorter-side", str(a.shorter_side), "--window", str(a.window), "--stride", str(a.stride),
               "--pixel-decoder", mode, "--threads", str(a.threads)]
        for e in v["expressions"]:
            cmd += ["--text", e["text"]]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        frames += len(v["frames_list"])
        # pred/<seq>/<exp_id> → raw/<seq>/p<i> (links: evaluate reads the masks where segment wrote them).
        os.makedirs(os.path.join(pred, seq))
        for i, e in enumerate(v["expressions"], start=1):
            os.symlink(os.path.abspath(os.path.join(raw, f"p{i}")), os.path.join(pred, seq, e["exp_id"]))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    annotations, groups = annotation_subset(a, meta)
    subprocess.run([a.referstream, "evaluate", "--predictions", pred, "--annotations", annotations,
                    "--groups", groups, "--json", os.path.join(out, "evaluation.json"), "--quiet"], check=True)
    return cpu, frames


def annotation_subset(a, meta):
    """The annotations and groups of the clips used (all, or the first --clips: links in OUT/subset)."""
    if a.clips is None:
        return os.path.join(a.data, "ExpressionAnnotations"), os.path.join(a.data, "groups.json")
    seqs = [seq for seq, _ in sorted(meta["videos"].items())[:a.clips]]
    root = os.path.join(a.out, "subset")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "ExpressionAnnotations"))
    for seq in seqs:
        os.symlink(os.path.abspath(os.path.join(a.data, "ExpressionAnnotations", seq)),
                   os.path.join(root, "ExpressionAnnotations", seq))
    groups = json.load(open(os.path.join(a.data, "groups.json")))
    json.dump({k: v for k, v in groups.items() if k.split("/")[0] in seqs}, open(os.path.join(root, "groups.json"), "w"))
    return os.path.join(root, "ExpressionAnnotations"), os.path.join(root, "groups.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--referstream", required=True)
    ap.add_argument("--model", required=True, help="folder with weights.safetensors and vocab.json + merges.txt")
    ap.add_argument("--data", required=True, help="a make_dataset.py folder (tools/demo)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--shorter-side", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clips", type=int, default=None, help="only the first N clips")
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.data, "meta_expressions.json")))
    os.makedirs(a.out, exist_ok=True)
    load = os.getloadavg()
    summary = {"window": a.window, "stride": a.stride, "shorter_side": a.shorter_side, "model": a.model,
               "data": a.data, "load_before": load, "modes": {}}
    for mode in ("exact", "incremental"):
        out = os.path.join(a.out, mode)
        t0 = time.time()
        cpu, frames = segment_all(a, meta, mode, out)
        overall = json.load(open(os.path.join(out, "evaluation.json")))
        summary["modes"][mode] = {"cpu_seconds": cpu, "wall_seconds": time.time() - t0, "frames": frames,
                                  "J&F": overall["overall"]["J&F-Mean"], "J": overall["overall"]["J-Mean"],
                                  "F": overall["overall"]["F-Mean"],
                                  "groups": {g: v["J&F-Mean"] for g, v in overall["groups"].items()}}
        print(f"{mode:12s} J&F {overall['overall']['J&F-Mean']:.4f}  ({frames} frames, {cpu:.1f} CPU s incl. loading)", flush=True)

    # Per-frame IoU of incremental against exact.
    first, rest = [], []
    for seq, v in sorted(meta["videos"].items())[:a.clips]:
        for e in v["expressions"]:
            for t, name in enumerate(v["frames_list"]):
                masks = [read_png(os.path.join(a.out, m, "pred", seq, e["exp_id"], name + ".png"))[2] for m in ("exact", "incremental")]
                (first if t < a.window - 1 else rest).append(iou(*masks))
    every = first + rest

    def stats(values):
        if not values:
            return {"count": 0}
        s = sorted(values)
        return {"count": len(s), "mean": sum(s) / len(s), "min": s[0], "p05": s[int(0.05 * (len(s) - 1))],
                "at_least_0.95": sum(v >= 0.95 for v in s) / len(s), "identical": sum(v == 1.0 for v in s) / len(s)}
    summary["iou"] = {"all": stats(every), "first_window_older_frames": stats(first), "later_frames": stats(rest)}
    summary["load_after"] = os.getloadavg()
    json.dump(summary, open(os.path.join(a.out, "summary.json"), "w"), indent=1)
    for k, v in summary["iou"].items():
        if v["count"]:
            print(f"IoU incremental vs exact, {k:26s} n={v['count']:6d} mean {v['mean']:.4f} min {v['min']:.4f} "
                  f"p05 {v['p05']:.4f} ≥0.95 {100 * v['at_least_0.95']:.1f}% identical {100 * v['identical']:.1f}%")
    e, i = summary["modes"]["exact"], summary["modes"]["incremental"]
    print(f"CPU seconds per frame (whole segment runs incl. loading): exact {e['cpu_seconds'] / e['frames']:.4f}, "
          f"incremental {i['cpu_seconds'] / i['frames']:.4f}")
    print(f"load average before {load}, after {summary['load_after']}; summary in {os.path.join(a.out, 'summary.json')}")


if __name__ == "__main__":
    sys.exit(main())
