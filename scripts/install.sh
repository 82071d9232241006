#!/usr/bin/env bash
# `make install PREFIX=… [DESTDIR=…]`: release binaries built with the static Swift standard library
# (-static-stdlib: they need no Swift toolchain at run time, only the system's GStreamer, libzmq and
# OpenBLAS), the systemd units with their paths pointing at PREFIX, the pipeline templates, the example
# configuration and the bundled model (the demo model, models/demo).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${1:-/usr/local}"
destdir="${2:-}"
root="$destdir$prefix"
# The configuration goes to /etc for the system prefixes, else under the prefix (a private install).
case "$prefix" in /usr|/usr/local) sysconf=/etc ;; *) sysconf="$prefix/etc" ;; esac
swift="${SWIFT:-swift}"
say() { printf 'install: %s\n' "$*"; }

cd "$here"
say "building referstreamd and referstream (release, static Swift standard library)"
"$swift" build -c release --static-swift-stdlib --product referstreamd
"$swift" build -c release --static-swift-stdlib --product referstream
bin="$("$swift" build -c release --show-bin-path)"

install -d "$root/bin" "$root/share/referstream/pipelines" "$root/share/referstream/model" \
  "$root/share/doc/referstream" "$root/lib/systemd/system" "$destdir$sysconf/referstream"
install -m 0755 "$bin/referstreamd" "$bin/referstream" "$root/bin/"
install -m 0644 pipelines/*.pipeline "$root/share/referstream/pipelines/"
install -m 0644 README.md docs/protocol.md "$root/share/doc/referstream/"
install -m 0644 config/referstreamd.yaml "$root/share/doc/referstream/referstreamd.example.yaml"
# The configuration is the administrator's: never overwritten.
if [ ! -e "$destdir$sysconf/referstream/referstreamd.yaml" ]; then
  install -m 0644 config/referstreamd.yaml "$destdir$sysconf/referstream/referstreamd.yaml"
fi

# The bundled model: the demo model (models/demo, MODEL.md), which runs when no weights are given; its
# config.json carries the input size it was trained at, which both programs then use.
say "bundling the demo model (models/demo)"
install -d "$root/share/referstream/model/tokenizer"
install -m 0644 models/demo/weights.safetensors models/demo/config.json models/demo/MODEL.md "$root/share/referstream/model/"
install -m 0644 models/demo/vocab.json models/demo/merges.txt "$root/share/referstream/model/tokenizer/"

# Units: paths under PREFIX, and this machine's OpenBLAS kernel (AVX-512: SkylakeX, AVX2: Haswell;
# neither: the line goes and referstreamd picks the kernel itself).
kernel=""
if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo; then kernel=SkylakeX
elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then kernel=Haswell; fi
for unit in referstreamd.service referstreamd@.service; do
  sed -e "s#/usr/local/#$prefix/#g" -e "s#/etc/referstream/#$sysconf/referstream/#g" \
      -e "s#^Environment=OPENBLAS_CORETYPE=.*#${kernel:+Environment=OPENBLAS_CORETYPE=$kernel}#" \
      "systemd/$unit" > "$root/lib/systemd/system/$unit"
  chmod 0644 "$root/lib/systemd/system/$unit"
done
say "installed under $root (units in $root/lib/systemd/system; configuration $sysconf/referstream/referstreamd.yaml)"
say "start with: systemctl daemon-reload && systemctl enable --now referstreamd"
