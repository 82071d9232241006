#!/usr/bin/env bash
# `make demo`: ReferStream end to end on this machine, in about a minute.
#  1. builds referstreamd and referstream in release mode;
#  2. generates a clip with GStreamer (videotestsrc's bouncing ball, 320x240, 10 fps, 12 s);
#  3. starts referstreamd on it (paced like a camera) with the bundled model;
#  4. subscribes, changes the phrase live mid-run and adds a second one through the control socket;
#  5. writes overlay pictures (the masks over the video frames), an overlay MP4 and a summary to
#     demo-out/, and stops the daemon with SIGTERM.
# Until the demo model (models/demo) follows phrases, the tiny golden test weights stand in: random
# weights, so the pipeline and the protocol are real but the masks mean nothing (the demo says so);
# REFERSTREAM_DEMO_MODEL=1 runs the partly trained demo model instead.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${REFERSTREAM_DEMO_OUT:-$here/demo-out}"
swift="${SWIFT:-swift}"
say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
cd "$here"

say "building referstreamd and referstream (release)…"
"$swift" build -c release --static-swift-stdlib --product referstreamd >/dev/null
"$swift" build -c release --static-swift-stdlib --product referstream >/dev/null
bin="$("$swift" build -c release --show-bin-path)"

rm -rf "$out"; mkdir -p "$out/masks" "$out/frames" "$out/overlay"
if [ "${REFERSTREAM_DEMO_MODEL:-0}" = 1 ] && [ -f models/demo/weights.safetensors ]; then
  weights=models/demo/weights.safetensors; tokenizer=models/demo; side=96
  say "model: the demo model (models/demo), PARTLY trained: J&F 0.52 on unseen synthetic clips; it knows coloured shapes, not this test ball (models/demo/MODEL.md)"
else
  weights=Tests/Fixtures/referformer-tiny/weights.safetensors; tokenizer=Tests/Fixtures/tokenizer; side=96
  say "model: the tiny golden TEST weights (random; models/demo is partly trained on synthetic shapes, REFERSTREAM_DEMO_MODEL=1 runs it):"
  say "       everything below is real (daemon, sockets, protocol, live phrase change) but the masks are meaningless."
fi

frames=120
say "generating a clip: $out/clip.mp4 ($frames frames, 320x240, 10 fps)"
gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=$frames ! video/x-raw,width=320,height=240,framerate=10/1 \
  ! x264enc ! mp4mux ! filesink location="$out/clip.mp4"
gst-launch-1.0 -q filesrc location="$out/clip.mp4" ! decodebin ! videoconvert ! pngenc \
  ! multifilesink location="$out/frames/%08d.png"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || shuf -i 20000-60000 -n 1; }
masks="tcp://127.0.0.1:$(free_port)"; control="tcp://127.0.0.1:$(free_port)"; http="127.0.0.1:$(free_port)"
cat > "$out/referstreamd.yaml" <<YAML
model:
  weights: $here/$weights
  tokenizer: $here/$tokenizer
  threads: $(nproc)
  shorter_side: $side
transport:
  masks: $masks
  control: $control
metrics:
  listen: $http
streams:
  - id: demo
    source: file
    params: {location: "$out/clip.mp4", live: true}
    window: {length: 3, stride: 3}
    phrases: [{id: p1, text: "the ball"}]
    enabled: false   # started below with `referstream stream add`, once the subscriber listens
YAML

"$bin/referstreamd" --check-config "$out/referstreamd.yaml" > "$out/plan.txt"
say "starting referstreamd (plan in $out/plan.txt, log in $out/referstreamd.log)"
"$bin/referstreamd" --config "$out/referstreamd.yaml" 2> "$out/referstreamd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q "ready:" "$out/referstreamd.log" && break; sleep 0.1; done
grep -q "ready:" "$out/referstreamd.log" || { cat "$out/referstreamd.log"; exit 1; }
"$bin/referstream" subscribe --masks "$masks" --save-dir "$out/masks" --overlay > "$out/masks.txt" 2> "$out/subscribe.log" &
subscriber=$!
trap 'kill $subscriber $daemon 2>/dev/null || true' EXIT
sleep 1  # the subscription reaches the daemon
say "starting the stream: referstream stream add demo"
"$bin/referstream" stream add demo --control "$control"

sleep 4
say "changing the phrase live: referstream phrase set p1 \"the white ball\""
"$bin/referstream" phrase set p1 "the white ball" --control "$control"
say "adding a phrase live: referstream phrase add --stream demo --id p2 \"the background\""
"$bin/referstream" phrase add --stream demo --id p2 "the background" --control "$control"
for _ in $(seq 300); do
  "$bin/referstream" status --control "$control" --json 2>/dev/null | grep -q '"state":"eos"' && break; sleep 0.2
done
sleep 1
curl -s "http://$http/metrics" > "$out/metrics.txt" || true
curl -s "http://$http/healthz" > "$out/healthz.json" || true
start=$(date +%s.%N); kill -TERM $daemon; wait $daemon || true; end=$(date +%s.%N)
kill $subscriber 2>/dev/null || true; wait $subscriber 2>/dev/null || true
trap - EXIT

say "rendering overlays (GStreamer compositor: frame + tinted mask at 50%)"
rendered=0
for mask in "$out"/masks/demo_p1_*_overlay.png; do
  [ -e "$mask" ] || break
  n=$(basename "$mask" | sed -E 's/demo_p1_0*([0-9]+)_overlay.png/\1/')
  frame=$(printf '%s/frames/%08d.png' "$out" "$n")
  [ -f "$frame" ] || continue
  if [ $((n % 10)) -eq 0 ]; then
    gst-launch-1.0 -q compositor name=mix sink_1::alpha=0.5 ! videoconvert ! pngenc \
      ! filesink location="$out/overlay/$(printf '%08d' "$n").png" \
      filesrc location="$frame" ! pngdec ! videoconvert ! mix.sink_0 \
      filesrc location="$mask" ! pngdec ! videoconvert ! mix.sink_1 && rendered=$((rendered + 1))
  fi
done

{
  echo "ReferStream demo — $(date -u +%FT%TZ)"
  if [ "$weights" = "models/demo/weights.safetensors" ]; then echo "model: demo model (models/demo), partly trained (J&F 0.52 on unseen synthetic clips; this clip is outside its vocabulary)"
  else echo "model: tiny golden TEST weights (random; masks are meaningless until models/demo follows phrases)"; fi
  echo "clip: $out/clip.mp4 ($frames frames, 320x240, paced at 10 fps like a camera)"
  echo "masks received: $(grep -c ' seq=' "$out/masks.txt" || true) ($(grep -c '^demo/p1 ' "$out/masks.txt" || true) for p1, $(grep -c '^demo/p2 ' "$out/masks.txt" || true) for p2)"
  echo "phrase p1 changed live to \"the white ball\"; p2 \"the background\" added live (see $out/referstreamd.log)"
  echo "sequence gaps: $(grep -c ' GAP ' "$out/masks.txt" || true)"
  ages=$(sed -nE 's/.* age=([0-9.]+)ms.*/\1/p' "$out/masks.txt" | sort -n)
  if [ -n "$ages" ]; then
    echo "frame age at the subscriber (ms): median $(echo "$ages" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'), max $(echo "$ages" | tail -1)"
  fi
  grep -E '^referstream_frames_(processed|dropped)_total' "$out/metrics.txt" | sed 's/^/metrics: /' || true
  printf 'shutdown after SIGTERM: %.2f s\n' "$(echo "$end - $start" | bc)"
  echo "overlay pictures: $rendered in $out/overlay/ (every 10th frame: the video with p1's mask tinted over it)"
  echo "all masks: $out/masks/ (PNG per frame and phrase, *_overlay.png tinted); subscriber log: $out/masks.txt"
} | tee "$out/summary.txt"
