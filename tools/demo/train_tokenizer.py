"""Train the demo model's byte-level BPE (RoBERTa format: vocab.json + merges.txt) on the expression corpus.

    python tools/demo/train_tokenizer.py OUT_DIR [--scenes 20000] [--vocab-size 400]

Same recipe as the golden tokenizer (../shared/golden/README.md §2): HF `tokenizers.ByteLevelBPETokenizer`
(add_prefix_space False), min_frequency 2, special tokens <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4, then the
256 byte-level symbols, then the merges. The corpus is every expression of scenes 0..N-1 of the training
generator plus every phrase the templates can produce (so the demo vocabulary is covered).
"""
import argparse
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402


def template_phrases():
    nouns = ["shape", "object"] + synth.SHAPES + [f"{c} {s}" for c in synth.COLOURS for s in synth.SHAPES]
    out = []
    for c in synth.COLOURS:
        out += [f"the {c} shape", f"the {c} object"]
    for n in nouns:
        out.append(f"the {n}")
        for z in ("small", "big", "biggest", "smallest"):
            out.append(f"the {z} {n}")
        for p in ("on the left", "on the right", "at the top", "at the bottom"):
            out.append(f"the {n} {p}")
        for m in ("left", "right", "up", "down"):
            out += [f"the {n} moving {m}", f"the {n} that is moving {m}"]
        out.append(f"the {n} that is not moving")
    return out


def corpus(scenes: int):
    for seed in range(scenes):
        scene = synth.sample_scene(1_000_000 + seed)
        for e in scene.expressions:
            yield e.text
    yield from template_phrases()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--scenes", type=int, default=20000)
    ap.add_argument("--vocab-size", type=int, default=400)
    a = ap.parse_args()
    from tokenizers import ByteLevelBPETokenizer
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(list(corpus(a.scenes)), vocab_size=a.vocab_size, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    os.makedirs(a.out, exist_ok=True)
    tok.save_model(a.out)
    from transformers import RobertaTokenizerFast
    rt = RobertaTokenizerFast(os.path.join(a.out, "vocab.json"), os.path.join(a.out, "merges.txt"))
    for t in ["the red circle", "the small blue square", "the shape that is not moving"]:
        print(t, rt.batch_encode_plus([t], padding="longest")["input_ids"][0])
    print("vocab", tok.get_vocab_size())


if __name__ == "__main__":
    main()
