"""Pre-train the demo model's text encoder on what the expressions say (CPU, minutes).

Why: trained from scratch together with everything else, the official model learns masks but ignores the
phrase (tools/demo/diagnose_text.py shows identical query scores for every phrase of a clip, after 1,638
GPU iterations of 32 clips as after 4,070 CPU iterations of 2). The only phrase-dependent training signal is
the focal class loss of the matched query; random text features at that point are noise the model learns
to suppress. roberta-base cannot be downloaded here, so this gives the text encoder structure first: the
same `RobertaModel` configuration as train.py, with linear heads on the pooled output and on the mean word
feature that predict which colour / shape / size / position / motion words the phrase uses (5 softmax
heads, 'none' included). The heads are thrown away; train.py --text-encoder loads the encoder.

    REFERFORMER_SRC=... python tools/demo/pretrain_text.py --tokenizer models/demo --out /work/demo-text/text.pt
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth  # noqa: E402
import train  # noqa: E402
import train_tokenizer  # noqa: E402

SLOTS = {
    "colour": synth.COLOURS,
    "shape": synth.SHAPES,
    "size": ["small", "big", "biggest", "smallest"],
    "position": ["on the left", "on the right", "at the top", "at the bottom"],
    "motion": ["moving left", "moving right", "moving up", "moving down", "not moving"],
}


def labels(text: str) -> list:
    out = []
    words = text.split()
    for slot, values in SLOTS.items():
        hit = len(values)   # 'none'
        for i, v in enumerate(values):
            if (" " in v and v in text) or (" " not in v and v in words):
                hit = i
        out.append(hit)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train.setup_official(a.tokenizer)   # builds the RobertaConfig train.py uses
    from transformers import RobertaModel, RobertaTokenizerFast
    tok = RobertaTokenizerFast(os.path.join(a.tokenizer, "vocab.json"), os.path.join(a.tokenizer, "merges.txt"))
    torch.manual_seed(a.seed)
    enc = RobertaModel(train.setup_official.roberta_config, add_pooling_layer=True)
    g = torch.Generator().manual_seed(a.seed + 1)
    with torch.no_grad():   # as train.py does for a fresh encoder
        w = enc.embeddings.word_embeddings.weight
        w.copy_(torch.randn(w.shape, generator=g))
    phrases = sorted(set(train_tokenizer.corpus(2000)))
    y_all = torch.tensor([labels(p) for p in phrases])
    heads = torch.nn.ModuleList([torch.nn.Linear(768, len(v) + 1) for v in SLOTS.values()] +
                                [torch.nn.Linear(768, len(v) + 1) for v in SLOTS.values()])
    opt = torch.optim.AdamW(list(enc.parameters()) + list(heads.parameters()), lr=a.lr, weight_decay=1e-4)
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    for step in range(1, a.steps + 1):
        idx = rng.integers(0, len(phrases), a.batch)
        batch = tok([phrases[i] for i in idx], padding="longest", return_tensors="pt")
        out = enc(**batch)
        m = batch["attention_mask"].unsqueeze(-1).float()
        mean = (out.last_hidden_state * m).sum(1) / m.sum(1)
        y = y_all[idx]
        loss = 0
        accs = []
        for j, h in enumerate(heads):
            feats = out.pooler_output if j < len(SLOTS) else mean
            logits = h(feats)
            loss = loss + torch.nn.functional.cross_entropy(logits, y[:, j % len(SLOTS)])
            accs.append((logits.argmax(1) == y[:, j % len(SLOTS)]).float().mean().item())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f} accuracy pooled {np.mean(accs[:5]):.3f} "
                  f"words {np.mean(accs[5:]):.3f} ({time.time() - t0:.0f} s)", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save({"text_encoder": enc.state_dict(), "phrases": len(phrases), "steps": a.steps}, a.out)
    print(f"{len(phrases)} distinct phrases; wrote {a.out}")


if __name__ == "__main__":
    main()
