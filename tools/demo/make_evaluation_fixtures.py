"""Writes Tests/Fixtures/evaluation: small DAVIS-style annotation/prediction folders and the figures the
DAVIS-2017 evaluation code (github.com/davisvideochallenge/davis2017-evaluation, commit ac7c43f) gives
for them. The evaluation code is imported from an exported copy whose path is in $DAVIS2017_SRC (the
folder that contains davis2017/); nothing of it is copied into the repository.

    DAVIS2017_SRC=/work/ext/davis2017-evaluation python tools/demo/make_evaluation_fixtures.py Tests/Fixtures/evaluation

Needs numpy, Pillow, opencv-python-headless, scikit-image, scipy, tqdm. Seeded: the same bytes every run.
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.environ["DAVIS2017_SRC"])
from davis2017.metrics import db_eval_iou, db_eval_boundary  # noqa: E402
from davis2017 import utils  # noqa: E402
from davis2017.evaluation import DAVISEvaluation  # noqa: E402

rng = np.random.default_rng(20261126)


def disc(h, w, cy, cx, r):
    y, x = np.mgrid[0:h, 0:w]
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def rect(h, w, y0, x0, y1, x1):
    m = np.zeros((h, w), bool); m[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True; return m


def jitter(m, p):
    """Flip pixels near the boundary with probability p, plus a few random pixels."""
    out = m.copy()
    edge = np.zeros_like(m)
    edge[:-1] |= m[:-1] != m[1:]; edge[1:] |= m[:-1] != m[1:]
    edge[:, :-1] |= m[:, :-1] != m[:, 1:]; edge[:, 1:] |= m[:, :-1] != m[:, 1:]
    flip = edge & (rng.random(m.shape) < p)
    out ^= flip
    out ^= rng.random(m.shape) < 0.002
    return out


def save(path, arr, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if mode == "P":
        im = Image.fromarray(arr.astype(np.uint8), mode="P")
        pal = [0, 0, 0, 200, 30, 30, 30, 200, 30, 30, 30, 200] + [128] * (768 - 12)
        pal[255 * 3:255 * 3 + 3] = [255, 255, 255]
        im.putpalette(pal)
    elif mode == "1":
        im = Image.fromarray(arr.astype(bool)).convert("1")
    elif mode == "RGB":
        a = arr.astype(np.uint8)
        im = Image.fromarray(np.stack([a, a // 2, a * 0], -1), mode="RGB")
    else:
        im = Image.fromarray(arr.astype(np.uint8), mode="L")
    im.save(path)


def main():
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    ann_root = os.path.join(out, "annotations"); pred_root = os.path.join(out, "predictions")
    expected = {"source": "davis2017-evaluation ac7c43f (davis2017/metrics.py db_eval_iou, db_eval_boundary; "
                          "utils.db_statistics; evaluation.DAVISEvaluation semi-supervised)",
                "generator": "tools/demo/make_evaluation_fixtures.py", "objects": {}, "semi_supervised": {}}
    multi = {}   # seq -> (gt ids (T,H,W), pred ids)
    # 1. two objects, 6 frames, 60x80, palette PNGs; object 2 missing from one predicted frame, absent in GT frame 4
    h, w, T = 60, 80, 6
    gt = np.zeros((T, h, w), np.uint8); pr = np.zeros((T, h, w), np.uint8)
    for t in range(T):
        a = disc(h, w, 20 + t, 15 + 5 * t, 9)
        b = rect(h, w, 30, 50 - 2 * t, 52, 72 - 2 * t)
        gt[t][a] = 1
        if t != 4: gt[t][b & ~a] = 2
        pa = jitter(disc(h, w, 21 + t, 16 + 5 * t, 9 - (t % 3)), 0.3)
        pb = jitter(rect(h, w, 31, 49 - 2 * t, 53, 70 - 2 * t), 0.2)
        pr[t][pa] = 1
        if t != 2: pr[t][pb & ~pa] = 2
    multi["twoobjects"] = (gt, pr, "P", "P")
    # 2. one object with void (255) pixels in the annotation, greyscale prediction, 5 frames, 45x70
    h, w, T = 45, 70, 5
    gt = np.zeros((T, h, w), np.uint8); pr = np.zeros((T, h, w), np.uint8)
    for t in range(T):
        m = disc(h, w, 22, 20 + 6 * t, 12)
        gt[t][m] = 1
        ring = disc(h, w, 22, 20 + 6 * t, 14) & ~m
        gt[t][ring & (rng.random((h, w)) < 0.5)] = 255
        pr[t][jitter(disc(h, w, 23, 22 + 6 * t, 11 + t % 2), 0.4)] = 1
    multi["voidring"] = (gt, pr, "P", "L")
    # 3. larger frame (tolerance 4 px), 3 frames, 240x320, three objects, prediction shifted by 3-6 px
    h, w, T = 240, 320, 3
    gt = np.zeros((T, h, w), np.uint8); pr = np.zeros((T, h, w), np.uint8)
    for t in range(T):
        gt[t][rect(h, w, 40, 30 + 10 * t, 120, 110 + 10 * t)] = 1
        gt[t][disc(h, w, 170, 200 - 8 * t, 40)] = 2
        gt[t][rect(h, w, 10, 250, 60, 300)] = 3
        pr[t][rect(h, w, 43, 34 + 10 * t, 125, 110 + 10 * t)] = 1
        pr[t][jitter(disc(h, w, 166, 206 - 8 * t, 38), 0.5)] = 2
        if t == 1: pr[t][rect(h, w, 12, 255, 58, 298)] = 3
    multi["large"] = (gt, pr, "P", "P")
    for seq, (gt, pr, gmode, pmode) in multi.items():
        for t in range(gt.shape[0]):
            save(os.path.join(ann_root, seq, f"{t:05d}.png"), gt[t], gmode)
            save(os.path.join(pred_root, seq, f"{t:05d}.png"), pr[t], pmode)
        n = int(gt[0][gt[0] != 255].max())
        for k in range(1, n + 1):
            g = gt == k; p = pr == k
            J = [float(db_eval_iou(g[t], p[t])) for t in range(len(g))]
            F = [float(db_eval_boundary(g[t], p[t])) for t in range(len(g))]
            expected["objects"][f"{seq}/{k}"] = _entry(J, F)
    # 4. per-expression binary masks (odd size 37x53), 4 frames, edge cases: both empty, prediction empty,
    #    annotation empty; 1-bit and RGB prediction PNGs
    h, w, T = 37, 53, 4
    exps = {}
    g0 = np.stack([disc(h, w, 18, 10 + 8 * t, 7) for t in range(T)])
    p0 = np.stack([jitter(disc(h, w, 18, 11 + 8 * t, 7), 0.3) for t in range(T)])
    p0[2] = False                       # prediction empty, annotation not
    exps["0"] = (g0, p0, "L", "1")
    g1 = np.stack([rect(h, w, 5, 30, 20, 45) for t in range(T)]); g1[1] = False; g1[3] = False
    p1 = np.stack([rect(h, w, 6, 29, 21, 44) for t in range(T)]); p1[1] = False  # frame 1 both empty; frame 3 GT empty
    exps["1"] = (g1, p1, "L", "RGB")
    for e, (g, p, gmode, pmode) in exps.items():
        for t in range(T):
            save(os.path.join(ann_root, "expressions", e, f"{t:05d}.png"), g[t].astype(np.uint8) * 255, gmode)
            save(os.path.join(pred_root, "expressions", e, f"{t:05d}.png"), p[t].astype(np.uint8) * (1 if pmode == "1" else 255), pmode)
        J = [float(db_eval_iou(g[t], p[t])) for t in range(T)]
        F = [float(db_eval_boundary(g[t], p[t])) for t in range(T)]
        expected["objects"][f"expressions/{e}"] = _entry(J, F)
    # check: what PIL reads back is what was meant (the Swift reader must agree with np.array(Image.open))
    for root, _, files in os.walk(out):
        for f in files:
            if f.endswith(".png"):
                a = np.array(Image.open(os.path.join(root, f)))
                assert a.ndim in (2, 3)
    # The full DAVIS-2017 semi-supervised evaluation (first and last frames left out) on the multi-object
    # sequences, through its own folder reader.
    with tempfile.TemporaryDirectory() as tmp:
        for seq, (gt, pr, gmode, pmode) in multi.items():
            for t in range(gt.shape[0]):
                d = os.path.join(tmp, "JPEGImages", "480p", seq); os.makedirs(d, exist_ok=True)
                Image.fromarray(np.zeros((gt.shape[1], gt.shape[2], 3), np.uint8)).save(os.path.join(d, f"{t:05d}.jpg"))
            shutil.copytree(os.path.join(ann_root, seq), os.path.join(tmp, "Annotations", "480p", seq))
        os.makedirs(os.path.join(tmp, "ImageSets", "2017"))
        with open(os.path.join(tmp, "ImageSets", "2017", "val.txt"), "w") as fh:
            fh.write("\n".join(multi) + "\n")
        res = DAVISEvaluation(davis_root=tmp, task="semi-supervised", gt_set="val").evaluate(pred_root)
        J, F = res["J"], res["F"]
        expected["semi_supervised"] = {
            "sequences": list(multi),
            "J&F-Mean": float((np.mean(J["M"]) + np.mean(F["M"])) / 2),
            "J-Mean": float(np.mean(J["M"])), "J-Recall": float(np.mean(J["R"])), "J-Decay": float(np.mean(J["D"])),
            "F-Mean": float(np.mean(F["M"])), "F-Recall": float(np.mean(F["R"])), "F-Decay": float(np.mean(F["D"])),
            "J_per_object": {k: float(v) for k, v in J["M_per_object"].items()},
            "F_per_object": {k: float(v) for k, v in F["M_per_object"].items()},
        }
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)


def _entry(J, F):
    jm, jr, jd = utils.db_statistics(np.array(J))
    fm, fr, fd = utils.db_statistics(np.array(F))
    return {"J": J, "F": F, "J-Mean": float(jm), "J-Recall": float(jr), "J-Decay": float(jd),
            "F-Mean": float(fm), "F-Recall": float(fr), "F-Decay": float(fd)}


if __name__ == "__main__":
    main()
