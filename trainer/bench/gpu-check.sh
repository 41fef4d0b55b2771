#!/usr/bin/env bash
# The GPU measurements of issue 11, for a GPU machine that has no Node.js, no node_modules and no
# network (the device tool's nvidia-h200). Two steps:
#
#   trainer/bench/gpu-check.sh prepare        here, after npm ci: builds .gpu-train/ and .gpu-infer/
#   trainer/bench/gpu-check.sh [train|infer|all] [--smoke]     there, carrying them (or here)
#
# train: the WebGPU gradient test; bench:train on webgpu at batch 32, 128 and 256 (reference U-Net);
#        a per-kernel profile of one training step at batch 128.
# infer: bench:infer through ONNX Runtime's WebGPU provider (--device gpu): 12 MP ×2 and ×4, at the
#        default tile size and at 1024 px.
# all (default): both, where both folders are there.
# Everything goes to $OUT (or ./gpu-out): one log per step and summary.txt (at most 8 files).
# Without a hardware WebGPU adapter every step is skipped with the reason; --smoke runs each step
# at toy sizes on whatever adapter there is (lavapipe here), to test the bundles.
#
# Why two folders: Node (24 MB compressed) is in each, and with the tracked tree (24 MB) Dawn and
# TF.js (train) plus ONNX Runtime and libvips (infer) together exceed the tool's 64 MiB a call.
# Device calls, one after the other (each ≤ 5½ minutes; timeout_s 420 leaves room for the start):
#   run(command: 'trainer/bench/gpu-check.sh train', carry: ['.gpu-train'], timeout_s: 420)
#   run(command: 'trainer/bench/gpu-check.sh infer', carry: ['.gpu-infer'], timeout_s: 420)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=${1:-all}
smoke=false
[ "${2:-}" = --smoke ] || [ "${1:-}" = --smoke ] && smoke=true
[ "$mode" = --smoke ] && mode=all

prepare() {
  local esb=(npx --no-install esbuild --bundle --platform=node --format=esm --target=node20 --log-level=warning
    --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --external:sharp --external:onnxruntime-node
    # Dawn comes from ENHANCE_DAWN_NODE (no node_modules/webgpu there).
    --alias:webgpu=./.gpu-train/webgpu-shim.mjs
    # CommonJS parts (the wasm loader among them) expect require and __dirname.
    "--banner:js=import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __filename.replace(/[\\/][^\\/]*\$/, '');")
  for d in .gpu-train .gpu-infer .gpu-run; do
    grep -qxF "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude
  done
  # What a run unpacked into the folders (enter.sh's bin/, dawn.node) must not travel.
  rm -rf .gpu-train/{b,bin,dawn.node,payload.tar.xz} .gpu-infer/{b,bin,payload.tar.xz}
  # Node (x86 filter + preset 9e: 23 instead of 27 MB, gpu-carry keeps a node.xz it finds), Dawn,
  # the Vulkan/GL loaders and enter.sh (which unpacks them there).
  mkdir -p .gpu-train
  [ -f .gpu-train/node.xz ] || xz -T2 --x86 --lzma2=preset=9e -c "$(readlink -f "$(command -v node)")" > .gpu-train/node.xz
  ../shared/tools/gpu-carry .gpu-train >/dev/null
  mkdir -p .gpu-train/b .gpu-infer/b
  cat > .gpu-train/webgpu-shim.mjs <<'SHIM'
import { createRequire } from 'node:module';
const { create, globals } = createRequire(import.meta.url)(process.env.ENHANCE_DAWN_NODE);
export { create, globals };
SHIM
  # Bundles sit two folders down (DIR/b/), so their import.meta.url-relative paths (../../resources/models) hold.
  "${esb[@]}" tests/conv-grad-kernels.test.ts --outfile=.gpu-train/b/conv-grad-kernels.test.mjs
  "${esb[@]}" trainer/bench/bench-train.ts --outfile=.gpu-train/b/bench-train.mjs
  "${esb[@]}" trainer/bench/profile-train-step.ts --outfile=.gpu-train/b/profile-train-step.mjs
  echo "import { probeWebGpuAdapter } from './electron/engine/gpu-adapter.ts'; console.log(JSON.stringify(await probeWebGpuAdapter()));" |
    "${esb[@]}" --sourcefile=probe.ts --outfile=.gpu-train/b/probe.mjs
  cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .gpu-train/b/
  (cd .gpu-train && tar -cf - b | xz -T2 --lzma2=preset=9e > payload.tar.xz && rm -rf b)
  "${esb[@]}" trainer/bench/bench-infer.ts --outfile=.gpu-infer/b/bench-infer.mjs
  # ONNX Runtime (Linux x64 only) and sharp with libvips, as node_modules beside the bundle.
  local nm=.gpu-infer/b/node_modules
  mkdir -p "$nm/onnxruntime-node/bin/napi-v6/linux" "$nm/@img"
  cp -r node_modules/onnxruntime-node/{package.json,dist} "$nm/onnxruntime-node/"
  cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$nm/onnxruntime-node/bin/napi-v6/linux/"
  cp -r node_modules/{onnxruntime-common,sharp,detect-libc,semver} "$nm/"
  cp -r node_modules/@img/{colour,sharp-linux-x64,sharp-libvips-linux-x64} "$nm/@img/"
  (cd .gpu-infer && tar -cf - b | xz -T2 --x86 --lzma2=preset=9e > payload.tar.xz && rm -rf b)
  # Its own Node and Vulkan loader (ORT's Dawn needs libvulkan.so.1), so it also runs on a fresh machine.
  cp .gpu-train/enter.sh .gpu-train/libvulkan1_*.deb .gpu-infer/
  cp .gpu-train/node.xz .gpu-infer/
  # What a device call sends: tracked and untracked-not-ignored files, plus the carried folder.
  local tree
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | awk '/\ttotal$/ { s += $1 } END { print s }')
  for d in .gpu-train .gpu-infer; do
    local total=$(( tree + $(du -sb "$d" | cut -f1) ))
    echo "$d: $(( total / 1048576 )) MiB with the tree ($(( tree / 1048576 )) MiB)$([ $total -gt 67108864 ] && echo ': OVER the 64 MiB a device call carries')"
  done
}

if [ "$mode" = prepare ]; then prepare; exit 0; fi
case "$mode" in train | infer | all) ;; *) echo "usage: $0 prepare | [train|infer|all] [--smoke]" >&2; exit 2 ;; esac

out=${OUT:-$root/gpu-out}
mkdir -p "$out"
summary="$out/summary.txt"
say() { echo "$*" | tee -a "$summary"; }
: > "$summary"
started=$(date +%s)
say "gpu-check $mode$($smoke && echo ' --smoke'): $(date -u +%FT%TZ) on $(uname -n)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /' | tee -a "$summary" || true

# Node: this machine's, or .gpu-train's (enter.sh also installs the Vulkan loaders and points them at
# the NVIDIA driver); never enter.sh where Node is installed, since it unpacks packages over /.
train_dir=$root/.gpu-train
infer_dir=$root/.gpu-infer
if ! command -v node >/dev/null; then
  if [ -f "$train_dir/enter.sh" ]; then enter=$train_dir/enter.sh
  elif [ -f "$infer_dir/enter.sh" ]; then enter=$infer_dir/enter.sh
  else say "skipped: no node here and neither .gpu-train nor .gpu-infer was carried (run '$0 prepare' first)"; exit 0; fi
  # shellcheck source=/dev/null
  source "$enter"
fi
say "node $(node --version)"
# Unpacked beside them, not into them (so they can travel again), two folders down like the bundles
# were built (their import.meta.url-relative paths reach ../../resources/models).
run_dir=$root/.gpu-run
for part in train infer; do
  d=$root/.gpu-$part
  rm -rf "${run_dir:?}/$part"
  [ -f "$d/payload.tar.xz" ] && mkdir -p "$run_dir/$part" && xz -d -c "$d/payload.tar.xz" | tar -xf - --strip-components=1 -C "$run_dir/$part"
done
if [ -z "${ENHANCE_DAWN_NODE:-}" ]; then
  if [ -f "$train_dir/dawn.node.xz" ]; then
    xz -d -c "$train_dir/dawn.node.xz" > "$run_dir/dawn.node"
    export ENHANCE_DAWN_NODE=$run_dir/dawn.node
  elif [ -f node_modules/webgpu/dist/linux-x64/dawn.node ]; then
    export ENHANCE_DAWN_NODE=$root/node_modules/webgpu/dist/linux-x64/dawn.node
  fi
fi

# The adapter, asked the way the engine asks (high-performance; software ones named).
# Infer alone carries no Dawn: there the NVIDIA Vulkan driver that enter.sh names stands for the adapter.
if [ -f "$run_dir/train/probe.mjs" ]; then
  probe=$(cd "$root" && timeout 60 node "$run_dir/train/probe.mjs" 2>/dev/null | tail -1 || true)
  [ -n "$probe" ] || probe='{"found":false,"why":"the probe did not run"}'
elif [ -f "${VK_DRIVER_FILES:-}" ] && grep -qi nvidia "$VK_DRIVER_FILES"; then
  probe="{\"found\":true,\"label\":\"NVIDIA Vulkan driver ($VK_DRIVER_FILES)\"}"
else
  probe='{"found":false,"why":"no Dawn to ask (.gpu-train not carried) and no NVIDIA Vulkan driver in VK_DRIVER_FILES"}'
fi
say "adapter: $probe"
if ! $smoke && ! echo "$probe" | grep -q '"found":true'; then say "skipped: no WebGPU adapter"; exit 0; fi
if ! $smoke && echo "$probe" | grep -q '"software"'; then say "skipped: only a software adapter (the numbers would be a CPU's); --smoke runs the steps anyway"; exit 0; fi

# step NAME SECONDS CMD…: runs CMD with a time limit, its output to $out/NAME.log, one summary line.
# The limits add up to 8¾ minutes on a GPU; a software adapter (--smoke) gets five times as long.
slow=1; $smoke && slow=5
step() {
  local name=$1 limit=$(( $2 * slow )) t0 rc=0
  shift 2
  t0=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1 || rc=$?
  say "$name: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc$([ $rc = 124 ] && echo ", over ${limit}s"))") in $(( $(date +%s) - t0 ))s"
}

if [ "$mode" != infer ]; then
  if [ -d "$run_dir/train" ]; then
    step grad-test 60 node --test "$run_dir/train/conv-grad-kernels.test.mjs"
    grep -E '^# (pass|fail|skipped)' "$out/grad-test.log" | tr '\n' ' ' | sed 's/^/grad-test: /' | tee -a "$summary"; echo | tee -a "$summary"
    if $smoke; then batches=(2); steps=1; pbatch=1; else batches=(32 128 256); steps=5; pbatch=128; fi
    : > "$out/bench-train.log"
    for n in "${batches[@]}"; do
      step bench-train-$n $(( 45 + n / 6 )) node "$run_dir/train/bench-train.mjs" --backends webgpu --batch "$n" --steps "$steps"
      cat "$out/bench-train-$n.log" >> "$out/bench-train.log" && rm "$out/bench-train-$n.log"
      grep -E '^webgpu ' "$out/bench-train.log" | tail -1 | sed 's/^/  /' | tee -a "$summary"
    done
    step profile 60 node "$run_dir/train/profile-train-step.mjs" --backend webgpu --batch "$pbatch"
    grep -v '^Warning' "$out/profile.log" | sed -n '1,12p' | sed 's/^/  /' | tee -a "$summary"
    grep '^kernels ' "$out/profile.log" | sed 's/^/  /' | tee -a "$summary" || true
  else
    say "train: skipped (.gpu-train was not carried)"
  fi
fi

if [ "$mode" != train ]; then
  if [ -d "$run_dir/infer" ]; then
    # 12 MP ×2 and ×4 through --device gpu (forced: fails loudly rather than timing the CPU), at the
    # default tiles, then at 1024 px if the 9 minutes allow. --smoke: the CPU provider on a small
    # image (Set14's first where ../shared/datasets has it), which only tests the bundle.
    if ! $smoke; then args=(--device gpu)
    elif [ -d ../shared/datasets/Set14 ]; then args=(--device cpu --smoke 1)
    else args=(--device cpu --quick); fi
    : > "$out/bench-infer.log"
    for tile in default 1024; do
      if [ $tile = 1024 ] && { $smoke || [ $(( $(date +%s) - started )) -gt 360 ]; }; then break; fi
      tile_args=(); [ $tile = default ] || tile_args=(--tile-size $tile)
      step bench-infer-$tile 150 node "$run_dir/infer/bench-infer.mjs" "${args[@]}" --no-50mp --esrgan-photo none "${tile_args[@]}"
      cat "$out/bench-infer-$tile.log" >> "$out/bench-infer.log" && rm "$out/bench-infer-$tile.log"
      grep -E '^enhance |^tile ' "$out/bench-infer.log" | tail -3 | sed 's/^/  /' | tee -a "$summary"
    done
  else
    say "infer: skipped (.gpu-infer was not carried)"
  fi
fi
say "done in $(( $(date +%s) - started ))s; logs in $out"
