#!/usr/bin/env python3
"""ReferStream against PyTorch, in one run, on the same input (issue #15's side-by-side comparison).

Times, interleaved in one run of this script:

1. torchvision's ResNet-50 (layer1..layer4, random weights, eval, BatchNorm) in NCHW and in
   channels-last (the better one counts) against ReferStream's backbone on the same input size;
2. the official ReferFormer code (an exported copy given by --referformer-src; CPU, the pure-PyTorch
   deformable attention `ms_deform_attn_core_pytorch`, R50 + roberta-base shapes with random weights)
   against ReferStream on the same checkpoint (the official model's state dict, exported to safetensors)
   and the same frames, for each clip length in --frames;

then prints the ratios (ReferStream time ÷ PyTorch time: below 1 is faster) and writes them as JSON.
Every figure is warm (one untimed pass first) and the median of --repeats passes; PyTorch runs with
--threads threads (torch.set_num_threads), ReferStream with the same number. ReferStream's side is
`referstream-bench checkpoint --json` (stage medians) and, once per clip length, `referstream infer` on
the same frames to check that both computed the same masks.

Environment: PyTorch, torchvision, transformers and safetensors in a virtual environment. Either
    python3 tools/bench/compare.py --install [--torch-wheel /opt/wheels/torch-…whl] …
creates tools/bench/.venv (git-ignored) with a Python 3.11 and installs torch from PyPI (or the given
wheel), torchvision with --no-deps (its PyPI wheel would pull a CUDA torch), transformers 4.49 and
safetensors; or --python PATH uses an interpreter that has them. The script re-runs itself with that
interpreter. Build ReferStream first:
    swift build -c release --product referstream-bench && swift build -c release --product referstream

    python3 tools/bench/compare.py --referformer-src /work/ext/ReferFormer --python /work/venv-demo/bin/python
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv")
CAPTION = "the man in the red jacket on the left"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--referformer-src", help="exported copy of github.com/wjn922/ReferFormer (commit 06fc218)")
    ap.add_argument("--python", help="an interpreter with torch, torchvision, transformers and safetensors (default: tools/bench/.venv)")
    ap.add_argument("--install", action="store_true", help="create tools/bench/.venv and install the packages first")
    ap.add_argument("--base-python", default="python3.11", help="the Python that creates the venv (with --install)")
    ap.add_argument("--torch-wheel", help="install torch from this wheel instead of PyPI (with --install)")
    ap.add_argument("--tokenizer", default="/work/shared/golden/tokenizer",
                    help="a folder with vocab.json and merges.txt (RoBERTa format; ids must stay below 50265)")
    ap.add_argument("--swift-bin", default=os.path.join(ROOT, ".build", "release"),
                    help="folder with the release referstream and referstream-bench binaries")
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--frames", default="1,2", help="clip lengths T for the whole network, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes after the warm-up; the median is reported")
    ap.add_argument("--threads", type=int, default=2, help="torch threads and ReferStream threads")
    ap.add_argument("--skip-official", action="store_true", help="only the backbone comparison")
    ap.add_argument("--no-parity", action="store_true", help="skip the `referstream infer` mask check")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-out", "compare"), help="work folder and JSON output")
    ap.add_argument("--keep-weights", action="store_true", help="keep the exported checkpoint (≈ 0.7 GB) in --out")
    return ap.parse_args(argv)


# ---------------------------------------------------------------------------------------------------
# Environment: create/choose the interpreter, re-run inside it.

def venv_python() -> str:
    return os.path.join(VENV, "bin", "python")


def install(a) -> None:
    if not os.path.exists(venv_python()):
        base = shutil.which(a.base_python) or a.base_python
        print(f"creating {VENV} with {base}", flush=True)
        subprocess.check_call([base, "-m", "venv", VENV])
    pip = [venv_python(), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.check_call(pip + [a.torch_wheel] if a.torch_wheel else pip + ["torch"])
    version = subprocess.check_output([venv_python(), "-c", "import torch; print(torch.__version__)"], text=True).strip()
    major, minor = (int(x) for x in version.split("+")[0].split(".")[:2])
    # torchvision 0.(minor + 15) pairs with torch 2.minor; --no-deps keeps the torch installed above.
    subprocess.check_call(pip + ["--no-deps", f"torchvision==0.{minor + 15}.*"] if major == 2 else pip + ["--no-deps", "torchvision"])
    # torchvision's own dependencies besides torch (skipped by --no-deps), then the official code's text encoder.
    subprocess.check_call(pip + ["pillow", "numpy", "transformers==4.49.0", "safetensors"])


def ensure_interpreter(a, argv) -> None:
    """Re-executes this script with the interpreter that has torch (unless this one is it)."""
    if os.environ.get("REFERSTREAM_COMPARE_WORKER") == "1":
        return
    if a.install:
        install(a)
    python = a.python or venv_python()
    if not os.path.exists(python):
        sys.exit(f"no interpreter at {python}: run with --install (creates {VENV}) or give --python PATH")
    env = dict(os.environ, REFERSTREAM_COMPARE_WORKER="1")
    args = [x for x in argv if x != "--install"]
    os.execve(python, [python, os.path.abspath(__file__)] + args, env)


# ---------------------------------------------------------------------------------------------------
# Timing helpers

def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(fn, repeats: int) -> dict:
    """One untimed warm-up call, then `repeats` timed calls: median wall and process-CPU seconds."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"seconds": statistics.median(walls), "cpu_seconds": statistics.median(cpus), "samples": walls}


# ---------------------------------------------------------------------------------------------------
# The official code on CPU (the monkeypatches of spec §7, as tools/demo/train.py's setup_official)

def torchvision_stub():
    """torchvision's PyPI wheel is CUDA-built: its _C extension does not load next to the CPU torch,
    and _meta_registrations then needs the nms/qnms schemas to exist. Define them (never called)."""
    import torch
    try:
        torch.ops.torchvision.nms  # noqa: B018  (present when _C loads)
        return None
    except (AttributeError, RuntimeError):
        pass
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return lib


def setup_official(src: str, tokenizer_dir: str):
    if not src or not os.path.isdir(os.path.join(src, "models")):
        sys.exit("--referformer-src must be an exported copy of github.com/wjn922/ReferFormer (with models/)")
    sys.path.insert(0, src)
    import torchvision
    from torchvision.models.resnet import Bottleneck, ResNet
    # 1. the compiled MultiScaleDeformableAttention op -> the official pure-PyTorch core
    sys.modules["MultiScaleDeformableAttention"] = types.ModuleType("MultiScaleDeformableAttention")
    from models.ops.functions.ms_deform_attn_func import ms_deform_attn_core_pytorch
    import models.ops.modules.ms_deform_attn as msda
    msda.MSDeformAttnFunction = types.SimpleNamespace(
        apply=lambda value, shapes, start, loc, w, step: ms_deform_attn_core_pytorch(value, shapes, loc, w))
    # 2. roberta-base shapes with random weights, a local tokenizer, no network
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast
    tok = RobertaTokenizerFast(os.path.join(tokenizer_dir, "vocab.json"), os.path.join(tokenizer_dir, "merges.txt"))
    cfg = RobertaConfig(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                        max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                        layer_norm_eps=1e-5)
    RobertaTokenizerFast.from_pretrained = classmethod(lambda cls, *a, **k: tok)
    RobertaModel.from_pretrained = classmethod(lambda cls, *a, **k: RobertaModel(cfg, add_pooling_layer=True))
    # 3. ResNet-50 with random weights (no ImageNet download)
    import models.backbone as bb
    bb.is_main_process = lambda: False
    torchvision.models.resnet50 = lambda replace_stride_with_dilation=None, pretrained=False, norm_layer=None, **k: ResNet(
        Bottleneck, [3, 4, 6, 3], replace_stride_with_dilation=replace_stride_with_dilation, norm_layer=norm_layer)
    import models
    import opts
    import util.misc as misc
    return models, opts, misc, tok


def build_official(models, opts):
    import torch
    parser = argparse.ArgumentParser(parents=[opts.get_args_parser()])
    args = parser.parse_args(["--device", "cpu", "--with_box_refine", "--binary", "--masks"])
    torch.manual_seed(0)
    build = models.build_model if hasattr(models, "build_model") else models.build
    model, _, _ = build(args)
    with torch.no_grad():
        # Bounded activations with random weights (as referstream-bench's random parameters): the
        # residual branches' last FrozenBatchNorm scales 0.2.
        for name, buf in model.named_buffers():
            if name.startswith("backbone.") and name.endswith(".bn3.weight"):
                buf.fill_(0.2)
    return model.eval()


def export(model, path: str) -> list:
    """The state dict as float32 safetensors (every floating tensor copied: the box-refinement twins
    share storage); returns the skipped non-float keys."""
    from safetensors.torch import save_file
    sd = model.state_dict()
    tensors = {k: v.detach().float().contiguous().clone() for k, v in sd.items() if v.is_floating_point()}
    save_file(tensors, path)
    return [k for k, v in sd.items() if not v.is_floating_point()]


# ---------------------------------------------------------------------------------------------------
# ReferStream side

def swift_checkpoint(a, weights: str, frames: int, tokens: int, json_path: str) -> dict:
    cmd = [os.path.join(a.swift_bin, "referstream-bench"), "checkpoint", "--weights", weights, "--frames", str(frames),
           "--height", str(a.height), "--width", str(a.width), "--tokens", str(tokens), "--repeats", str(a.repeats),
           "--threads", str(a.threads), "--json", json_path]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    with open(json_path) as fh:
        report = json.load(fh)
    stages = {s["name"]: s for s in report["stages"]}
    return {"report": report, "backbone_per_frame": stages["backbone"]["seconds"], "backbone_cpu_per_frame": stages["backbone"]["cpu_seconds"],
            "text_per_phrase": stages["text"]["seconds"], "per_frame": report["total"]["seconds"],
            "clip": stages["text"]["seconds"] + frames * report["total"]["seconds"],
            "cpu_clip": stages["text"]["cpu_seconds"] + frames * report["total"]["cpu_seconds"]}


def swift_parity(a, weights: str, frames_path: str, official_masks, official_query: int) -> dict:
    import numpy as np
    from safetensors.numpy import load_file
    out = os.path.join(a.out, "infer.safetensors")
    cmd = [os.path.join(a.swift_bin, "referstream"), "infer", "--weights", weights, "--tokenizer", a.tokenizer,
           "--frames", frames_path, "--caption", CAPTION, "--threads", str(a.threads), "--output", out]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr}")
    got = load_file(out)
    masks = got["output.pred_masks"].astype(np.float64)
    ref = official_masks.astype(np.float64)
    diff = float(np.abs(masks - ref).max())
    rms = float(np.sqrt((ref ** 2).mean()))
    return {"pred_masks_max_abs": diff, "pred_masks_max_abs_over_rms": diff / rms if rms else None,
            "query_swift": int(got["post.query_index"][0]), "query_official": official_query}


def row(name, pytorch, pytorch_cpu, referstream, referstream_cpu, **extra) -> dict:
    """One comparison: wall seconds and process-CPU seconds of both sides and their ratios."""
    return dict(name=name, pytorch=pytorch, pytorch_cpu=pytorch_cpu, referstream=referstream, referstream_cpu=referstream_cpu,
                ratio=referstream / pytorch, cpu_ratio=referstream_cpu / pytorch_cpu if pytorch_cpu else None, **extra)


# ---------------------------------------------------------------------------------------------------

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    a = parse_args(argv)
    ensure_interpreter(a, argv)

    import torch
    torch.set_num_threads(a.threads)
    keep = torchvision_stub()  # noqa: F841  (the library object must stay alive)
    import torchvision
    os.makedirs(a.out, exist_ok=True)
    for tool in ("referstream-bench", "referstream"):
        if not os.path.exists(os.path.join(a.swift_bin, tool)):
            sys.exit(f"{tool} is not in {a.swift_bin}: build it with `swift build -c release --product {tool}` (or give --swift-bin)")
    frame_counts = [int(x) for x in a.frames.split(",") if x.strip()]
    result = {"schema": "referstream-compare/1", "torch": torch.__version__, "torchvision": torchvision.__version__,
              "threads": a.threads, "height": a.height, "width": a.width, "repeats": a.repeats, "rows": []}
    print(f"torch {torch.__version__} ({a.threads} threads), torchvision {torchvision.__version__}; "
          f"{a.height}×{a.width}, warm, median of {a.repeats}; load {load()}", flush=True)

    # 1. torchvision ResNet-50 (layer1..layer4), NCHW and channels-last.
    torch.manual_seed(0)
    resnet = torchvision.models.resnet50().eval()
    body = torch.nn.Sequential(*list(resnet.children())[:-2])
    x = torch.randn(1, 3, a.height, a.width)
    tv = {}
    with torch.no_grad():
        tv["nchw"] = timed(lambda: body(x), a.repeats)
        body_cl = body.to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        tv["channels_last"] = timed(lambda: body_cl(x_cl), a.repeats)
    best_layout = min(tv, key=lambda k: tv[k]["seconds"])
    torchvision_backbone = tv[best_layout]
    print(f"torchvision resnet50 body: NCHW {tv['nchw']['seconds']:.3f} s, channels-last {tv['channels_last']['seconds']:.3f} s "
          f"(load {load()})", flush=True)
    del body, body_cl, resnet

    if a.skip_official:
        # ReferStream's backbone alone: the random R50 of `referstream-bench model`.
        cmd = [os.path.join(a.swift_bin, "referstream-bench"), "model", "--frames", "1", "--height", str(a.height),
               "--width", str(a.width), "--repeats", str(a.repeats), "--threads", str(a.threads)]
        text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        line = next(l for l in text.splitlines() if l.startswith("backbone "))
        swift_backbone, swift_backbone_cpu = float(line.split()[2]) / 1000, float(line.split()[3]) / 1000
        result["rows"].append(row("ResNet-50 backbone, 1 frame", torchvision_backbone["seconds"], torchvision_backbone["cpu_seconds"],
                                  swift_backbone, swift_backbone_cpu, pytorch_what=f"torchvision ({best_layout})", load=load()))
    else:
        from safetensors.torch import save_file
        models, opts, misc, tok = setup_official(a.referformer_src, a.tokenizer)
        model = build_official(models, opts)
        weights = os.path.join(a.out, "r50-random.safetensors")
        skipped = export(model, weights)
        if skipped:
            print(f"not exported (not float): {skipped}", flush=True)
        tokens = len(tok(CAPTION)["input_ids"])
        print(f"official model built and exported ({os.path.getsize(weights) / 1e6:.0f} MB); caption {tokens} tokens", flush=True)
        g = torch.Generator().manual_seed(7)
        mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
        for t in frame_counts:
            frames = ((torch.rand(t, 3, a.height, a.width, generator=g) - mean) / std).contiguous()
            frames_path = os.path.join(a.out, f"frames_t{t}.safetensors")
            save_file({"frames": frames}, frames_path)
            size = torch.tensor([a.height, a.width])
            out = {}

            def official():
                o = model(misc.nested_tensor_from_videos_list([frames]), [CAPTION], [{"size": size}])
                # inference_ytvos.py's post-processing: best query, masks resized and thresholded.
                q = int(o["pred_logits"][0, :, :, 0].sigmoid().mean(0).argmax())
                m = o["pred_masks"][0, :, q]
                up = torch.nn.functional.interpolate(m[None], size=(a.height, a.width), mode="bilinear", align_corners=False)[0]
                out.update(o=o, q=q, masks=(up.sigmoid() > 0.5))

            def official_backbone():
                model.backbone(misc.nested_tensor_from_videos_list([frames]))

            with torch.no_grad():
                load_before = load()
                off = timed(official, a.repeats)
                off_bb = timed(official_backbone, a.repeats)
            sw = swift_checkpoint(a, weights, t, tokens, os.path.join(a.out, f"referstream_t{t}.json"))
            whole = row(f"whole network, {t}-frame clip", off["seconds"], off["cpu_seconds"], sw["clip"], sw["cpu_clip"],
                        frames=t, pytorch_what="official ReferFormer", load=[load_before, load()])
            if not a.no_parity:
                whole["parity"] = swift_parity(a, weights, frames_path, out["o"]["pred_masks"].numpy(), out["q"])
            result["rows"].append(whole)
            result["rows"].append(row(f"backbone per frame, {t}-frame clip", off_bb["seconds"] / t, off_bb["cpu_seconds"] / t,
                                      sw["backbone_per_frame"], sw["backbone_cpu_per_frame"], frames=t,
                                      pytorch_what="official backbone (FrozenBN ResNet-50)"))
            if t == 1:
                result["rows"].insert(0, row("ResNet-50 backbone, 1 frame", torchvision_backbone["seconds"], torchvision_backbone["cpu_seconds"],
                                             sw["backbone_per_frame"], sw["backbone_cpu_per_frame"], frames=1,
                                             pytorch_what=f"torchvision ({best_layout})", load=load()))
            print(f"T={t}: official {off['seconds']:.3f} s, ReferStream {sw['clip']:.3f} s (ratio {whole['ratio']:.2f}); "
                  f"load {whole['load']}", flush=True)
        if not a.keep_weights:
            os.remove(weights)

    result["torchvision_backbone"] = {k: {"seconds": v["seconds"], "cpu_seconds": v["cpu_seconds"]} for k, v in tv.items()}
    result["load_end"] = load()
    print("\n" + f"{'':36}{'PyTorch':40}{'wall s':>8}{'CPU s':>8}{'ReferStream s':>15}{'CPU s':>8}{'ratio':>7}{'CPU ratio':>10}")
    for r in result["rows"]:
        print(f"{r['name']:36}{r['pytorch_what']:40}{r['pytorch']:>8.3f}{r['pytorch_cpu']:>8.3f}{r['referstream']:>15.3f}"
              f"{r['referstream_cpu']:>8.3f}{r['ratio']:>7.2f}{r['cpu_ratio'] or 0:>10.2f}")
        if "parity" in r:
            p = r["parity"]
            print(f"{'':4}same masks? pred_masks max |Δ| {p['pred_masks_max_abs']:.2e} ({p['pred_masks_max_abs_over_rms']:.2e} × RMS); "
                  f"query {p['query_swift']} vs {p['query_official']}")
    print("ratio = ReferStream ÷ PyTorch wall time, CPU ratio = the same with process CPU seconds (all threads); below 1: "
          "ReferStream is faster. Whole network: ReferStream = text + T × per-frame stages (referstream-bench checkpoint).")
    path = os.path.join(a.out, "compare.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"JSON written to {path}; load average {result['load_end']}")


if __name__ == "__main__":
    main()
