#!/usr/bin/env python3
"""Writes a large synthetic PyTorch checkpoint for load/convert benchmarks, without PyTorch.

The file has torch.save's exact layout (legacy: magic/protocol/sys_info/main/key-list pickles + raw
storages; zip: <stem>/data.pkl + <stem>/data/<key>, stored, 64-byte aligned) and a ReferFormer-like
{'model': OrderedDict, 'epoch', 'args'} top level, with float32 tensors whose storages are referenced through
the same persistent ids and `torch._utils._rebuild_tensor_v2` calls torch emits. Stand-in `torch` modules are
installed in sys.modules only so that pickle can name the globals; nothing of torch is imported or copied.

usage: make-large-checkpoint.py OUT.pth [--zip] [--megabytes 700] [--tensors 805] [--expected REF.safetensors]

--expected also writes the model tensors with the Python safetensors package (the reference for tests).
"""
import argparse, collections, io, pickle, struct, sys, types, zipfile

import numpy as np

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
torch._utils = utils
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils


class FloatStorage:
    pass


FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
torch.FloatStorage = FloatStorage


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, key, data):
        self.key, self.data = key, data


class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce_ex__(self, protocol):
        stride, step = [], 1
        for size in reversed(self.shape):
            stride.insert(0, step)
            step *= size
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--zip", action="store_true")
    parser.add_argument("--megabytes", type=float, default=700)
    parser.add_argument("--tensors", type=int, default=805)
    parser.add_argument("--expected")
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    weights = rng.exponential(size=options.tensors)
    numels = np.maximum(1, (weights / weights.sum() * options.megabytes * 1e6 / 4).astype(np.int64))
    model, storages = collections.OrderedDict(), []
    for i, numel in enumerate(numels):
        key = str(i) if options.zip else str(94_000_000_000_000 + 4096 * i)
        storage = Storage(key, rng.standard_normal(int(numel), dtype=np.float32))
        storages.append(storage)
        model[f"layer{i // 8}.block{i % 8}.weight"] = Tensor(storage, [int(numel)])
    top = {"model": model, "epoch": 3, "args": {"hidden_dim": 256}}

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                pid = ("storage", FloatStorage, obj.key, "cpu", obj.data.size)
                return pid if options.zip else pid + (None,)
            return None

    main_pickle = io.BytesIO()
    Pickler(main_pickle, protocol=2).dump(top)
    if options.zip:
        stem = options.out.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        with zipfile.ZipFile(options.out, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            archive.writestr(f"{stem}/data.pkl", main_pickle.getvalue())
            archive.writestr(f"{stem}/byteorder", "little")
            for storage in storages:
                archive.writestr(f"{stem}/data/{storage.key}", storage.data.tobytes())
            archive.writestr(f"{stem}/version", "3\n")
    else:
        with open(options.out, "wb") as f:
            pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
            pickle.dump(1001, f, protocol=2)
            pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
            f.write(main_pickle.getvalue())
            pickle.dump([s.key for s in storages], f, protocol=2)
            for storage in storages:
                f.write(struct.pack("<q", storage.data.size))
                f.write(storage.data.tobytes())
    if options.expected:
        from safetensors.numpy import save_file
        save_file({name: t.storage.data for name, t in model.items()}, options.expected)
    print(f"{options.out}: {len(storages)} tensors, {int(numels.sum()) * 4} bytes of float32")


if __name__ == "__main__":
    main()
