"""How much does the phrase reach the network? For one held-out clip and three of its expressions:
the distance between the sentence features (after the resizer) of two phrases relative to their norm,
the same for the early-fusion output at each level (visual tokens attending to the words), and the
largest difference of the query logits. A model that ignores the text shows small relative distances
and a logit difference near 0 (tools/demo/diagnose_text.py shows the consequence: identical scores).

    REFERFORMER_SRC=/work/ext/ReferFormer python tools/demo/probe_text.py CHECKPOINT.pt

CHECKPOINT: a train.py state (state.pt / best.pt) or any file with {"model": state_dict}.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth  # noqa: E402
import train  # noqa: E402


def main():
    torch.set_num_threads(1)
    models, opts, misc = train.setup_official(os.path.join(HERE, "..", "..", "models", "demo"))
    model, _, _ = models.build(train.official_args(opts))
    st = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
    model.load_state_dict(st["model"])
    model.eval()
    fm = model.fusion_module
    captured = []

    def fusion(tgt, memory, memory_key_padding_mask=None, pos=None, query_pos=None):
        # the official VisionLanguageFusionModule.forward, recording the attended text (tgt2)
        tgt2 = fm.multihead_attn(query=tgt, key=memory if pos is None else memory + pos, value=memory,
                                 key_padding_mask=memory_key_padding_mask)[0]
        captured.append(tgt2.detach().clone())
        return tgt * tgt2

    fm.forward = fusion
    scene = synth.sample_scene(20_000_000, frames=12)
    imgs, _ = synth.render_train(scene, 96, 128, frame_indices=[0, 1, 2])
    x = (torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255 - train.MEAN) / train.STD
    runs = []
    for e in scene.expressions[:2]:
        captured.clear()
        with torch.no_grad():
            tok = model.tokenizer.batch_encode_plus([e.text], padding="longest", return_tensors="pt")
            sentence = model.resizer(model.text_encoder(**tok).pooler_output)[0]
            out = model(misc.nested_tensor_from_videos_list([x]), [e.text], [{"size": torch.tensor([96, 128])}])
        runs.append((e.text, sentence, list(captured), out["pred_logits"][0, :, :, 0]))
    (ta, sa, fa, la), (tb, sb, fb, lb) = runs
    print(f"iteration {st.get('iteration')}: '{ta}' vs '{tb}'")
    print(f"sentence feature: distance / norm = {(sa - sb).norm() / sa.norm():.3f}")
    for level, (u, v) in enumerate(zip(fa, fb)):
        print(f"early fusion level {level}: distance / norm = {(u - v).norm() / u.norm():.3f}")
    print(f"largest query-logit difference: {(la - lb).abs().max():.4f}")


if __name__ == "__main__":
    main()
