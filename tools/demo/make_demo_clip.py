"""The clip `make demo` runs the demo model on: models/demo/demo-clip/.

    python tools/demo/make_demo_clip.py [--out models/demo/demo-clip]

A fixed scene drawn by the *validation* renderer (synth.render_valid: anti-aliased, outlined, textured
background, lighting gradient, noise; never used for training), 80 frames of 320x240 at 10 fps, with four
shapes: a big red circle moving right, a small blue square moving up, a big green triangle moving left and
a small yellow star that does not move. Writes

* clip.mp4           H.264 (GStreamer x264enc), what referstreamd plays in the demo;
* masks/<slug>/00000.png …  the ground truth of each object (0/255, 320x240), for `referstream evaluate`;
* clip.json          the objects, the phrases the demo uses and the object each one denotes (checked with
                     synth.resolve, the generator's independent resolver), and how this clip was made.

Deterministic: the scene is fixed and the renderer's look comes from the scene seed (the first seed from
70,000,000 whose look has no occluder bar and mild noise; seeds >= 60,000,000 never reach training).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

HEIGHT, WIDTH, FRAMES, FPS = 240, 320, 80, 10
# (shape, colour, size, radius, motion, x0, y0, speed): the canvas is 4/3 wide and 1 high.
OBJECTS = [
    ("circle", "red", "big", 0.15, "right", 0.25, 0.28, 0.0060),
    ("square", "blue", "small", 0.085, "up", 1.20, 0.90, 0.0045),
    ("triangle", "green", "big", 0.15, "left", 0.95, 0.75, 0.0040),
    ("star", "yellow", "small", 0.09, "none", 0.22, 0.72, 0.0),
]
PHRASES = ["the red circle", "the small blue square", "the yellow star", "the green shape",
           "the shape that is not moving", "the square moving up"]


def quiet_look(seed: int) -> bool:
    """Replays render_valid's first random draws: True when this seed's look has no occluder bar and noise
    sigma below 8."""
    rng = np.random.default_rng(seed * 104729 + 3)
    synth._texture(rng, HEIGHT, WIDTH)
    rng.uniform(0.8, 1.0); rng.uniform(1.0, 1.2)
    noise = rng.uniform(4, 12)
    rng.random()                       # outline
    occluder = rng.random() < 0.5
    return not occluder and noise < 8


def slug(text: str) -> str:
    return "-".join(w for w in text.split() if w != "the")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                   "models", "demo", "demo-clip"))
    a = ap.parse_args()
    from PIL import Image
    seed = next(s for s in range(70_000_000, 70_001_000) if quiet_look(s))
    objs = [synth.SceneObject(k + 1, shape, colour, size, r, motion, x0, y0, speed, 0.12 if shape != "circle" else 0.0)
            for k, (shape, colour, size, r, motion, x0, y0, speed) in enumerate(OBJECTS)]
    scene = synth.Scene(seed=seed, frames=FRAMES, objects=objs)
    denotes = {}
    for text in PHRASES:
        ids = synth.resolve(scene, text)
        assert len(ids) == 1, f"'{text}' denotes {ids}, not exactly one object"
        denotes[text] = ids[0]
    for o in objs:
        assert all(synth._visible(o, f) for f in range(FRAMES)), f"object {o.obj_id} leaves the frame"
        for p in objs:
            if p.obj_id > o.obj_id:
                gap = min(np.hypot(o.centre(f)[0] - p.centre(f)[0], o.centre(f)[1] - p.centre(f)[1]) for f in range(FRAMES))
                assert gap > o.radius + p.radius, f"objects {o.obj_id} and {p.obj_id} overlap"
    imgs, ids = synth.render_valid(scene, HEIGHT, WIDTH)

    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    names = {o.obj_id: slug(f"the {o.size} {o.colour} {o.shape}") for o in objs}
    for o in objs:
        d = os.path.join(out, "masks", names[o.obj_id])
        os.makedirs(d, exist_ok=True)
        for f in range(FRAMES):
            Image.fromarray(((ids[f] == o.obj_id) * 255).astype(np.uint8)).save(os.path.join(d, f"{f:05d}.png"), optimize=True)
    with tempfile.TemporaryDirectory() as tmp:
        for f in range(FRAMES):
            Image.fromarray(imgs[f]).save(os.path.join(tmp, f"{f:05d}.png"))
        subprocess.run(["gst-launch-1.0", "-q", "multifilesrc", f"location={tmp}/%05d.png", "index=0",
                        f"caps=image/png,framerate={FPS}/1", "!", "pngdec", "!", "videoconvert", "!",
                        "video/x-raw,format=I420", "!", "x264enc", "bitrate=400", "speed-preset=slow", "key-int-max=20", "!",
                        "mp4mux", "!", "filesink", f"location={os.path.join(out, 'clip.mp4')}"], check=True)
    meta = {
        "made_by": "python tools/demo/make_demo_clip.py (validation renderer, synth.render_valid)",
        "size": [WIDTH, HEIGHT], "frames": FRAMES, "fps": FPS, "look_seed": seed,
        "objects": [{"id": o.obj_id, "masks": f"masks/{names[o.obj_id]}", "shape": o.shape, "colour": o.colour,
                     "size": o.size, "motion": o.motion} for o in objs],
        "phrases": {text: f"masks/{names[i]}" for text, i in denotes.items()},
    }
    with open(os.path.join(out, "clip.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"{FRAMES} frames {WIDTH}x{HEIGHT}, look seed {seed}, {len(PHRASES)} phrases checked -> {out} ({size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
