"""Run the Swift engine online (`referstream segment`: sliding windows, query linking across windows) on a
folder written by make_dataset.py, then score it with `referstream evaluate` by expression type.

    python tools/demo/eval_swift.py --referstream .build/release/referstream --model models/demo \
        --data /work/demo-valset --out /work/demo-valset-swift [--window 3 --stride 3] [--shorter-side N]

One `segment` run per clip with every expression of the clip as a --text (the backbone runs once per frame
for all of them); OUT/raw/<seq>/p<i>/ is renamed to OUT/pred/<seq>/<exp_id>/. Needs only the Python
standard library.
"""
import argparse
import json
import os
import shutil
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--referstream", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--window", type=int)
    ap.add_argument("--stride", type=int)
    ap.add_argument("--shorter-side", type=int,
                    help="default: the size the model was trained at (its config.json's training note)")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--evaluator", help="a referstream binary with the evaluate command (default: --referstream)")
    ap.add_argument("--skip-segment", action="store_true", help="only score OUT/pred")
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.data, "meta_expressions.json")))
    pred = os.path.join(a.out, "pred")
    frames = 0
    t0 = time.time()
    for seq, v in sorted(meta["videos"].items()) if not a.skip_segment else []:
        raw = os.path.join(a.out, "raw", seq)
        shutil.rmtree(raw, ignore_errors=True)
        cmd = [a.referstream, "segment", "--weights", os.path.join(a.model, "weights.safetensors"),
               "--model-config", os.path.join(a.model, "config.json"), "--tokenizer", a.model,
               "--input", os.path.join(a.data, "JPEGImages", seq), "--output", raw]
        if a.shorter_side: cmd += ["--shorter-side", str(a.shorter_side)]
        if a.window: cmd += ["--window", str(a.window)]
        if a.stride: cmd += ["--stride", str(a.stride)]
        if a.threads: cmd += ["--threads", str(a.threads)]
        for e in v["expressions"]:
            cmd += ["--text", e["text"]]
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        frames += len(v["frames_list"])
        for i, e in enumerate(v["expressions"]):
            dst = os.path.join(pred, seq, e["exp_id"])
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.move(os.path.join(raw, f"p{i + 1}"), dst)
    print(f"{len(meta['videos'])} clips, {frames} frames in {time.time() - t0:.1f} s (all expressions of a clip per run)")
    subprocess.run([a.evaluator or a.referstream, "evaluate", "--predictions", pred,
                    "--annotations", os.path.join(a.data, "ExpressionAnnotations"),
                    "--groups", os.path.join(a.data, "groups.json"), "--json", os.path.join(a.out, "evaluation.json"),
                    "--quiet"], check=True)


if __name__ == "__main__":
    main()
