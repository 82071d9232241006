"""Train the ReferStream demo model: the official ReferFormer (model, SetCriterion, HungarianMatcher) in a
small configuration on synthetic referring videos (tools/demo/synth.py), on the CPU.

The official code is imported from an exported copy of github.com/wjn922/ReferFormer (commit 06fc218)
whose path is in $REFERFORMER_SRC; nothing of it is copied here. The monkeypatches are those of
../shared/spec/referformer.md §7: pure-PyTorch `ms_deform_attn_core_pytorch` instead of the CUDA op
(differentiable, so training works), local tokenizer + `RobertaModel(RobertaConfig(...))` instead of
`from_pretrained('roberta-base')`, a narrow torchvision `ResNet(Bottleneck, ...)` instead of resnet50, no
ImageNet download.

    REFERFORMER_SRC=/work/ext/ReferFormer python tools/demo/train.py --out /work/demo-train \
        --tokenizer models/demo [--minutes 120] [--resume]

Checkpoints (`state.pt`: model, optimizer, iteration, RNG-free data position) are written every
--save-minutes to --out; `--resume` continues from `OUT/state.pt`. The data stream is a pure function of
(seed, iteration), so a resumed run sees exactly the clips a continuous run would have seen.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth  # noqa: E402

# The demo model's architecture (written to config.json by export.py).
MODEL = dict(hidden_dim=64, nheads=8, dim_feedforward=128, enc_layers=2, dec_layers=2, num_queries=5,
             num_feature_levels=4, enc_n_points=4, dec_n_points=4, mask_dim=64, controller_layers=3,
             dynamic_mask_channels=8, rel_coord=True, with_box_refine=True, two_stage=False, masks=True,
             binary=True)
BACKBONE = dict(layers=[1, 1, 1, 1], width_per_group=8)
TEXT = dict(vocab_size=None, hidden_size=768, num_hidden_layers=1, num_attention_heads=12, intermediate_size=256,
            max_position_embeddings=66, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1)
# RoBERTa init: HF's 0.02 makes a from-scratch 1-layer encoder's pooled sentence feature nearly constant
# (pairwise distance ~9% of its norm after the resizer); 0.1 with N(0, 1) word embeddings makes sentences
# nearly orthogonal, so the text is usable from the first iterations.
TEXT_INIT_RANGE = 0.1
TRAIN_SEED_BASE = 0            # training scenes use seeds TRAIN_SEED_BASE + k, k < 10_000_000
VALID_SEED_BASE = 50_000_000   # validation scenes (second renderer) use seeds from here on


def setup_official(tokenizer_dir: str):
    """Imports the official code with the CPU monkeypatches; returns (models module, opts module, misc)."""
    src = os.environ.get("REFERFORMER_SRC")
    if not src or not os.path.isdir(os.path.join(src, "models")):
        sys.exit("set REFERFORMER_SRC to an exported copy of github.com/wjn922/ReferFormer (commit 06fc218)")
    sys.path.insert(0, src)
    # torchvision's PyPI wheel is CUDA-built: its _C extension does not load next to the CPU torch, and
    # _meta_registrations then needs the nms/qnms schemas to exist. Define them (never called).
    # (Only for a CPU-only torch: a CUDA torch next to its matching torchvision loads _C normally.)
    if torch.version.cuda is None:
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        setup_official._keep = lib
    import torchvision
    from torchvision.models.resnet import ResNet, Bottleneck
    # 1. compiled op -> pure PyTorch (forward and autograd)
    stub = types.ModuleType("MultiScaleDeformableAttention")
    sys.modules["MultiScaleDeformableAttention"] = stub
    from models.ops.functions.ms_deform_attn_func import ms_deform_attn_core_pytorch
    import models.ops.modules.ms_deform_attn as msda_mod
    msda_mod.MSDeformAttnFunction = types.SimpleNamespace(
        apply=lambda value, shapes, start, loc, w, step: ms_deform_attn_core_pytorch(value, shapes, loc, w))
    # 2. RoBERTa without network
    import transformers
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast
    tok = RobertaTokenizerFast(os.path.join(tokenizer_dir, "vocab.json"), os.path.join(tokenizer_dir, "merges.txt"))
    TEXT["vocab_size"] = len(tok)
    cfg = RobertaConfig(vocab_size=TEXT["vocab_size"], hidden_size=768, num_hidden_layers=TEXT["num_hidden_layers"],
                        num_attention_heads=12, intermediate_size=TEXT["intermediate_size"],
                        max_position_embeddings=TEXT["max_position_embeddings"], type_vocab_size=1, pad_token_id=1,
                        bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                        initializer_range=TEXT_INIT_RANGE)
    setup_official.roberta_config = cfg
    RobertaTokenizerFast.from_pretrained = classmethod(lambda cls, *a, **k: tok)
    RobertaModel.from_pretrained = classmethod(lambda cls, *a, **k: RobertaModel(cfg, add_pooling_layer=True))
    # 3. narrow ResNet, no download
    import models.backbone as bb
    bb.is_main_process = lambda: False
    torchvision.models.resnet50 = lambda replace_stride_with_dilation=None, pretrained=False, norm_layer=None, **k: ResNet(
        Bottleneck, BACKBONE["layers"], width_per_group=BACKBONE["width_per_group"],
        replace_stride_with_dilation=replace_stride_with_dilation, norm_layer=norm_layer)
    import models
    import opts
    import util.misc as misc
    return models, opts, misc


def official_args(opts, device="cpu", cls_loss_coef=2.0, set_cost_class=2.0, costs=None):
    parser = argparse.ArgumentParser(parents=[opts.get_args_parser()])
    a = parser.parse_args(["--device", device, "--with_box_refine", "--binary", "--masks",
                           "--hidden_dim", str(MODEL["hidden_dim"]), "--dim_feedforward", str(MODEL["dim_feedforward"]),
                           "--enc_layers", str(MODEL["enc_layers"]), "--dec_layers", str(MODEL["dec_layers"]),
                           "--num_queries", str(MODEL["num_queries"]),
                           "--cls_loss_coef", str(cls_loss_coef), "--set_cost_class", str(set_cost_class)]
                          + [x for k, v in (costs or {}).items() if v is not None for x in (f"--set_cost_{k}", str(v))])
    a.mask_dim = MODEL["mask_dim"]
    a.masks = True
    return a


class BatchStatsBN:
    """Data-dependent init of the FrozenBatchNorm2d statistics (there is no ImageNet pre-training): one
    forward pass in which every frozen BN normalises with, and stores, its input batch statistics."""

    def __init__(self, model):
        self.model = model

    @torch.no_grad()
    def __call__(self, samples, captions, targets):
        from models.backbone import FrozenBatchNorm2d
        orig = FrozenBatchNorm2d.forward

        def fwd(bn, x):
            bn.running_mean.copy_(x.mean(dim=(0, 2, 3)))
            bn.running_var.copy_(x.var(dim=(0, 2, 3)))
            return orig(bn, x)

        FrozenBatchNorm2d.forward = fwd
        try:
            self.model(samples, captions, targets)
        finally:
            FrozenBatchNorm2d.forward = orig


MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


AUGMENT_FROM = 0   # training clips k >= AUGMENT_FROM * batch use the domain-randomised renderer


RICH_PHRASES = 0.0   # --rich-phrases: share of training phrases rewritten with redundant attributes
KINDS = None         # --kinds: training phrases only of these expression kinds (None: all)


def rich_phrase(scene, e, k: int, variant: int):
    """With probability RICH_PHRASES, the expression rewritten to name more of the object's own attributes
    ("the blue square" -> "the small blue square", "the shape on the left" -> "the big red circle"), kept only
    when synth.resolve still finds exactly that object. The generator's expressions use the fewest attributes
    that single an object out, so without this a user's over-specified phrase ("the small blue square" when
    there is one blue square, as in the demo) is outside the training distribution. Its own random stream
    (k, variant): the rest of the sample is unchanged."""
    rng = np.random.default_rng([k, variant, 7])
    if RICH_PHRASES <= 0 or rng.random() >= RICH_PHRASES:
        return e
    o = next(ob for ob in scene.objects if ob.obj_id == e.obj_id)
    forms = [f"the {o.size} {o.colour} {o.shape}", f"the {o.colour} {o.shape}", f"the {o.size} {o.shape}",
             f"the {o.size} {o.colour} shape"]
    text = forms[int(rng.integers(0, len(forms)))]
    if text == e.text or synth.resolve(scene, text) != [o.obj_id]:
        return e
    return synth.Expression(e.exp_id, text, e.obj_id, e.kind)


def make_sample(k: int, height: int, width: int, clip: int, renderer: str = "train", augment: bool = False,
                variant: int = 0):
    """Clip k of the deterministic data stream: frames (T,3,H,W) normalised, caption, target dict.

    variant 1 (`--paired`): the same frames of the same scene as variant 0, with an expression that refers to
    another object visible in them (variant 0's when the scene has none), so the two differ only in the phrase."""
    rng = np.random.default_rng(k * 2654435761 % (2 ** 63) + 99)
    base = TRAIN_SEED_BASE if renderer == "train" else VALID_SEED_BASE
    scene = synth.sample_scene(base + k, frames=12, allow_entering=(renderer == "valid" or augment))
    pool = scene.expressions
    if KINDS is not None and renderer == "train":
        pool = [x for x in scene.expressions if x.kind in KINDS] or scene.expressions
    for _ in range(20):   # the official matcher needs the referred object visible in at least one frame
        e = pool[int(rng.integers(0, len(pool)))]
        step = int(rng.integers(1, 3))
        start = int(rng.integers(0, scene.frames - (clip - 1) * step))
        idx = [start + i * step for i in range(clip)]
        if renderer == "train":
            imgs, ids = synth.render_train(scene, height, width, frame_indices=idx, augment=augment)
        else:
            imgs, ids = synth.render_valid(scene, height, width, frame_indices=idx)
        if (ids == e.obj_id).any():
            break
    if variant == 1:
        others = [o for o in pool if o.obj_id != e.obj_id and (ids == o.obj_id).any()]
        if others:
            e = others[int(rng.integers(0, len(others)))]
    if renderer == "train":
        e = rich_phrase(scene, e, k, variant)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
    x = (x - MEAN) / STD
    m = torch.from_numpy(ids == e.obj_id)
    boxes, valid = [], []
    for t in range(clip):
        ys, xs = torch.nonzero(m[t], as_tuple=True)
        if len(ys) == 0:
            boxes.append(torch.zeros(4)); valid.append(0)
            continue
        x0, x1 = xs.min().item(), xs.max().item() + 1
        y0, y1 = ys.min().item(), ys.max().item() + 1
        boxes.append(torch.tensor([(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height]))
        valid.append(1)
    target = {"labels": torch.zeros(clip, dtype=torch.long), "boxes": torch.stack(boxes),
              "masks": m.float(), "valid": torch.tensor(valid, dtype=torch.long),
              "size": torch.tensor([height, width]), "orig_size": torch.tensor([height, width]),
              "caption": e.text}
    return x, e, target


def to_device(target, device):
    """A target dict on the training device (strings such as the caption stay as they are)."""
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in target.items()}


class StreamClips(torch.utils.data.IterableDataset):
    """Batches of the deterministic data stream from iteration `start` on, rendered by loader workers:
    worker w renders the batches of iterations start + w, start + w + n, ... and the DataLoader interleaves
    them back into iteration order, so the stream is the same as rendering in-process."""

    def __init__(self, clip_for_stream, batch, start):
        self.clip_for_stream, self.batch, self.start = clip_for_stream, batch, start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        w, n = (0, 1) if info is None else (info.id, info.num_workers)
        it = self.start + w
        while True:
            k0 = it * self.batch
            yield it * self.batch, [self.clip_for_stream(k0 + b) for b in range(self.batch)]
            it += n


def write_shards(state_dict, folder, prefix, dtype, iteration, max_bytes=15_000_000):
    """Writes a state dict as safetensors shards of at most max_bytes each (folder/prefix-NN.safetensors)."""
    from safetensors.torch import save_file
    os.makedirs(folder, exist_ok=True)
    shards, cur, size = [], {}, 0
    for k, v in state_dict.items():
        t = v.detach().to("cpu", dtype).contiguous().clone()
        nbytes = t.numel() * t.element_size()
        if cur and size + nbytes > max_bytes:
            shards.append(cur); cur, size = {}, 0
        cur[k] = t; size += nbytes
    if cur:
        shards.append(cur)
    names = []
    for i, sh in enumerate(shards):
        name = f"{prefix}-{i:02d}.safetensors"
        save_file(sh, os.path.join(folder, name), metadata={"iteration": str(iteration)})
        names.append(name)
    return {"iteration": iteration, "files": names}


def param_groups(model, lr, lr_backbone, lr_text):
    groups = {"main": [], "backbone": [], "text": []}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if n.startswith("backbone.0"):
            groups["backbone"].append(p)
        elif n.startswith("text_encoder"):
            groups["text"].append(p)
        else:
            groups["main"].append(p)
    return [{"params": groups["main"], "lr": lr}, {"params": groups["backbone"], "lr": lr_backbone},
            {"params": groups["text"], "lr": lr_text}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--clip", type=int, default=3)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--lr-backbone", type=float, default=3e-4)
    ap.add_argument("--lr-text", type=float, default=1e-4)
    ap.add_argument("--clip-norm", type=float, default=1.0)
    ap.add_argument("--lr-drop-at", type=int, default=10 ** 9, help="iteration after which every lr is x0.1")
    ap.add_argument("--lr-drop-minutes", type=float, default=85,
                    help="training minutes after which every lr is x0.1 (whichever comes first)")
    ap.add_argument("--minutes", type=float, default=120)
    ap.add_argument("--max-iters", type=int, default=10 ** 9)
    ap.add_argument("--save-minutes", type=float, default=5)
    ap.add_argument("--valid-every", type=int, default=400)
    ap.add_argument("--valid-clips", type=int, default=24)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--augment-from", type=int, default=0,
                    help="first iteration that draws clips from the domain-randomised training renderer "
                         "(the shipped run switched at 520)")
    ap.add_argument("--word-embedding-std", type=float, default=1.0,
                    help="init of the RoBERTa word embeddings (HF default 0.02 leaves token identity a small part of "
                         "LayerNorm(word + position); without pre-training the model then learns to ignore the text)")
    ap.add_argument("--reinit-word-embeddings", action="store_true",
                    help="re-draw the word embeddings with --word-embedding-std after --resume (done once, at "
                         "iteration 1362 of the shipped run)")
    ap.add_argument("--text-init-range", type=float, default=0.1, help="RobertaConfig.initializer_range")
    ap.add_argument("--reinit-text-encoder", action="store_true",
                    help="after --resume, replace the text encoder by a fresh one (--text-init-range, "
                         "--word-embedding-std), keeping everything else (done at iteration 1876 of the shipped run)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", help="start from exported weights (models/demo/weights.safetensors) with a fresh "
                                        "optimizer; use --start-iteration to continue the data stream")
    ap.add_argument("--start-iteration", type=int, default=0)
    ap.add_argument("--start-minutes", type=float, default=0.0, help="training minutes already done (lr schedule)")
    ap.add_argument("--benchmark", type=int, default=0, help="time this many iterations and exit")
    ap.add_argument("--text-encoder", help="load the text encoder from this file (tools/demo/pretrain_text.py) after "
                                           "initialising / resuming, with a fresh optimizer state for it")
    ap.add_argument("--cls-loss-coef", type=float, default=2.0, help="official --cls_loss_coef (class focal loss "
                                                                    "weight: the only phrase-dependent loss term)")
    ap.add_argument("--set-cost-class", type=float, default=2.0, help="official --set_cost_class (matcher)")
    for term, official in (("bbox", 5), ("giou", 2), ("mask", 2), ("dice", 5)):
        ap.add_argument(f"--set-cost-{term}", type=float, default=None,
                        help=f"official --set_cost_{term} (matcher; default {official}). Near 0 with a high "
                             "--set-cost-class, the query the class head prefers is the one trained on the referred "
                             "object's mask, so the mask has to follow the phrase")
    ap.add_argument("--rich-phrases", type=float, default=0.0,
                    help="share of training phrases rewritten with redundant attributes of their object (\"the small blue "
                         "square\" where \"the blue square\" would do), checked by synth.resolve")
    ap.add_argument("--kinds", help="comma-separated expression kinds (colour, shape, size, position, motion): "
                    "training phrases only of these kinds where the clip has one (a diagnostic: can the model "
                    "learn that kind?); in-training validation still uses every kind")
    ap.add_argument("--paired", action="store_true",
                    help="each pair of clips in a batch shows the same frames with phrases for two different objects, "
                         "so only the phrase tells the two targets apart (needs an even --batch)")
    ap.add_argument("--freeze", default="", help="comma-separated parts that do not train: backbone, text "
                                                 "(the RoBERTa encoder; the resizer still trains)")
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when available)")
    ap.add_argument("--workers", type=int, default=0,
                    help="data-loader processes rendering clips (0: render in the training process); the data "
                         "stream stays the same pure function of (iteration, batch)")
    ap.add_argument("--warmup", type=int, default=0, help="iterations of linear lr warm-up")
    ap.add_argument("--shards", help="at the end also write the final (float32) and best (float16) weights as "
                                     "safetensors shards of <= 15 MB each plus shards.json into this folder "
                                     "(export.py --shards reads them)")
    a = ap.parse_args()
    global RICH_PHRASES, KINDS
    RICH_PHRASES = a.rich_phrases
    if a.kinds:
        KINDS = set(a.kinds.split(","))
        if KINDS - {"colour", "shape", "size", "position", "motion"}:
            ap.error(f"--kinds: unknown kind(s) {sorted(KINDS - {'colour', 'shape', 'size', 'position', 'motion'})}")
    torch.set_num_threads(a.threads)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(device)}", flush=True)
    if a.paired and a.batch % 2:
        ap.error("--paired needs an even --batch")
    os.makedirs(a.out, exist_ok=True)
    global TEXT_INIT_RANGE
    TEXT_INIT_RANGE = a.text_init_range
    models, opts, misc = setup_official(a.tokenizer)
    args = official_args(opts, device.type, a.cls_loss_coef, a.set_cost_class,
                         {t: getattr(a, f"set_cost_{t}") for t in ("bbox", "giou", "mask", "dice")})
    print(f"matcher costs: class {args.set_cost_class}, bbox {args.set_cost_bbox}, giou {args.set_cost_giou}, "
          f"mask {args.set_cost_mask}, dice {args.set_cost_dice}; class loss x{args.cls_loss_coef}", flush=True)
    torch.manual_seed(a.seed)
    model, criterion, _ = models.build_model(args) if hasattr(models, "build_model") else models.build(args)
    model.to(device); criterion.to(device)
    # train every backbone stage (the official code freezes stem + layer1 because they are ImageNet
    # pre-trained; here everything starts from scratch). FrozenBN statistics come from the data.
    for p in model.parameters():
        p.requires_grad_(True)
    def init_word_embeddings():
        g = torch.Generator().manual_seed(a.seed + 1)
        with torch.no_grad():
            w = model.text_encoder.embeddings.word_embeddings.weight
            w.copy_(torch.randn(w.shape, generator=g) * a.word_embedding_std)

    if a.word_embedding_std > 0 and not a.resume:
        init_word_embeddings()
    log_path = os.path.join(a.out, "log.jsonl")
    state_path = os.path.join(a.out, "state.pt")
    opt = torch.optim.AdamW(param_groups(model, a.lr, a.lr_backbone, a.lr_text), weight_decay=args.weight_decay)
    it = 0
    elapsed = 0.0
    best = -1.0
    if a.resume and os.path.exists(state_path):
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])   # moves the state to the parameters' device
        it, elapsed, best = st["iteration"], st["elapsed"], st.get("best", -1.0)
        if a.reinit_text_encoder:
            from transformers import RobertaModel
            torch.manual_seed(a.seed + 2)
            fresh = RobertaModel(setup_official.roberta_config, add_pooling_layer=True)
            model.text_encoder.load_state_dict(fresh.state_dict())
            init_word_embeddings()
            for p_ in model.text_encoder.parameters():
                opt.state.pop(p_, None)
            print(f"text encoder re-initialised (range {a.text_init_range}, word std {a.word_embedding_std}) "
                  f"at iteration {it}", flush=True)
        if a.reinit_word_embeddings:
            init_word_embeddings()
            opt.state.pop(model.text_encoder.embeddings.word_embeddings.weight, None)
            print(f"word embeddings re-drawn with std {a.word_embedding_std} at iteration {it}", flush=True)
        print(f"resumed at iteration {it}, {elapsed / 60:.1f} min trained", flush=True)
        if os.path.exists(log_path):   # drop log records after the checkpoint (they will be redone)
            keep = [l for l in open(log_path) if l.strip() and json.loads(l)["it"] <= it]
            with open(log_path, "w") as fh:
                fh.writelines(keep)
    elif a.init_from:
        from safetensors.torch import load_file
        model.load_state_dict({k: v.float() for k, v in load_file(a.init_from).items()}, strict=True)
        model.to(device)
        it, elapsed = a.start_iteration, a.start_minutes * 60
        print(f"initialised from {a.init_from}; data stream at iteration {it}", flush=True)
    else:
        xs, caps, tgts = [], [], []
        for k in range(8):
            x, e, t = make_sample(10_000_000 + k, a.height, a.width, a.clip)
            xs.append(x.to(device)); caps.append(e.text); tgts.append(to_device(t, device))
        model.eval()
        BatchStatsBN(model)(misc.nested_tensor_from_videos_list(xs), caps, tgts)
        with open(log_path, "w"):
            pass
    if a.text_encoder:
        te = torch.load(a.text_encoder, map_location="cpu", weights_only=False)["text_encoder"]
        model.text_encoder.load_state_dict(te)
        for p_ in model.text_encoder.parameters():
            opt.state.pop(p_, None)
        print(f"text encoder loaded from {a.text_encoder} at iteration {it}", flush=True)
    frozen = {f for f in a.freeze.split(",") if f}
    if frozen - {"backbone", "text"}:
        sys.exit(f"--freeze: unknown part(s) {sorted(frozen - {'backbone', 'text'})}")
    for n, p_ in model.named_parameters():
        if ("backbone" in frozen and n.startswith("backbone.0")) or ("text" in frozen and n.startswith("text_encoder")):
            p_.requires_grad_(False)
            p_.grad = None
    if frozen:
        print(f"frozen: {sorted(frozen)}", flush=True)
    weight_dict = criterion.weight_dict

    def batch(k0):
        if loader is not None:
            got_it, items = next(loader)
            assert got_it == k0, (got_it, k0)
        else:
            items = [clip_for_stream(k0 + b) for b in range(a.batch)]
        xs = [x.to(device, non_blocking=True) for x, _, _ in items]
        return (misc.nested_tensor_from_videos_list(xs), [c for _, c, _ in items],
                [to_device(t, device) for _, _, t in items])

    def clip_for_stream(k):
        # --paired: clips 2j and 2j+1 of the stream are the same frames with phrases for two different objects.
        kk, variant = (k - k % 2, k % 2) if a.paired else (k, 0)
        x, e, t = make_sample(kk, a.height, a.width, a.clip, augment=(k // a.batch >= a.augment_from), variant=variant)
        return x, e.text, t

    loader = None
    if a.workers > 0:
        loader = iter(torch.utils.data.DataLoader(
            StreamClips(clip_for_stream, a.batch, it), batch_size=None, num_workers=a.workers,
            prefetch_factor=4, persistent_workers=True, pin_memory=(device.type == "cuda"),
            worker_init_fn=lambda _: torch.set_num_threads(1)))

    best_weights = None

    def save(tag="state.pt"):
        tmp = os.path.join(a.out, tag + ".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "iteration": it, "elapsed": elapsed,
                    "best": best, "cli": vars(a), "model_config": MODEL, "backbone": BACKBONE, "text": TEXT}, tmp)
        os.replace(tmp, os.path.join(a.out, tag))

    @torch.no_grad()
    def validate():
        model.eval()
        ious = {"train": [], "valid": []}
        for renderer in ("train", "valid"):
            for k in range(a.valid_clips):
                kk = 20_000_000 + k if renderer == "train" else k
                x, e, t = make_sample(kk, a.height, a.width, a.clip, renderer=renderer)
                t = to_device(t, device)
                out = model(misc.nested_tensor_from_videos_list([x.to(device)]), [e.text], [t])
                score = out["pred_logits"][0, :, :, 0].sigmoid().mean(0)
                q = int(score.argmax())
                logits = out["pred_masks"][0, :, q]
                up = torch.nn.functional.interpolate(logits[None], size=(a.height, a.width), mode="bilinear",
                                                     align_corners=False)[0]
                pred = up.sigmoid() > 0.5
                gt = t["masks"] > 0.5
                inter = (pred & gt).sum().item(); union = (pred | gt).sum().item()
                ious[renderer].append(1.0 if union == 0 else inter / union)
        model.train()
        return {k: float(np.mean(v)) for k, v in ious.items()}

    model.train()
    start = time.time() - elapsed
    last_save = time.time()
    run_t0 = time.time()
    run_it0 = it
    smooth = None
    while it < a.max_iters:
        factor = 0.1 if (it >= a.lr_drop_at or elapsed >= a.lr_drop_minutes * 60) else 1.0
        if it < a.warmup:
            factor *= (it + 1) / a.warmup
        for g, base in zip(opt.param_groups, (a.lr, a.lr_backbone, a.lr_text)):
            g["lr"] = base * factor
        samples, caps, tgts = batch(it * a.batch)
        out = model(samples, caps, tgts)
        losses = criterion(out, tgts)
        loss = sum(losses[k] * weight_dict[k] for k in losses if k in weight_dict)
        opt.zero_grad()
        loss.backward()
        if a.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
        opt.step()
        it += 1
        elapsed = time.time() - start
        lv = loss.item()
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        rec = {"it": it, "t": round(elapsed, 1), "loss": round(lv, 4), "loss_smooth": round(smooth, 4),
               "mask": round(losses["loss_mask"].item(), 4), "dice": round(losses["loss_dice"].item(), 4),
               "ce": round(losses["loss_ce"].item(), 4), "bbox": round(losses["loss_bbox"].item(), 4),
               "lr": opt.param_groups[0]["lr"]}
        if a.benchmark and it - run_it0 >= a.benchmark:
            dt = time.time() - run_t0
            print(f"{a.benchmark} iterations in {dt:.1f} s: {a.benchmark / dt:.3f} it/s", flush=True)
            return
        if it % a.valid_every == 0:
            rec["valid"] = validate()
            if rec["valid"]["valid"] > best:
                best = rec["valid"]["valid"]
                save("best.pt")
                if a.shards:
                    best_weights = ({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}, it)
        if it % 10 == 0 or "valid" in rec:
            rec["it_per_s"] = round((it - run_it0) / (time.time() - run_t0), 3)
            with open(log_path, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)
        if time.time() - last_save > a.save_minutes * 60:
            save(); last_save = time.time()
        if elapsed > a.minutes * 60:
            break
    save()
    if a.shards:
        meta = {"iteration": it, "elapsed": elapsed, "best": best, "cli": vars(a), "model_config": MODEL,
                "backbone": BACKBONE, "text": TEXT, "sets": {}}
        meta["sets"]["final"] = write_shards(model.state_dict(), a.shards, "final", torch.float32, it)
        if best_weights is not None:
            meta["sets"]["best"] = write_shards(best_weights[0], a.shards, "best", torch.float16, best_weights[1])
        with open(os.path.join(a.shards, "shards.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
    print("done", it, elapsed, flush=True)


if __name__ == "__main__":
    main()
