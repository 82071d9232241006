"""Write synthetic referring clips to disk (DAVIS-style folders) with either renderer.

    python tools/demo/make_dataset.py OUT --renderer valid --first-seed 60000000 --count 60 \
        --height 96 --width 128 --frames 24 [--entering]

OUT/JPEGImages/<seq>/00000.jpg, OUT/Annotations/<seq>/00000.png (object ids, palette = object colours),
OUT/ExpressionAnnotations/<seq>/<exp>/00000.png (binary 0/255 per expression), OUT/meta_expressions.json
(every scene: objects, trajectories, expressions with their type) and OUT/groups.json ("seq/exp" ->
expression type, for `referstream evaluate --groups`). Seeds >= 60,000,000 are never seen in training:
train.py draws training scenes from seeds below 30,000,000 and picks its best checkpoint on seeds
50,000,000-50,000,999; the tokenizer corpus uses 1,000,000-1,019,999.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--renderer", choices=["train", "valid"], default="valid")
    ap.add_argument("--first-seed", type=int, default=60_000_000)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--entering", action="store_true", help="allow objects that enter or leave the frame")
    ap.add_argument("--mp4", action="store_true", help="also encode OUT/videos/<seq>.mp4 (H.264, GStreamer x264enc)")
    ap.add_argument("--fps", type=int, default=10)
    a = ap.parse_args()
    meta = synth.write_dataset(a.out, range(a.first_seed, a.first_seed + a.count), a.renderer, a.height, a.width,
                               a.frames, allow_entering=a.entering)
    groups = {f"{seq}/{e['exp_id']}": e["kind"] for seq, v in meta["videos"].items() for e in v["expressions"]}
    with open(os.path.join(a.out, "groups.json"), "w") as fh:
        json.dump(groups, fh, indent=1, sort_keys=True)
    if a.mp4:
        import subprocess
        os.makedirs(os.path.join(a.out, "videos"), exist_ok=True)
        for seq in meta["videos"]:
            subprocess.run(["gst-launch-1.0", "-q", "multifilesrc",
                            f"location={os.path.join(a.out, 'JPEGImages', seq, '%05d.jpg')}", "index=0",
                            f"caps=image/jpeg,framerate={a.fps}/1", "!", "jpegdec", "!", "videoconvert", "!",
                            "x264enc", "speed-preset=medium", "tune=stillimage", "!", "mp4mux", "!", "filesink",
                            f"location={os.path.join(a.out, 'videos', seq + '.mp4')}"], check=True)
    print(f"{len(meta['videos'])} clips, {len(groups)} expressions -> {a.out}")


if __name__ == "__main__":
    main()
