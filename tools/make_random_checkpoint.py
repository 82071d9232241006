#!/usr/bin/env python3
"""Writes a random-weight ReferFormer checkpoint in the official PyTorch format, without PyTorch.

The released ReferFormer checkpoints cannot be downloaded here and PyTorch is never installed in CI, so
this tool builds the same kind of file from numpy alone:

* the state dict of the official R50 / box-refine / binary model (spec referformer.md §2): every key, in
  registration order, with its shape, generated from the spec's rules below (804 keys with the real
  configuration; `--tiny` gives the 359-key configuration of the golden referformer-tiny model), the
  24 `transformer.decoder.bbox_embed.*` keys sharing their storage with `bbox_embed.*` (box refinement
  registers the same modules twice), float32, seeded random values with sensible scales;
* the top level of ReferFormer's main.py, `{'model': OrderedDict state_dict, 'epoch': N, 'args':
  argparse.Namespace}` (the state dict carries `_metadata`, as `state_dict()` does);
* serialised byte-for-byte the way `torch.save(obj, f, _use_new_zipfile_serialization=False)` does
  (golden README §5, "Legacy layout"): pickle(magic number), pickle(protocol 1001), pickle(sys_info), the
  main pickle (protocol 2) whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size,
  stride, False, OrderedDict())` calls on storages given by persistent ids `('storage',
  torch.FloatStorage, key, 'cpu', numel, None)`, pickle(sorted storage keys), then each storage as an
  8-byte little-endian element count and its raw bytes. `--format zip` writes the torch ≥ 1.6 default
  layout instead (`<stem>/data.pkl`, `<stem>/data/<key>` stored and 64-byte aligned, `byteorder`,
  `version`, …).

The pickle names the real torch globals: stand-in modules `torch` and `torch._utils` are registered in
sys.modules holding a `FloatStorage`/`LongStorage` class and a `_rebuild_tensor_v2` function whose
`__module__`/`__qualname__` are torch's, so pickle's GLOBAL opcodes spell `torch FloatStorage` and
`torch._utils _rebuild_tensor_v2`. Nothing of torch is imported, copied or executed.

Values (seed `--seed`, each tensor from its own stream, so any subset regenerates identically):
conv weights N(0, 2/fan_in), linear weights N(0, 1/fan_in), RoBERTa embeddings N(0, 0.02²),
`query_embed`/`level_embed` N(0, 1), norm weights (every 1-D `weight`) 1 + N(0, 0.02²), biases
N(0, 0.02²), FrozenBN running_mean N(0, 0.1²) and running_var U(0.8, 1.2).

usage: make_random_checkpoint.py OUT.pth [--tiny] [--format legacy|zip] [--seed 0] [--epoch 5]
           [--position-ids] [--expected REF.safetensors] [--list]

`--expected` also writes every state-dict tensor (twins as separate copies, state-dict order) to a
safetensors file written here by hand (8-byte header length, JSON header, raw float32/int64 data), the
independent reference for tests of the Swift `.pth` reader and converter. `--list` prints key, dtype and
shape per line instead of writing anything.
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

# ---------------------------------------------------------------------------------------------------
# Stand-in torch globals, only so that pickle can name them (never called, never unpickled here).

_torch = types.ModuleType("torch")
_torch_utils = types.ModuleType("torch._utils")
_torch._utils = _torch_utils
sys.modules.setdefault("torch", _torch)
sys.modules.setdefault("torch._utils", _torch_utils)
if sys.modules["torch"] is not _torch:  # a real torch is imported: refuse rather than mix the two
    raise SystemExit("make_random_checkpoint.py must run without PyTorch imported")


def _storage_class(name):
    cls = type(name, (), {})
    cls.__module__, cls.__qualname__ = "torch", name
    setattr(_torch, name, cls)
    return cls


FloatStorage = _storage_class("FloatStorage")
LongStorage = _storage_class("LongStorage")


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in for torch._utils._rebuild_tensor_v2; never called")


_rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
_torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
SYS_INFO = {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4}}
DTYPES = {"float32": (FloatStorage, np.float32, "F32"), "int64": (LongStorage, np.int64, "I64")}

# ---------------------------------------------------------------------------------------------------
# The state dict's keys and shapes, from spec §2.


# The official Swin / Video-Swin `configs` (models/swin_transformer.py, models/video_swin_transformer.py):
# (embed_dim, depths, num_heads, window) with window an int (2-D) or (Wd, Wh, Ww) (3-D); mlp_ratio 4,
# patch 4 (1×4×4 in time), patch_norm true.
SWIN_CONFIGS = {
    "swin_t_p4w7": (96, [2, 2, 6, 2], [3, 6, 12, 24], 7),
    "swin_s_p4w7": (96, [2, 2, 18, 2], [3, 6, 12, 24], 7),
    "swin_b_p4w7": (128, [2, 2, 18, 2], [4, 8, 16, 32], 7),
    "swin_l_p4w7": (192, [2, 2, 18, 2], [6, 12, 24, 48], 7),
    "video_swin_t_p4w7": (96, [2, 2, 6, 2], [3, 6, 12, 24], (8, 7, 7)),
    "video_swin_s_p4w7": (96, [2, 2, 18, 2], [3, 6, 12, 24], (8, 7, 7)),
    "video_swin_b_p4w7": (128, [2, 2, 18, 2], [4, 8, 16, 32], (8, 7, 7)),
}

# key → window (Wd, Wh, Ww) of every relative_position_index buffer in the layout (its values are the
# official formula, not random).
INDEX_WINDOWS = {}


def relative_position_index(window):
    """The official buffer: (di−dj+Wd−1)·(2Wh−1)(2Ww−1) + (hi−hj+Wh−1)·(2Ww−1) + (wi−wj+Ww−1), (d, h, w) order."""
    wd, wh, ww = window
    coords = np.stack(np.meshgrid(np.arange(wd), np.arange(wh), np.arange(ww), indexing="ij")).reshape(3, -1)
    rel = coords[:, :, None] - coords[:, None, :]
    return ((rel[0] + wd - 1) * (2 * wh - 1) * (2 * ww - 1) + (rel[1] + wh - 1) * (2 * ww - 1) + (rel[2] + ww - 1)).astype(np.int64)


class Config:
    def __init__(self, tiny, backbone="resnet50"):
        self.backbone = backbone
        if tiny:  # golden referformer-tiny/config.json
            self.c, self.ffn, self.enc, self.dec = 64, 128, 2, 2
            self.blocks, self.width = [2, 1, 1, 1], 8
            self.vocab, self.text_layers, self.text_ffn = 1000, 1, 128
            self.mask_dim = 64
        else:  # official R50 Ref-YTVOS model
            self.c, self.ffn, self.enc, self.dec = 256, 2048, 4, 4
            self.blocks, self.width = [3, 4, 6, 3], 64
            self.vocab, self.text_layers, self.text_ffn = 50265, 12, 3072
            self.mask_dim = 256
        self.queries, self.levels, self.heads, self.points = 5, 4, 8, 4
        self.text_hidden, self.text_positions = 768, 514
        self.controller_layers, self.dynamic_channels = 3, 8

    def controller_out(self):
        # dynamic_mask_with_coords: (mask_dim + 2) → ch → ch → 1, weights then biases.
        ch, first = self.dynamic_channels, self.mask_dim + 2
        return first * ch + ch * ch + ch + ch + ch + 1


def state_dict_layout(cfg, position_ids=False):
    """[(key, dtype, shape, owner)] in registration order; owner is the key whose storage a twin shares."""
    out = []
    c = cfg.c

    def add(key, shape, dtype="float32", owner=None):
        out.append((key, dtype, tuple(shape), owner))

    def linear(p, o, i):
        add(p + ".weight", (o, i))
        add(p + ".bias", (o,))

    def norm(p, n):
        add(p + ".weight", (n,))
        add(p + ".bias", (n,))

    def mha(p):  # nn.MultiheadAttention: in_proj_weight, in_proj_bias, out_proj
        add(p + ".in_proj_weight", (3 * c, c))
        add(p + ".in_proj_bias", (3 * c,))
        linear(p + ".out_proj", c, c)

    def msda(p):  # MSDeformAttn registration order
        linear(p + ".sampling_offsets", cfg.heads * cfg.levels * cfg.points * 2, c)
        linear(p + ".attention_weights", cfg.heads * cfg.levels * cfg.points, c)
        linear(p + ".value_proj", c, c)
        linear(p + ".output_proj", c, c)

    def bbox_mlp(p, owner_prefix=None):
        for layer, o in enumerate([c, c, 4]):
            for suffix, shape in ((".weight", (o, c)), (".bias", (o,))):
                key = f"{p}.layers.{layer}{suffix}"
                add(key, shape, owner=None if owner_prefix is None else f"{owner_prefix}.layers.{layer}{suffix}")

    # transformer: level_embed (own parameter first), encoder, decoder (+ bbox_embed twins), reference_points
    add("transformer.level_embed", (cfg.levels, c))
    for n in range(cfg.enc):
        p = f"transformer.encoder.layers.{n}"
        msda(p + ".self_attn")
        norm(p + ".norm1", c)
        linear(p + ".linear1", cfg.ffn, c)
        linear(p + ".linear2", c, cfg.ffn)
        norm(p + ".norm2", c)
    for n in range(cfg.dec):
        p = f"transformer.decoder.layers.{n}"
        msda(p + ".cross_attn")
        norm(p + ".norm1", c)
        mha(p + ".self_attn")
        norm(p + ".norm2", c)
        linear(p + ".linear1", cfg.ffn, c)
        linear(p + ".linear2", c, cfg.ffn)
        norm(p + ".norm3", c)
    # The decoder's bbox_embed is registered (first, in state-dict order) as the same modules as the
    # model's bbox_embed: its keys come first and own the storages; bbox_embed.* views them later.
    for n in range(cfg.dec):
        bbox_mlp(f"transformer.decoder.bbox_embed.{n}")
    linear("transformer.reference_points", 2, c)
    for n in range(cfg.dec):
        linear(f"class_embed.{n}", 1, c)
    for n in range(cfg.dec):
        bbox_mlp(f"bbox_embed.{n}", owner_prefix=f"transformer.decoder.bbox_embed.{n}")
    add("query_embed.weight", (cfg.queries, c))
    swin = SWIN_CONFIGS.get(cfg.backbone)
    # res2..res5 channels: 256·2^i for a ResNet, C·2^i for Swin.
    stage_channels = [swin[0] << i for i in range(4)] if swin else [256 << i for i in range(4)]
    for level, channels in enumerate(stage_channels[1:]):
        add(f"input_proj.{level}.0.weight", (c, channels, 1, 1))
        add(f"input_proj.{level}.0.bias", (c,))
        norm(f"input_proj.{level}.1", c)
    add("input_proj.3.0.weight", (c, stage_channels[3], 3, 3))
    add("input_proj.3.0.bias", (c,))
    norm("input_proj.3.1", c)

    body = "backbone.0.body."
    if swin:
        swin_body(add, linear, norm, body, *swin)
    else:
        resnet_body(add, cfg, body)
    text_and_heads(add, linear, norm, mha, cfg, c, position_ids, stage_channels[0])
    return out


def swin_body(add, linear, norm, body, embed, depths, heads, window):
    """Official key layout (golden README §8): patch_embed, layers.{i}.blocks.{j} (parameters, then the
    relative_position_index buffer, then submodules), PatchMerging in layers.{i}.downsample + norm{i}
    (Swin) or downsamples.{i} (Video-Swin, no output norms)."""
    video = isinstance(window, tuple)
    w3 = window if video else (1, window, window)
    add(body + "patch_embed.proj.weight", (embed, 3, 1, 4, 4) if video else (embed, 3, 4, 4))
    add(body + "patch_embed.proj.bias", (embed,))
    norm(body + "patch_embed.norm", embed)
    table_rows = (2 * w3[0] - 1) * (2 * w3[1] - 1) * (2 * w3[2] - 1)
    tokens = w3[0] * w3[1] * w3[2]
    for i, depth in enumerate(depths):
        dim = embed << i
        for j in range(depth):
            p = f"{body}layers.{i}.blocks.{j}"
            norm(p + ".norm1", dim)
            add(p + ".attn.relative_position_bias_table", (table_rows, heads[i]))
            add(p + ".attn.relative_position_index", (tokens, tokens), dtype="int64")
            INDEX_WINDOWS[p + ".attn.relative_position_index"] = w3
            linear(p + ".attn.qkv", 3 * dim, dim)
            linear(p + ".attn.proj", dim, dim)
            norm(p + ".norm2", dim)
            linear(p + ".mlp.fc1", 4 * dim, dim)
            linear(p + ".mlp.fc2", dim, 4 * dim)
        if i < len(depths) - 1:
            merge = f"{body}downsamples.{i}" if video else f"{body}layers.{i}.downsample"
            add(merge + ".reduction.weight", (2 * dim, 4 * dim))
            norm(merge + ".norm", 4 * dim)
    if not video:
        for i in range(len(depths)):
            norm(f"{body}norm{i}", embed << i)


def resnet_body(add, cfg, body):
    """backbone.0.body: torchvision ResNet (v1.5) with FrozenBatchNorm2d buffers."""

    def frozen_bn(p, n):
        for buffer in ("weight", "bias", "running_mean", "running_var"):
            add(f"{p}.{buffer}", (n,))

    add(body + "conv1.weight", (64, 3, 7, 7))
    frozen_bn(body + "bn1", 64)
    inplanes = 64
    for stage, count in enumerate(cfg.blocks):
        w, out_channels = cfg.width << stage, 256 << stage
        for b in range(count):
            p = f"{body}layer{stage + 1}.{b}"
            i = inplanes if b == 0 else out_channels
            add(p + ".conv1.weight", (w, i, 1, 1))
            frozen_bn(p + ".bn1", w)
            add(p + ".conv2.weight", (w, w, 3, 3))
            frozen_bn(p + ".bn2", w)
            add(p + ".conv3.weight", (out_channels, w, 1, 1))
            frozen_bn(p + ".bn3", out_channels)
            if b == 0:
                add(p + ".downsample.0.weight", (out_channels, i, 1, 1))
                frozen_bn(p + ".downsample.1", out_channels)
        inplanes = out_channels


def text_and_heads(add, linear, norm, mha, cfg, c, position_ids, res2_channels):
    """The text encoder, resizer, fusion, pixel decoder and controller keys."""
    # text_encoder: HF RobertaModel with pooler
    t, h = "text_encoder.", cfg.text_hidden
    if position_ids:  # a buffer of the embeddings module: before its submodules' parameters
        add(t + "embeddings.position_ids", (1, cfg.text_positions), dtype="int64")
    add(t + "embeddings.word_embeddings.weight", (cfg.vocab, h))
    add(t + "embeddings.position_embeddings.weight", (cfg.text_positions, h))
    add(t + "embeddings.token_type_embeddings.weight", (1, h))
    norm(t + "embeddings.LayerNorm", h)
    for n in range(cfg.text_layers):
        p = f"{t}encoder.layer.{n}"
        for name in ("query", "key", "value"):
            add(f"{p}.attention.self.{name}.weight", (h, h))
            add(f"{p}.attention.self.{name}.bias", (h,))
        add(p + ".attention.output.dense.weight", (h, h))
        add(p + ".attention.output.dense.bias", (h,))
        norm(p + ".attention.output.LayerNorm", h)
        add(p + ".intermediate.dense.weight", (cfg.text_ffn, h))
        add(p + ".intermediate.dense.bias", (cfg.text_ffn,))
        add(p + ".output.dense.weight", (h, cfg.text_ffn))
        add(p + ".output.dense.bias", (h,))
        norm(p + ".output.LayerNorm", h)
    add(t + "pooler.dense.weight", (h, h))
    add(t + "pooler.dense.bias", (h,))

    linear("resizer.fc", c, h)
    norm("resizer.layer_norm", c)
    mha("fusion_module.multihead_attn")

    # pixel_decoder (CrossModalFPNDecoder): adapter_k / layer_k pairs, mask_features, cross_attn_k
    # feature_channels = [res2 channels (256 for every ResNet bottleneck backbone), C, C, C]
    for k, channels in zip(range(1, 5), [res2_channels, c, c, c]):
        add(f"pixel_decoder.adapter_{k}.weight", (c, channels, 1, 1))
        norm(f"pixel_decoder.adapter_{k}.norm", c)
        add(f"pixel_decoder.layer_{k}.weight", (c, c, 3, 3))
        norm(f"pixel_decoder.layer_{k}.norm", c)
    add("pixel_decoder.mask_features.weight", (cfg.mask_dim, c, 3, 3))
    add("pixel_decoder.mask_features.bias", (cfg.mask_dim,))
    for k in range(1, 5):
        p = f"pixel_decoder.cross_attn_{k}"
        mha(p + ".self_attn")
        mha(p + ".multihead_attn")
        linear(p + ".linear1", cfg.ffn, c)
        linear(p + ".linear2", c, cfg.ffn)
        norm(p + ".norm1", c)
        norm(p + ".norm2", c)
        norm(p + ".norm3", c)

    linear("controller.layers.0", c, c)
    linear("controller.layers.1", c, c)
    linear("controller.layers.2", cfg.controller_out(), c)


# ---------------------------------------------------------------------------------------------------
# Values


def values(key, dtype, shape, seed, index):
    """The tensor `key` (state-dict position `index`), from its own seeded stream."""
    if key in INDEX_WINDOWS:  # Swin's relative_position_index: the official formula
        return relative_position_index(INDEX_WINDOWS[key])
    if dtype == "int64":  # position_ids: arange
        return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    rng = np.random.default_rng([seed, index])
    n = int(np.prod(shape))

    def normal(mean, std):
        return (rng.standard_normal(n, dtype=np.float32) * np.float32(std) + np.float32(mean)).reshape(shape)

    name = key.rsplit(".", 1)[-1]
    if name == "running_var":
        return rng.uniform(0.8, 1.2, n).astype(np.float32).reshape(shape)
    if name == "running_mean":
        return normal(0, 0.1)
    if len(shape) == 4:
        return normal(0, np.sqrt(2.0 / (shape[1] * shape[2] * shape[3])))
    if key in ("query_embed.weight", "transformer.level_embed"):
        return normal(0, 1)
    if key.endswith("_embeddings.weight"):
        return normal(0, 0.02)
    if len(shape) == 2:
        return normal(0, np.sqrt(1.0 / shape[1]))
    if name == "weight":  # every 1-D weight is a norm's (LayerNorm, GroupNorm, FrozenBN)
        return normal(1, 0.02)
    return normal(0, 0.02)  # biases


# ---------------------------------------------------------------------------------------------------
# torch.save


class Storage:
    def __init__(self, key, dtype, numel, source):
        self.key, self.dtype, self.numel, self.source = key, dtype, numel, source


class Tensor:
    """Pickles as torch.Tensor does: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""

    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce_ex__(self, protocol):
        stride, step = [], 1
        for size in reversed(self.shape):
            stride.insert(0, step)
            step *= max(size, 1)
        return (_rebuild_tensor_v2,
                (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))


def module_metadata(keys):
    """`state_dict()._metadata`: {module prefix: {'version': 1}} for the root and every module, in order."""
    metadata = collections.OrderedDict([("", {"version": 1})])
    for key in keys:
        parts = key.split(".")[:-1]
        for end in range(1, len(parts) + 1):
            metadata.setdefault(".".join(parts[:end]), {"version": 1})
    return metadata


def official_args(cfg, tiny):
    """The argparse.Namespace main.py stores (opts.py defaults with the R50 Ref-YTVOS flags)."""
    return argparse.Namespace(
        lr=1e-4, lr_backbone=5e-5, lr_text_encoder=1e-5, batch_size=1, weight_decay=5e-4, epochs=6,
        lr_drop=[3, 5], clip_max_norm=0.1, pretrained_weights=None, with_box_refine=True, two_stage=False,
        backbone=cfg.backbone, backbone_pretrained=None, use_checkpoint=False, dilation=False,
        position_embedding="sine", num_feature_levels=cfg.levels, enc_layers=cfg.enc, dec_layers=cfg.dec,
        dim_feedforward=cfg.ffn, hidden_dim=cfg.c, dropout=0.1, nheads=cfg.heads, num_frames=5,
        num_queries=cfg.queries, dec_n_points=cfg.points, enc_n_points=cfg.points, pre_norm=False,
        freeze_text_encoder=True, masks=True, mask_dim=cfg.mask_dim, controller_layers=cfg.controller_layers,
        dynamic_mask_channels=cfg.dynamic_channels, mask_out_stride=4, mask_feat_stride=4, rel_coord=True,
        aux_loss=True, binary=True, dataset_file="ytvos", coco_path="data/coco", ytvos_path="data/ref-youtube-vos",
        output_dir="ytvos_dirs/r50", device="cuda", seed=42, resume="", start_epoch=0, eval=False,
        num_workers=4, threshold=0.5, ngpu=8, world_size=1, dist_url="env://", distributed=False,
        note="random weights written by tools/make_random_checkpoint.py" + (" (--tiny)" if tiny else ""))


def build(cfg, layout, seed, zip_format, epoch, tiny):
    """The top-level object and the storages in first-use order."""
    rng = np.random.default_rng([seed, 0x5EED])
    storages, by_owner, model = [], {}, collections.OrderedDict()
    # Legacy keys are str(storage._cdata): distinct heap addresses, unrelated to the state-dict order.
    addresses = 94_000_000_000_000 + 64 * rng.choice(10_000_000, size=len(layout), replace=False)
    for index, (key, dtype, shape, owner) in enumerate(layout):
        if owner is None:
            storage_key = str(len(storages)) if zip_format else str(int(addresses[index]))
            storage = Storage(storage_key, dtype, int(np.prod(shape)), (key, dtype, shape, index))
            storages.append(storage)
            by_owner[key] = storage
        else:
            storage = by_owner[owner]
        model[key] = Tensor(storage, list(shape))
    model._metadata = module_metadata(model.keys())
    return {"model": model, "epoch": epoch, "args": official_args(cfg, tiny)}, storages


def storage_bytes(storage, seed):
    key, dtype, shape, index = storage.source
    return np.ascontiguousarray(values(key, dtype, shape, seed, index), dtype=DTYPES[dtype][1]).tobytes()


class _Pickler(pickle.Pickler):
    def __init__(self, f, zip_format):
        super().__init__(f, protocol=2)
        self.zip_format = zip_format

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", DTYPES[obj.dtype][0], obj.key, "cpu", obj.numel)
            return pid if self.zip_format else pid + (None,)
        return None


def write_legacy(path, top, storages, seed):
    with open(path, "wb") as f:
        pickle.dump(MAGIC_NUMBER, f, protocol=2)
        pickle.dump(PROTOCOL_VERSION, f, protocol=2)
        pickle.dump(SYS_INFO, f, protocol=2)
        _Pickler(f, zip_format=False).dump(top)
        keys = sorted(s.key for s in storages)  # torch sorts the keys (strings)
        pickle.dump(keys, f, protocol=2)
        by_key = {s.key: s for s in storages}
        for key in keys:
            storage = by_key[key]
            f.write(struct.pack("<q", storage.numel))
            f.write(storage_bytes(storage, seed))


def write_zip(path, top, storages, seed):
    stem = os.path.splitext(os.path.basename(path))[0]
    main = io.BytesIO()
    _Pickler(main, zip_format=True).dump(top)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        def put(name, data):
            info = zipfile.ZipInfo(f"{stem}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            # torch pads every entry's data to 64 bytes with an extra field "FB" in the local header.
            header = 30 + len(info.filename.encode())
            offset = archive.fp.tell() + header + 4
            padding = (-offset) % 64
            info.extra = b"FB" + struct.pack("<H", padding) + b"Z" * padding
            archive.writestr(info, data)

        put("data.pkl", main.getvalue())
        put(".format_version", b"1")
        put(".storage_alignment", b"64")
        put("byteorder", b"little")
        for storage in storages:
            put(f"data/{storage.key}", storage_bytes(storage, seed))
        put("version", b"3\n")
        put(".data/serialization_id", "".join(str(d) for d in np.random.default_rng([seed, 7]).integers(0, 10, 20)).encode())


def write_expected(path, layout, seed):
    """Every state-dict tensor, state-dict order, contiguous, as a safetensors file (format by hand)."""
    header, offset, index_of = {}, 0, {key: i for i, (key, _, _, _) in enumerate(layout)}
    for key, dtype, shape, _ in layout:
        size = int(np.prod(shape)) * np.dtype(DTYPES[dtype][1]).itemsize
        header[key] = {"dtype": DTYPES[dtype][2], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for key, dtype, shape, owner in layout:
            source = owner or key
            _, src_dtype, src_shape, _ = layout[index_of[source]]
            data = values(source, src_dtype, src_shape, seed, index_of[source])
            f.write(np.ascontiguousarray(data, dtype=DTYPES[dtype][1]).tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the .pth file to write")
    parser.add_argument("--tiny", action="store_true", help="the golden referformer-tiny configuration (359 keys, ~39 MB)")
    parser.add_argument("--format", choices=["legacy", "zip"], default="legacy",
                        help="legacy = _use_new_zipfile_serialization=False, as the released checkpoints (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch", type=int, default=5)
    parser.add_argument("--position-ids", action="store_true",
                        help="add text_encoder.embeddings.position_ids (1, 514) int64, as checkpoints of 2022 have")
    parser.add_argument("--expected", help="also write every state-dict tensor to this safetensors file")
    parser.add_argument("--list", action="store_true", help="print key, dtype, shape (and shared owner) and exit")
    parser.add_argument("--backbone", choices=["resnet50"] + list(SWIN_CONFIGS), default="resnet50",
                        help="the official --backbone: the ResNet of the configuration (default), or a Swin / Video-Swin "
                             "with its official configuration (keys of golden README §8)")
    options = parser.parse_args()

    cfg = Config(options.tiny, options.backbone)
    layout = state_dict_layout(cfg, options.position_ids)
    if options.list:
        for key, dtype, shape, owner in layout:
            print(key, dtype, list(shape), f"shares {owner}" if owner else "")
        return
    zip_format = options.format == "zip"
    top, storages = build(cfg, layout, options.seed, zip_format, options.epoch, options.tiny)
    (write_zip if zip_format else write_legacy)(options.out, top, storages, options.seed)
    if options.expected:
        write_expected(options.expected, layout, options.seed)
    elements = sum(s.numel for s in storages)
    print(f"{options.out}: {options.format} format, {len(layout)} keys, {len(storages)} storages, "
          f"{elements} elements, {os.path.getsize(options.out)} bytes")


if __name__ == "__main__":
    main()
