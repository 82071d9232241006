"""Does a checkpoint follow the phrase? For 20 held-out training-renderer clips and up to 4 expressions
each: the IoU of the selected mask with the referred object and with the best-matching object, per
expression type, and (first 2 clips) the per-query scores: if they are the same for every phrase of a
clip, the model ignores the text.

    REFERFORMER_SRC=/work/ext/ReferFormer python tools/demo/diagnose_text.py /work/demo-train/state.pt
"""
import os, sys, torch, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train, synth
torch.set_num_threads(1)
models, opts, misc = train.setup_official(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models', 'demo'))
model,_,_ = models.build(train.official_args(opts))
st = torch.load(sys.argv[1], map_location='cpu', weights_only=False)
model.load_state_dict(st['model']); model.eval()
print('iteration', st['iteration'])
ref=[]; anyobj=[]; bykind={}
for k in range(20):
    scene = synth.sample_scene(20_000_000+k, frames=12)
    imgs, ids = synth.render_train(scene, 96, 128, frame_indices=[0,1,2])
    x = (torch.from_numpy(imgs).permute(0,3,1,2).float()/255 - train.MEAN)/train.STD
    for e in scene.expressions[:4]:
        with torch.no_grad():
            out = model(misc.nested_tensor_from_videos_list([x]), [e.text], [{'size': torch.tensor([96,128])}])
        sc = out['pred_logits'][0,:,:,0].sigmoid().mean(0); q=int(sc.argmax())
        up = torch.nn.functional.interpolate(out['pred_masks'][0,:,q][None], size=(96,128), mode='bilinear')[0]
        p = (up.sigmoid()>0.5).numpy()
        def iou(m):
            u=(p|m).sum(); return 1.0 if u==0 else (p&m).sum()/u
        ious = {o.obj_id: iou(ids==o.obj_id) for o in scene.objects}
        ref.append(ious[e.obj_id]); anyobj.append(max(ious.values())); bykind.setdefault(e.kind,[]).append(ious[e.obj_id])
        if k<2: print(e.text, '| scores', [round(float(s),2) for s in sc], '| iou per obj', {i:round(float(v),2) for i,v in ious.items()}, 'target', e.obj_id)
print('referred IoU', np.mean(ref), 'best-object IoU', np.mean(anyobj), {k: round(float(np.mean(v)),2) for k,v in bykind.items()})
