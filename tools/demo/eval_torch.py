"""Run the demo model with the official PyTorch code on a dataset written by make_dataset.py and write
one PNG mask per frame and expression (OUT/<seq>/<exp>/00000.png, 0/255), for `referstream evaluate`.

    REFERFORMER_SRC=/work/ext/ReferFormer python tools/demo/eval_torch.py --model models/demo \
        --data /tmp/valset --out /tmp/valset-pred-torch [--window 3]

The video is cut into consecutive windows of --window frames (the last one shorter); in each window the
query with the highest mean score is kept (inference_ytvos.py's rule, per window), its mask logits are
bilinearly resized to the frame size and thresholded at 0.5. This is the offline reference, not the
Swift engine's online tracker (which also links queries across overlapping windows).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="folder with weights.safetensors, config.json, vocab.json, merges.txt")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--window", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    train.BACKBONE.update(cfg["backbone"])
    train.TEXT.update(cfg["text_encoder"])
    models, opts, misc = train.setup_official(a.model)
    model, _, _ = models.build(train.official_args(opts))
    from safetensors.torch import load_file
    sd = {k: v.float() for k, v in load_file(os.path.join(a.model, "weights.safetensors")).items()}
    model.load_state_dict(sd, strict=True)
    model.eval()
    meta = json.load(open(os.path.join(a.data, "meta_expressions.json")))
    for seq, v in sorted(meta["videos"].items()):
        names = v["frames_list"]
        imgs = [np.array(Image.open(os.path.join(a.data, "JPEGImages", seq, f"{n}.jpg")).convert("RGB")) for n in names]
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255.0
        x = (x - train.MEAN) / train.STD
        h, w = x.shape[-2:]
        for e in v["expressions"]:
            odir = os.path.join(a.out, seq, e["exp_id"]); os.makedirs(odir, exist_ok=True)
            for s in range(0, len(names), a.window):
                clip = x[s:s + a.window]
                with torch.no_grad():
                    out = model(misc.nested_tensor_from_videos_list([clip]), [e["text"]],
                                [{"size": torch.tensor([h, w])}])
                score = out["pred_logits"][0, :, :, 0].sigmoid().mean(0)
                q = int(score.argmax())
                logits = out["pred_masks"][0, :, q]
                up = torch.nn.functional.interpolate(logits[None], size=(h, w), mode="bilinear", align_corners=False)[0]
                masks = (up.sigmoid() > 0.5).numpy()
                for i in range(masks.shape[0]):
                    Image.fromarray(masks[i].astype(np.uint8) * 255).save(os.path.join(odir, f"{names[s + i]}.png"))
        print(seq, flush=True)


if __name__ == "__main__":
    main()
