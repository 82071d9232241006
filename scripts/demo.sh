#!/usr/bin/env bash
# `make demo`: ReferStream end to end on this machine, in about a minute, with the bundled demo model.
#  1. builds referstreamd and referstream in release mode;
#  2. plays models/demo/demo-clip/clip.mp4 into referstreamd, paced like a camera (8 s of coloured shapes
#     drawn by the validation renderer, which the demo model never trained on). The configuration names
#     no weights, so the daemon runs the bundled demo model (models/demo) at the size it was trained at;
#  3. subscribes; the phrase p1 starts as "the red circle" and is changed live to "the small blue
#     square" half-way; p2 "the yellow star" is added live, through the control socket;
#  4. scores every mask it received against the clip's ground truth (`referstream evaluate`: J, F, J&F),
#     draws the masks over the video (overlay pictures and an MP4), writes a summary to demo-out/ and
#     stops the daemon with SIGTERM.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${REFERSTREAM_DEMO_OUT:-$here/demo-out}"
swift="${SWIFT:-swift}"
clipdir="$here/models/demo/demo-clip"
say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
cd "$here"
[ -f "$clipdir/clip.mp4" ] || { echo "demo: $clipdir/clip.mp4 is missing (python3 tools/demo/make_demo_clip.py makes it)" >&2; exit 1; }
[ -f models/demo/weights.safetensors ] || { echo "demo: models/demo/weights.safetensors is missing (a partial clone?)" >&2; exit 1; }

say "building referstreamd and referstream (release)…"
"$swift" build -c release --static-swift-stdlib --product referstreamd >/dev/null
"$swift" build -c release --static-swift-stdlib --product referstream >/dev/null
bin="$("$swift" build -c release --show-bin-path)"

rm -rf "$out"; mkdir -p "$out/masks" "$out/frames" "$out/overlay" "$out/score"
say "model: the bundled demo model (models/demo/MODEL.md): a small ReferFormer trained here on synthetic clips"
say "clip:  $clipdir/clip.mp4 (80 frames, 320x240, 10 fps; its objects: a red circle, a small blue square,"
say "       a green triangle and a yellow star; ground truth in $clipdir/masks)"
gst-launch-1.0 -q filesrc location="$clipdir/clip.mp4" ! decodebin ! videoconvert ! pngenc \
  ! multifilesink location="$out/frames/%08d.png"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || shuf -i 20000-60000 -n 1; }
masks="tcp://127.0.0.1:$(free_port)"; control="tcp://127.0.0.1:$(free_port)"; http="127.0.0.1:$(free_port)"
cat > "$out/referstreamd.yaml" <<YAML
# No model.weights: the bundled demo model, at the input size it was trained at.
model:
  threads: $(nproc)
transport:
  masks: $masks
  control: $control
metrics:
  listen: $http
streams:
  - id: demo
    source: file
    params: {location: "$clipdir/clip.mp4", live: true}
    window: {length: 3, stride: 3}
    phrases: [{id: p1, text: "the red circle"}]
    enabled: false   # started below with \`referstream stream add\`, once the subscriber listens
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
say "starting the stream with p1 = \"the red circle\": referstream stream add demo"
"$bin/referstream" stream add demo --control "$control"
sleep 1.5
say "adding a phrase live: referstream phrase add --stream demo --id p2 \"the yellow star\""
"$bin/referstream" phrase add --stream demo --id p2 "the yellow star" --control "$control"
sleep 2.5
say "changing the phrase live: referstream phrase set p1 \"the small blue square\""
"$bin/referstream" phrase set p1 "the small blue square" --control "$control"
for _ in $(seq 300); do
  "$bin/referstream" status --control "$control" --json 2>/dev/null | grep -q '"state":"eos"' && break; sleep 0.2
done
sleep 1
curl -s "http://$http/metrics" > "$out/metrics.txt" || true
start=$(date +%s.%N); kill -TERM $daemon; wait $daemon || true; end=$(date +%s.%N)
kill $subscriber 2>/dev/null || true; wait $subscriber 2>/dev/null || true
trap - EXIT

# Which phrase each mask answered: every line of `referstream subscribe` carries the text the daemon
# segmented for it (text="…"), so masks from before and after `phrase set` are told apart by what they
# answered, not by when the change was sent.
text_of() { sed -nE 's#.* text="([^"]*)".*#\1#p' <<<"$1"; }
truth_of() {  # the ground-truth folder of the object a phrase denotes (models/demo/demo-clip/clip.json)
  case "$1" in "the red circle") echo big-red-circle ;; "the small blue square") echo small-blue-square ;;
    "the yellow star") echo small-yellow-star ;; *) echo "demo: no ground truth for \"$1\"" >&2; return 1 ;; esac
}

say "scoring the received masks against the clip's ground truth (referstream evaluate)"
while read -r topic seq frame rest; do
  id=${topic#demo/}; n=$((10#${frame#frame=}))
  text=$(text_of "$rest"); slug=$(tr ' ' '-' <<<"${text#the }")
  [ -n "$text" ] || { echo "demo: no text= in a subscribe line: $topic $seq $frame $rest" >&2; continue; }
  truth=$(truth_of "$text") || continue
  name=$(printf '%05d.png' "$n"); mask=$(printf '%s/masks/demo_%s_%08d.png' "$out" "$id" "$n")
  [ -f "$mask" ] || continue
  mkdir -p "$out/score/pred/demo/$id-$slug" "$out/score/truth/demo/$id-$slug"
  cp "$mask" "$out/score/pred/demo/$id-$slug/$name"
  cp "$clipdir/masks/$truth/$name" "$out/score/truth/demo/$id-$slug/$name"
  echo "$n $id $text" >> "$out/score/received.txt"
done < <(grep -E '^demo/p[12] seq=' "$out/masks.txt")
"$bin/referstream" evaluate --predictions "$out/score/pred" --annotations "$out/score/truth" \
  --json "$out/score/evaluation.json" > "$out/score/table.txt"

say "drawing the masks over the video (GStreamer compositor: p1's and p2's masks at 60 % over the frame)"
# Every received frame of p1 (with p2's mask where there is one), in order, for the MP4; every 10th as a picture.
mkdir -p "$out/mp4-frames"; k=0; pictures=0
for mask in "$out"/masks/demo_p1_*_overlay.png; do
  [ -e "$mask" ] || break
  n=$(basename "$mask" | sed -E 's/demo_p1_0*([0-9]+)_overlay.png/\1/'); n=${n:-0}
  frame=$(printf '%s/frames/%08d.png' "$out" "$n")
  [ -f "$frame" ] || continue
  other=$(printf '%s/masks/demo_p2_%08d_overlay.png' "$out" "$n")
  target=$(printf '%s/mp4-frames/%05d.png' "$out" "$k")
  second=(); [ -f "$other" ] && second=(filesrc location="$other" ! pngdec ! videoconvert ! mix.sink_2)
  gst-launch-1.0 -q compositor name=mix sink_1::alpha=0.6 sink_2::alpha=0.6 ! videoconvert ! pngenc ! filesink location="$target" \
    filesrc location="$frame" ! pngdec ! videoconvert ! mix.sink_0 \
    filesrc location="$mask" ! pngdec ! videoconvert ! mix.sink_1 \
    "${second[@]}"
  if [ $((n % 10)) -eq 0 ]; then
    slug=$(text_of "$(grep -E "^demo/p1 seq=[0-9]+ frame=$n " "$out/masks.txt" | head -1)" | tr ' ' '-')
    cp "$target" "$out/overlay/$(printf '%08d' "$n")-p1-$slug.png"; pictures=$((pictures + 1))
  fi
  k=$((k + 1))
done
if [ "$k" -gt 0 ]; then
  gst-launch-1.0 -q multifilesrc location="$out/mp4-frames/%05d.png" index=0 caps=image/png,framerate=10/1 \
    ! pngdec ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux ! filesink location="$out/overlay.mp4"
fi

{
  echo "ReferStream demo — $(date -u +%FT%TZ)"
  echo "model: the bundled demo model ($(sed -nE 's/^  weights: +//p' "$out/plan.txt"); $(sed -nE 's/^  input: +//p' "$out/plan.txt"))"
  echo "clip: $clipdir/clip.mp4 (80 frames, 320x240, paced at 10 fps like a camera)"
  echo "masks received: $(grep -c ' seq=' "$out/masks.txt" || true) ($(grep -c '^demo/p1 ' "$out/masks.txt" || true) for p1, $(grep -c '^demo/p2 ' "$out/masks.txt" || true) for p2); sequence gaps: $(grep -c ' GAP ' "$out/masks.txt" || true)"
  for text in "the red circle" "the small blue square"; do
    frames=$(grep -E "^[0-9]+ p1 $text\$" "$out/score/received.txt" | cut -d' ' -f1)
    [ -n "$frames" ] && echo "p1 = \"$text\": frames $(head -1 <<<"$frames")–$(tail -1 <<<"$frames")"
  done
  echo "p2 = \"the yellow star\" (added live): $(grep -c ' p2 ' "$out/score/received.txt" || true) frames"
  echo "how well each mask covers the object its phrase denotes (J = IoU, F = boundary accuracy; 1 is perfect):"
  sed -n '/^sequence\/object/,/^$/p' "$out/score/table.txt" | sed 's/^/  /'
  ages=$(sed -nE 's/.* age=([0-9.]+)ms.*/\1/p' "$out/masks.txt" | sort -n)
  if [ -n "$ages" ]; then
    echo "frame age at the subscriber (ms): median $(echo "$ages" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'), max $(echo "$ages" | tail -1)"
  fi
  grep -E '^referstream_frames_(processed|dropped)_total' "$out/metrics.txt" | sed 's/^/metrics: /' || true
  printf 'shutdown after SIGTERM: %.2f s\n' "$(echo "$end - $start" | bc)"
  echo "overlay video: $out/overlay.mp4 (every frame the daemon answered: p1 tinted, and p2 once added)"
  echo "overlay pictures: $pictures in $out/overlay/ (every 10th frame, named by p1's phrase at that frame)"
  echo "all masks: $out/masks/ (PNG per frame and phrase); scores: $out/score/ (table.txt, evaluation.json)"
} | tee "$out/summary.txt"
