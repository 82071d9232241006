"""Seeded synthetic referring-video scenes for the ReferStream demo model.

A *scene* is a short clip of 2-4 moving coloured shapes (circle, square, triangle, star; seven colours;
small or big; moving left/right/up/down or not moving) plus referring expressions, each of which
identifies exactly one object. Scenes are pure data (numbers, no pixels) and deterministic given a seed;
two renderers turn them into frames and ground-truth masks:

* ``render_train`` -- the training renderer: flat colours, hard (aliased) edges, plain or gradient
  backgrounds, mild pixel noise.
* ``render_valid`` -- a differently drawn renderer for validation: 4x supersampled anti-aliasing, dark
  outlines, textured backgrounds (checker, stripes, blotches), stronger noise and a lighting gradient,
  moving grey occluder bars, and scenes where objects enter or leave the frame.

Only numpy is required. ``write_dataset`` writes DAVIS-style folders (JPEGImages/<seq>/00000.jpg,
Annotations/<seq>/00000.png with object ids, 0 = background) plus ExpressionAnnotations/<seq>/<exp>/
binary masks and meta_expressions.json.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, asdict

import numpy as np

SHAPES = ["circle", "square", "triangle", "star"]
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (30, 60, 230),
    "yellow": (240, 220, 20),
    "white": (245, 245, 245),
    "purple": (140, 40, 190),
    "orange": (250, 140, 10),
}
COLOUR_NAMES = list(COLOURS)
MOTIONS = ["left", "right", "up", "down", "none"]
MOTION_VECTORS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1), "none": (0, 0)}
SMALL_RADIUS = (0.075, 0.095)   # fraction of the frame height
BIG_RADIUS = (0.14, 0.17)
POSITION_MARGIN = 0.06          # normalised units an extreme object must lead the others by
ASPECT = 4.0 / 3.0              # width / height of the normalised canvas
EXPRESSION_TYPES = ["colour", "shape", "size", "position", "motion"]


@dataclass
class SceneObject:
    obj_id: int                 # 1-based, the value in the DAVIS annotation PNG
    shape: str
    colour: str
    size: str                   # "small" | "big"
    radius: float               # fraction of height
    motion: str
    x0: float                   # centre at frame 0, x in [0, ASPECT], y in [0, 1]
    y0: float
    speed: float                # per frame, in height units
    rotation: float             # radians (triangles/stars/squares get a small tilt)
    tint: tuple = (0, 0, 0)     # per-object colour jitter

    def centre(self, f: int) -> tuple[float, float]:
        vx, vy = MOTION_VECTORS[self.motion]
        return self.x0 + vx * self.speed * f, self.y0 + vy * self.speed * f


@dataclass
class Expression:
    exp_id: str
    text: str
    obj_id: int
    kind: str                   # one of EXPRESSION_TYPES: the attribute that singles the object out


@dataclass
class Scene:
    seed: int
    frames: int
    objects: list = field(default_factory=list)
    expressions: list = field(default_factory=list)
    entering: bool = False

    def to_json(self) -> dict:
        return {"seed": self.seed, "frames": self.frames, "entering": self.entering,
                "objects": [asdict(o) for o in self.objects],
                "expressions": [asdict(e) for e in self.expressions]}


# --------------------------------------------------------------------------------------------------
# Scene sampling


def _visible(o: SceneObject, f: int) -> bool:
    x, y = o.centre(f)
    r = o.radius
    return -r * 0.3 < x < ASPECT + r * 0.3 and -r * 0.3 < y < 1 + r * 0.3


def sample_scene(seed: int, frames: int = 12, min_objects: int = 2, max_objects: int = 4,
                 allow_entering: bool = False) -> Scene:
    """A random scene whose every expression identifies exactly one object (deterministic in `seed`)."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        n = int(rng.integers(min_objects, max_objects + 1))
        entering = allow_entering and rng.random() < 0.35
        objs = []
        for k in range(n):
            size = "big" if rng.random() < 0.45 else "small"
            lo, hi = BIG_RADIUS if size == "big" else SMALL_RADIUS
            r = float(rng.uniform(lo, hi))
            motion = MOTIONS[int(rng.integers(0, 5))]
            speed = 0.0 if motion == "none" else float(rng.uniform(0.015, 0.03))
            vx, vy = MOTION_VECTORS[motion]
            travel = speed * (frames - 1)
            # keep the whole trajectory inside the frame (unless this object enters/leaves)
            xmin, xmax = r, ASPECT - r
            ymin, ymax = r, 1 - r
            if vx < 0: xmin += travel
            if vx > 0: xmax -= travel
            if vy < 0: ymin += travel
            if vy > 0: ymax -= travel
            if entering and k == 0 and motion != "none":
                # start outside (or leave): shift the start so it crosses the border mid-clip
                span = travel
                if rng.random() < 0.5:   # enters
                    if vx < 0: xmin, xmax = ASPECT + r * 0.2, ASPECT + r * 0.2 + span * 0.4
                    if vx > 0: xmin, xmax = -r * 0.2 - span * 0.4, -r * 0.2
                    if vy < 0: ymin, ymax = 1 + r * 0.2, 1 + r * 0.2 + span * 0.4
                    if vy > 0: ymin, ymax = -r * 0.2 - span * 0.4, -r * 0.2
                else:                    # leaves
                    if vx < 0: xmin, xmax = r * 0.2 + span * 0.3, r + span * 0.5
                    if vx > 0: xmin, xmax = ASPECT - r - span * 0.5, ASPECT - r * 0.2 - span * 0.3
                    if vy < 0: ymin, ymax = r * 0.2 + span * 0.3, r + span * 0.5
                    if vy > 0: ymin, ymax = 1 - r - span * 0.5, 1 - r * 0.2 - span * 0.3
            if xmin >= xmax or ymin >= ymax:
                break
            x0 = float(rng.uniform(xmin, xmax))
            y0 = float(rng.uniform(ymin, ymax))
            shape = SHAPES[int(rng.integers(0, 4))]
            colour = COLOUR_NAMES[int(rng.integers(0, 7))]
            rot = float(rng.uniform(-0.25, 0.25)) if shape != "circle" else 0.0
            tint = tuple(int(v) for v in rng.integers(-18, 19, size=3))
            objs.append(SceneObject(k + 1, shape, colour, size, r, motion, x0, y0, speed, rot, tint))
        if len(objs) != n:
            continue
        # limit overlap at frame 0 and at the last frame so every object stays mostly visible
        ok = True
        for f in (0, frames // 2, frames - 1):
            for i in range(n):
                for j in range(i + 1, n):
                    (xi, yi), (xj, yj) = objs[i].centre(f), objs[j].centre(f)
                    if math.hypot(xi - xj, yi - yj) < 0.8 * (objs[i].radius + objs[j].radius):
                        ok = False
        if not ok:
            continue
        scene = Scene(seed=seed, frames=frames, objects=objs, entering=entering)
        scene.expressions = make_expressions(scene, rng)
        if scene.expressions:
            return scene
    raise RuntimeError(f"could not sample a scene for seed {seed}")


def _extreme(target: SceneObject, others: list, scene: Scene, axis: int, sign: int) -> bool:
    """True if `target` leads every object in `others` along axis (0 = x, 1 = y) by the margin in every
    frame where both are visible (sign -1: smallest coordinate, i.e. left/top)."""
    if not others:
        return False
    both = 0
    for f in range(scene.frames):
        if not _visible(target, f):
            continue
        t = target.centre(f)[axis] * sign
        for o in others:
            if not _visible(o, f):
                continue
            both += 1
            if not t > o.centre(f)[axis] * sign + POSITION_MARGIN + 0.5 * (target.radius + o.radius) * 0.5:
                return False
    return both > 0


def make_expressions(scene: Scene, rng: np.random.Generator, per_object: int = 2) -> list:
    """Up to `per_object` unambiguous expressions for every object, of varied kinds."""
    out = []
    objs = scene.objects
    for o in objs:
        cands = []   # (kind, text)
        others = [p for p in objs if p is not o]
        same_shape = [p for p in others if p.shape == o.shape]
        same_colour = [p for p in others if p.colour == o.colour]
        same_cs = [p for p in same_shape if p.colour == o.colour]
        # shape
        if not same_shape:
            cands.append(("shape", f"the {o.shape}"))
        # colour
        if not same_colour:
            cands.append(("colour", f"the {o.colour} {rng.choice(['shape', 'object'])}"))
        if same_shape and not same_cs:
            cands.append(("colour", f"the {o.colour} {o.shape}"))
        # size: absolute class among a noun group, or superlative
        for noun, group in (("shape", others), (o.shape, same_shape), (f"{o.colour} {o.shape}", same_cs)):
            if group and all(p.size != o.size for p in group):
                word = o.size
                if noun == "shape" and rng.random() < 0.5:
                    word = "biggest" if o.size == "big" else "smallest"
                    noun = "shape"
                cands.append(("size", f"the {word} {noun}"))
                break
        if others and all(o.radius > 1.3 * p.radius for p in others):
            cands.append(("size", "the biggest shape"))
        if others and all(o.radius * 1.3 < p.radius for p in others):
            cands.append(("size", "the smallest shape"))
        # position
        for noun, group in (("shape", others), (o.shape, same_shape), (f"{o.colour} shape", same_colour)):
            if not group:
                continue
            for axis, sign, phrase in ((0, -1, "on the left"), (0, 1, "on the right"),
                                       (1, -1, "at the top"), (1, 1, "at the bottom")):
                if _extreme(o, group, scene, axis, sign):
                    cands.append(("position", f"the {noun} {phrase}"))
            if any(c[0] == "position" for c in cands):
                break
        # motion
        for noun, group in (("shape", others), (o.shape, same_shape), (f"{o.colour} shape", same_colour)):
            if not group:
                continue
            if all(p.motion != o.motion for p in group):
                if o.motion == "none":
                    text = f"the {noun} that is not moving"
                elif rng.random() < 0.7:
                    text = f"the {noun} moving {o.motion}"
                else:
                    text = f"the {noun} that is moving {o.motion}"
                cands.append(("motion", text))
                break
        if not cands:
            continue
        # prefer variety: one random candidate per kind, then sample kinds
        by_kind = {}
        for kind, text in cands:
            by_kind.setdefault(kind, []).append(text)
        kinds = list(by_kind)
        rng.shuffle(kinds)
        for kind in kinds[:per_object]:
            texts = by_kind[kind]
            text = texts[int(rng.integers(0, len(texts)))]
            out.append(Expression(f"{len(out)}", text, o.obj_id, kind))
    return out


def resolve(scene: Scene, text: str) -> list:
    """Independent check: the objects an expression text denotes (used by the generator's self-test)."""
    words = text.split()
    objs = scene.objects
    cand = list(objs)
    shape = next((w for w in words if w in SHAPES), None)
    colour = next((w for w in words if w in COLOURS), None)
    if shape:
        cand = [o for o in cand if o.shape == shape]
    if colour:
        cand = [o for o in cand if o.colour == colour]
    if "big" in words:
        cand = [o for o in cand if o.size == "big"]
    if "small" in words:
        cand = [o for o in cand if o.size == "small"]
    if "biggest" in words:
        m = max(o.radius for o in cand); cand = [o for o in cand if o.radius == m]
    if "smallest" in words:
        m = min(o.radius for o in cand); cand = [o for o in cand if o.radius == m]
    if "not" in words:
        cand = [o for o in cand if o.motion == "none"]
    elif "moving" in words:
        cand = [o for o in cand if o.motion == words[-1]]
    for phrase, axis, sign in (("left", 0, -1), ("right", 0, 1), ("top", 1, -1), ("bottom", 1, 1)):
        if words[-2:] in (["the", phrase],) and "moving" not in words:
            cand = [o for o in cand if _extreme(o, [p for p in cand if p is not o], scene, axis, sign)]
    return [o.obj_id for o in cand]


# --------------------------------------------------------------------------------------------------
# Rasterisation


def _polygon(o: SceneObject, cx: float, cy: float, scale: float):
    r = o.radius * scale
    if o.shape == "square":
        s = r * 0.88
        pts = [(-s, -s), (s, -s), (s, s), (-s, s)]
    elif o.shape == "triangle":
        pts = [(r * math.cos(a), r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        pts = [(x, y + r * 0.15) for x, y in pts]
    elif o.shape == "star":
        pts = []
        for i in range(10):
            a = -math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.45
            pts.append((rr * math.cos(a), rr * math.sin(a)))
    else:
        return None
    c, s_ = math.cos(o.rotation), math.sin(o.rotation)
    return [(cx + x * c - y * s_, cy + x * s_ + y * c) for x, y in pts]


def _inside(o: SceneObject, f: int, xs: np.ndarray, ys: np.ndarray, scale: float, grow: float = 0.0):
    """Boolean coverage of pixel centres (xs, ys in pixels) by object `o` at frame f; `grow` dilates by
    that many pixels (outlines)."""
    cx, cy = o.centre(f)
    cx, cy = cx * scale, cy * scale
    if o.shape == "circle":
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= (o.radius * scale + grow) ** 2
    pts = _polygon(o, cx, cy, scale)
    if grow > 0:   # scale the polygon about its centre
        rr = o.radius * scale
        k = (rr + grow * (2.2 if o.shape == "star" else 1.4)) / rr
        pts = [(cx + (x - cx) * k, cy + (y - cy) * k) for x, y in pts]
    inside = np.zeros(xs.shape, dtype=bool)
    n = len(pts)
    for i in range(n):
        x1, y1 = pts[i]
        x2, y2 = pts[(i + 1) % n]
        cond = (y1 > ys) != (y2 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = (x2 - x1) * (ys - y1) / (y2 - y1 + 1e-12) + x1
        inside ^= cond & (xs < xint)
    return inside


def _grid(h: int, w: int, ss: int = 1):
    ys, xs = np.mgrid[0:h * ss, 0:w * ss].astype(np.float32)
    return (xs + 0.5) / ss, (ys + 0.5) / ss


def _object_colour(o: SceneObject, rng=None):
    base = np.array(COLOURS[o.colour], dtype=np.float32) + np.array(o.tint, dtype=np.float32)
    return np.clip(base, 0, 255)


def _background_train(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    hue = rng.random()
    sat = rng.uniform(0.0, 0.35)
    val = rng.uniform(0.12, 0.55)
    c1 = np.array(_hsv(hue, sat, val)) * 255
    if rng.random() < 0.5:
        return np.broadcast_to(c1, (h, w, 3)).astype(np.float32).copy()
    c2 = np.array(_hsv((hue + rng.uniform(-0.2, 0.2)) % 1, sat, np.clip(val + rng.uniform(-0.2, 0.2), 0.08, 0.6))) * 255
    t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
    if len(t) == w:
        t = np.broadcast_to(t[None, :, None], (h, w, 1))
    else:
        t = np.broadcast_to(t[:, None, None], (h, w, 1))
    return (c1 * (1 - t) + c2 * t).astype(np.float32)


def _hsv(h, s, v):
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def _background_random(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Domain-randomised training backgrounds: flat/gradient (as before), a sum of random sinusoids
    ("plasma"), or a patchwork of random rectangles; all low-to-mid saturation and brightness."""
    kind = rng.integers(0, 4)
    if kind <= 1:
        return _background_train(rng, h, w)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    hue = rng.random()
    a = np.array(_hsv(hue, rng.uniform(0, 0.4), rng.uniform(0.1, 0.5))) * 255
    b = np.array(_hsv((hue + rng.uniform(-0.3, 0.3)) % 1, rng.uniform(0, 0.4), rng.uniform(0.2, 0.6))) * 255
    if kind == 2:
        t = np.zeros((h, w), np.float32)
        for _ in range(3):
            fx, fy = rng.uniform(-0.25, 0.25, 2) * 120 / h
            t += np.sin(xs * fx + ys * fy + rng.uniform(0, 6.3))
        t = (t - t.min()) / (t.max() - t.min() + 1e-6)
        return (a * (1 - t[..., None]) + b * t[..., None]).astype(np.float32)
    img = np.broadcast_to(a, (h, w, 3)).astype(np.float32).copy()
    for _ in range(int(rng.integers(3, 9))):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = y0 + int(rng.integers(h // 8, h // 2)), x0 + int(rng.integers(w // 8, w // 2))
        c = np.array(_hsv(rng.random(), rng.uniform(0, 0.35), rng.uniform(0.1, 0.6))) * 255
        img[y0:y1, x0:x1] = c
    return img


def render_train(scene: Scene, height: int, width: int, frame_indices=None, seed_offset: int = 0,
                 augment: bool = False):
    """Training renderer. Returns (frames uint8 (T,H,W,3), id masks uint8 (T,H,W)); mask value k = object
    k, 0 = background. The scene's normalised canvas (ASPECT x 1) is fitted to the frame height;
    a wider frame shows more on the right.

    augment=True adds domain randomisation (still aliased, hard-edged drawing): plasma and patchwork
    backgrounds, per-object shading ramps, thin random-colour outlines, static distractor rectangles
    that may cover objects (the masks keep only what is visible), a 3x3 box blur, colour gain/contrast
    jitter and stronger noise."""
    rng = np.random.default_rng(scene.seed * 7919 + 17 + seed_offset)
    frame_indices = range(scene.frames) if frame_indices is None else frame_indices
    scale = float(height)
    xs, ys = _grid(height, width)
    bg = _background_random(rng, height, width) if augment else _background_train(rng, height, width)
    noise_sigma = rng.uniform(0, 14 if augment else 8)
    outline = augment and rng.random() < 0.3
    outline_col = np.array([rng.uniform(0, 255)] * 3, dtype=np.float32) if outline else None
    shading = augment and rng.random() < 0.5
    blur = augment and rng.random() < 0.3
    gain = rng.uniform(0.85, 1.15, 3).astype(np.float32) if augment else np.ones(3, np.float32)
    contrast = rng.uniform(0.75, 1.2) if augment else 1.0
    boxes = []
    if augment and rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 3))):
            bw, bh = rng.uniform(0.05, 0.2) * width, rng.uniform(0.05, 0.3) * height
            bx, by = rng.uniform(0, width - bw), rng.uniform(0, height - bh)
            boxes.append((bx, by, bw, bh, np.array([rng.uniform(60, 200)] * 3, dtype=np.float32)))
    frames, masks = [], []
    for f in frame_indices:
        img = bg.copy()
        ids = np.zeros((height, width), dtype=np.uint8)
        for o in scene.objects:
            if outline:
                img[_inside(o, f, xs, ys, scale, grow=1.0)] = outline_col
            m = _inside(o, f, xs, ys, scale)
            col = _object_colour(o) * (1.0 + rng.uniform(-0.05, 0.05))
            if shading:
                ramp = 0.85 + 0.3 * (ys[m] - ys[m].min()) / (np.ptp(ys[m]) + 1e-6) if m.any() else 1.0
                img[m] = np.clip(col[None, :] * np.asarray(ramp, np.float32).reshape(-1, 1), 0, 255)
            else:
                img[m] = np.clip(col, 0, 255)
            ids[m] = o.obj_id
        for bx, by, bw, bh, c in boxes:
            sel = (xs >= bx) & (xs < bx + bw) & (ys >= by) & (ys < by + bh)
            img[sel] = c
            ids[sel] = 0
        if blur:
            p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
            img = sum(p[dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3)) / 9.0
        img = (img - 128.0) * contrast + 128.0
        img = img * gain + rng.normal(0, noise_sigma, img.shape).astype(np.float32)
        frames.append(np.clip(img + 0.5, 0, 255).astype(np.uint8))
        masks.append(ids)
    return np.stack(frames), np.stack(masks)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.integers(0, 3)
    hue = rng.random()
    a = np.array(_hsv(hue, rng.uniform(0.05, 0.4), rng.uniform(0.15, 0.45))) * 255
    b = np.array(_hsv((hue + rng.uniform(0.1, 0.5)) % 1, rng.uniform(0.05, 0.4), rng.uniform(0.25, 0.6))) * 255
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 0:     # checkerboard
        cell = rng.uniform(6, 16) * h / 120
        t = ((xs // cell + ys // cell) % 2)[..., None]
    elif kind == 1:   # diagonal stripes
        period = rng.uniform(8, 20) * h / 120
        ang = rng.uniform(0, math.pi)
        t = (0.5 + 0.5 * np.sin(2 * math.pi * (xs * math.cos(ang) + ys * math.sin(ang)) / period))[..., None]
    else:             # smooth blotches: bilinear upsampling of a coarse random grid
        gh, gw = 5, 7
        g = rng.random((gh, gw)).astype(np.float32)
        yy = ys / (h - 1) * (gh - 1)
        xx = xs / (w - 1) * (gw - 1)
        y0 = np.clip(yy.astype(int), 0, gh - 2); x0 = np.clip(xx.astype(int), 0, gw - 2)
        fy = yy - y0; fx = xx - x0
        t = (g[y0, x0] * (1 - fx) * (1 - fy) + g[y0, x0 + 1] * fx * (1 - fy)
             + g[y0 + 1, x0] * (1 - fx) * fy + g[y0 + 1, x0 + 1] * fx * fy)[..., None]
    return (a * (1 - t) + b * t).astype(np.float32)


def render_valid(scene: Scene, height: int, width: int, frame_indices=None, ss: int = 4):
    """Validation renderer (different look): anti-aliased (ss x ss supersampling), dark outlines, textured
    background, lighting gradient, noise, moving occluder bars. GT masks are the visible parts at pixel
    resolution (coverage > 0.5)."""
    rng = np.random.default_rng(scene.seed * 104729 + 3)
    frame_indices = range(scene.frames) if frame_indices is None else frame_indices
    scale = float(height) * ss
    xs, ys = _grid(height * ss, width * ss)
    bg = _texture(rng, height, width)
    light = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.2), width, dtype=np.float32)[None, :, None]
    noise_sigma = rng.uniform(4, 12)
    outline = rng.random() < 0.75
    occluder = rng.random() < 0.5
    occ_w = rng.uniform(0.04, 0.08) * width
    occ_x0 = rng.uniform(0, width)
    occ_v = rng.uniform(-2.5, 2.5) * width / 160
    occ_col = np.array([rng.uniform(90, 170)] * 3, dtype=np.float32)
    frames, masks = [], []
    for f in frame_indices:
        cov_img = np.zeros((height * ss, width * ss, 3), dtype=np.float32)
        ids_hi = np.zeros((height * ss, width * ss), dtype=np.uint8)
        for o in scene.objects:
            if outline:
                m_out = _inside(o, f, xs, ys, scale, grow=1.2 * ss)
                ids_hi[m_out] = 255          # outline pixels: drawn dark, not part of any mask
            m = _inside(o, f, xs, ys, scale)
            ids_hi[m] = o.obj_id
        # occluder: a vertical grey bar drawn on top
        if occluder:
            cx = (occ_x0 + occ_v * f) % (width + occ_w) - occ_w / 2
            bar = np.abs(xs / ss - cx) < occ_w / 2
            ids_hi[bar] = 254
        img_hi = np.repeat(np.repeat(bg, ss, 0), ss, 1).copy()
        for o in scene.objects:
            sel = ids_hi == o.obj_id
            col = _object_colour(o)
            # subtle per-object shading across the shape
            img_hi[sel] = col * (0.9 + 0.2 * (ys[sel] / scale))[:, None]
        img_hi[ids_hi == 255] = np.array([20, 20, 20], dtype=np.float32)
        img_hi[ids_hi == 254] = occ_col
        img = img_hi.reshape(height, ss, width, ss, 3).mean(axis=(1, 3)) * light
        img = img + rng.normal(0, noise_sigma, img.shape).astype(np.float32)
        ids = np.zeros((height, width), dtype=np.uint8)
        blocks = ids_hi.reshape(height, ss, width, ss)
        for o in scene.objects:
            cov = (blocks == o.obj_id).mean(axis=(1, 3))
            ids[cov > 0.5] = o.obj_id
        frames.append(np.clip(img + 0.5, 0, 255).astype(np.uint8))
        masks.append(ids)
    return np.stack(frames), np.stack(masks)


# --------------------------------------------------------------------------------------------------
# Dataset writer

def write_dataset(root: str, seeds, renderer: str, height: int, width: int, frames: int,
                  allow_entering: bool = False, mp4: bool = False):
    from PIL import Image
    render = render_valid if renderer == "valid" else render_train
    meta = {"renderer": renderer, "height": height, "width": width, "videos": {}}
    for seed in seeds:
        scene = sample_scene(seed, frames=frames, allow_entering=allow_entering)
        seq = f"{renderer}{seed:06d}"
        imgs, ids = render(scene, height, width)
        jdir = os.path.join(root, "JPEGImages", seq); os.makedirs(jdir, exist_ok=True)
        adir = os.path.join(root, "Annotations", seq); os.makedirs(adir, exist_ok=True)
        palette = [0, 0, 0] + sum(([int(v) for v in COLOURS[o.colour]] for o in scene.objects), [])
        for f in range(frames):
            Image.fromarray(imgs[f]).save(os.path.join(jdir, f"{f:05d}.jpg"), quality=95)
            p = Image.fromarray(ids[f], mode="P"); p.putpalette(palette + [0] * (768 - len(palette)))
            p.save(os.path.join(adir, f"{f:05d}.png"))
        for e in scene.expressions:
            edir = os.path.join(root, "ExpressionAnnotations", seq, e.exp_id); os.makedirs(edir, exist_ok=True)
            for f in range(frames):
                Image.fromarray(((ids[f] == e.obj_id) * 255).astype(np.uint8)).save(os.path.join(edir, f"{f:05d}.png"))
        meta["videos"][seq] = scene.to_json()
        meta["videos"][seq]["frames_list"] = [f"{f:05d}" for f in range(frames)]
    with open(os.path.join(root, "meta_expressions.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    return meta
