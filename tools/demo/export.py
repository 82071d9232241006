"""Export a training checkpoint as the shipped demo model (models/demo/).

    python tools/demo/export.py --checkpoint /work/demo-train/best.pt --log /work/demo-train/log.jsonl --out models/demo
    python tools/demo/export.py --shards RUN/shards --set final --log RUN/log.jsonl --out models/demo

(--shards: the folder train.py --shards wrote, e.g. on a GPU machine whose files come back in pieces.)

Writes weights.safetensors (every key of the official state dict, float16, the box-refinement twins
`transformer.decoder.bbox_embed.*` stored as separate tensors like `bbox_embed.*`), config.json (the
ReferFormerConfiguration the Swift loader reads: official option names, backbone layout, text encoder) and
curves.png (training loss and validation IoU from the log). vocab.json and merges.txt are written by
train_tokenizer.py into the same folder.
"""
import argparse
import json
import os

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint")
    ap.add_argument("--shards", help="folder with shards.json and the safetensors shards train.py --shards wrote")
    ap.add_argument("--set", default="final", help="which shard set: final or best")
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    from safetensors.torch import save_file, load_file
    if a.shards:
        st = json.load(open(os.path.join(a.shards, "shards.json")))
        chosen = st["sets"][a.set]
        sd = {}
        for name in chosen["files"]:
            sd.update(load_file(os.path.join(a.shards, name)))
        st["iteration"] = chosen["iteration"]
    elif a.checkpoint:
        st = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
        sd = st["model"]
    else:
        raise SystemExit("give --checkpoint or --shards")
    tensors = {k: v.detach().to(torch.float16).contiguous().clone() for k, v in sd.items() if v.is_floating_point()}
    others = [k for k, v in sd.items() if not v.is_floating_point()]
    if others:
        raise SystemExit(f"non-float tensors in the state dict: {others}")
    os.makedirs(a.out, exist_ok=True)
    save_file(tensors, os.path.join(a.out, "weights.safetensors"),
              metadata={"format": "pt", "source": "tools/demo/train.py", "iteration": str(st["iteration"])})
    m, bb, tx = st["model_config"], st["backbone"], st["text"]
    cli = st["cli"]
    config = dict(m)
    config["backbone"] = {"layers": bb["layers"], "width_per_group": bb["width_per_group"]}
    config["text_encoder"] = {k: tx[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                                  "intermediate_size", "max_position_embeddings", "type_vocab_size",
                                                  "layer_norm_eps", "pad_token_id")}
    config["training"] = {"iteration": st["iteration"], "minutes": round(st["elapsed"] / 60, 1),
                          "input_height": cli["height"], "input_width": cli["width"], "clip_frames": cli["clip"],
                          "best_valid_iou": st.get("best")}
    with open(os.path.join(a.out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=1)
        fh.write("\n")
    recs = [json.loads(l) for l in open(a.log) if l.strip()]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot([r["it"] for r in recs], [r["loss"] for r in recs], lw=0.4, alpha=0.5, label="loss (batch)")
    ax[0].plot([r["it"] for r in recs], [r["loss_smooth"] for r in recs], lw=1.5, label="loss (EMA 0.98)")
    ax[0].set_xlabel(f"iteration (batch of {cli['batch']} clips)"); ax[0].set_ylabel("SetCriterion weighted loss"); ax[0].legend()
    ax[0].set_yscale("log")
    v = [r for r in recs if "valid" in r]
    if v:
        ax[1].plot([r["it"] for r in v], [r["valid"]["train"] for r in v], "o-", label="training renderer (held-out seeds)")
        ax[1].plot([r["it"] for r in v], [r["valid"]["valid"] for r in v], "s-", label="validation renderer (unseen seeds)")
    ax[1].set_xlabel("iteration"); ax[1].set_ylabel("mean clip IoU (PyTorch, 3-frame clips)"); ax[1].set_ylim(0, 1)
    ax[1].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "curves.png"), dpi=110)
    n = sum(t.numel() for t in tensors.values())
    print(f"{len(tensors)} tensors, {n} values, {os.path.getsize(os.path.join(a.out, 'weights.safetensors')) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
