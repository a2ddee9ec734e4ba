#!/bin/bash
# The webgpu figures on a GPU machine that has no Node (the device tool's H100/H200), in one prepared run.
# Here first: npm install && node scripts/device-kit.mjs --corpus PATH/tinyshakespeare.txt   (makes .device-kit/)
# Then one device call, from the repository root, carrying the kit:
#   run(command="bash bench/gpu/webgpu-device.sh", carry=[".device-kit"], timeout_s=560)
# It unpacks Node and the app (dist/, node_modules/, the addon) into the tree, makes sure a Vulkan loader is there,
# and measures, most important first, each step under its own timeout so a slow one cannot eat the rest, into these
# files, packed into raw.tgz under $OUT (or ./device-out when OUT is unset) beside summary.md and log.txt:
#   env.txt           GPU, driver, Vulkan loader, adapter Dawn picked
#   gemm-wgsl.jsonl   the WGSL SGEMM on large squares and the models' products (bench/gpu/webgpu-gemm.mjs)
#   gemm-torch.jsonl  cuBLAS SGEMM on the same shapes, TF32 off, and the GPU's fp32 peak (bench/gpu/torch_gemm.py)
#   colsum.jsonl      column sums in one pass against two (bench/gpu/webgpu-colsum.mjs)
#   bench-webgpu.jsonl  charlm bench --backend webgpu: seed, gpt-tiny, shakespeare-gpt
#   bench-rule.jsonl  the three presets again with SGEMM kernels by ops.ts's rule (CHARLM_WEBGPU_TUNE=0), not timed
#   tuning.json       the SGEMM kernel each shape took when timed on this GPU (src/kernels/webgpu/tuner.ts)
#   bench-unchecked.jsonl, gemm-wgsl-unchecked.jsonl  training and the SGEMMs again without WebGPU's index clamps
#                     (CHARLM_WEBGPU_ROBUSTNESS=off)
#   bench-attn-whole.jsonl  the GPT presets again with attention as whole walks (CHARLM_WEBGPU_ATTN_PARTS=1)
#   torch-rate.jsonl  PyTorch eager training on the same shapes, fp32 and TF32 (bench/gpu/torch_rate.py)
#   agreement.txt     20 training steps, webgpu against native on this machine's CPU, every step's loss
#   profile-*.md      GPU time per kernel of 12 training steps (seed, shakespeare-gpt), CHARLM_WEBGPU_PROFILE
#   dispatch.txt      the cost per kernel call (bench/gpu/webgpu-dispatch.mjs)
#   steps.md          each training step's wall time on the host: caller, blocked, worker (bench/gpu/webgpu-step.mjs);
#                     STEPS_ONLY=1 runs this alone
#   quality.md        QUALITY=1 runs only this: shakespeare-gpt trained on the GPU within BUDGET, its validation curve
#   summary.md        the tables (bench/gpu/webgpu-summary.mjs)
# Locally, to check the script itself on SwiftShader (no CUDA: the PyTorch steps say so and are skipped):
#   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium QUICK=1 bash bench/gpu/webgpu-device.sh
set -u
K=.device-kit
# What comes back (the device tool returns at most 8 files): summary.md, log.txt and raw.tgz, every raw file below,
# re-packed after each step so a cut-short run still returns what it measured.
R=${OUT:-./device-out}
O=$(mktemp -d)
mkdir -p "$R"
pack() { tar -czf "$R/raw.tgz" -C "$O" . 2>/dev/null; cp "$O/log.txt" "$R/" 2>/dev/null; [ -f "$O/summary.md" ] && cp "$O/summary.md" "$R/"; return 0; }
T=/tmp/charlm-node; mkdir -p $T
[ -d $K ] || { echo "no $K: run node scripts/device-kit.mjs here first and carry .device-kit"; exit 2; }
xz -dc $K/node.xz > $T/node && chmod +x $T/node && export PATH=$T:$PATH
tar -xJf $K/app.tar.xz || { echo "could not unpack $K/app.tar.xz"; exit 2; }
# The Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan driver (libGLX_nvidia) links to, where missing.
NV=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if ! ldconfig -p | grep -q 'libvulkan.so.1' || { [ -f $NV ] && ! ldconfig -p | grep -q 'libGLdispatch.so.0'; }; then
  for f in $K/vulkan/*.deb; do dpkg -x "$f" /; done; ldconfig
fi
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f $NV ]; then export VK_DRIVER_FILES=$NV VK_ICD_FILENAMES=$NV; fi
Q=${QUICK:-0}
# The tuner's choices come back with the raw files. QUICK (SwiftShader, a CPU adapter, which uses the rules by
# default) times every shape, small ones included, so the local check goes through the tuner.
export CHARLM_WEBGPU_TUNE_FILE="$O/tuning.json"
[ "$Q" = 1 ] && export CHARLM_WEBGPU_TUNE=all
# Every step has its own limit and all of them one deadline (BUDGET seconds, default 420: pass timeout_s ≥ 480), so
# the summary is always written; a step the deadline cuts short is marked in log.txt.
END=$((SECONDS + ${BUDGET:-420}))
step() {
  local secs=$1; shift
  local left=$((END - SECONDS)); [ $left -lt $secs ] && secs=$left
  if [ $secs -le 5 ]; then echo "## skipped (deadline): $*" >>"$O/log.txt"; return 0; fi
  echo "## $(date -u +%T) (limit ${secs}s) $*" | tee -a "$O/log.txt" >&2
  timeout "$secs" "$@" 2>>"$O/log.txt"; echo "## exit $?" >>"$O/log.txt"
  pack
}
{
  nvidia-smi -L 2>&1; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv 2>&1
  node -v; ldconfig -p | grep -i vulkan; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  timeout 60 node --input-type=module -e "const m = await import('./dist/kernels/webgpu/node-gpu.js'); const d = await m.openNodeDevice(); console.log('adapter: ' + d.adapterName); process.exit(0)" 2>&1
} > "$O/env.txt"
cat "$O/env.txt"
# No adapter: say why as far as the loader can tell, and stop at once so the device time is left for a rerun.
if ! grep -q '^adapter: ' "$O/env.txt"; then
  { echo "## no WebGPU adapter"; cat $NV 2>&1; ls /usr/local/nvidia/lib64 2>&1 | grep -i -E 'glx|vulkan|dispatch'
    VK_LOADER_DEBUG=error,warn,driver timeout 60 node --input-type=module -e "const m = await import('./dist/kernels/webgpu/node-gpu.js'); await m.openNodeDevice()" 2>&1 | tail -40
  } >> "$O/env.txt"; cat "$O/env.txt"; cp "$O/env.txt" "$R/"; exit 3
fi
HAVE_CUDA=0; python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && HAVE_CUDA=1
if [ "$Q" = 1 ]; then GEMM="--quick --reps 2"; STEPS=2; SSTEPS=10; else GEMM="--reps 20"; STEPS=${BENCH_STEPS:-20}; SSTEPS=200; fi
# QUICK (SwiftShader): the agreement runs on small models of each family; on a GPU, the presets themselves.
SMALL=(); [ "$Q" = 1 ] && SMALL=(--batch-size 2 --seq-length 16)
small() { [ "$Q" = 1 ] || return 0; if [ "$1" = seed ]; then echo "--hidden-size 16 --embedding-dim 8"; else echo "--n-embd 16 --n-layer 1 --n-head 2 --block-size 16"; fi; }
smallbench() { [ "$Q" = 1 ] || return 0; if [ "$1" = seed ]; then echo "--hidden 16 --batch-size 2 --seq-length 16"; else echo "--n-embd 16 --n-layer 1 --n-head 2 --block-size 16 --batch-size 2 --seq-length 16"; fi; }

# QUALITY=1: the issue's quality run instead: train shakespeare-gpt (the preset: 5,000 steps, windows/256 validation
# over the held-out tenth every 200 steps) on the GPU within the budget, into quality.md: every evaluation, the best,
# the rate, a sample. (On a CPU the preset reached 1.4692 in 54 minutes: docs/results.md.)
if [ "${QUALITY:-0}" = 1 ]; then
  [ -f $K/corpus.txt ] || { echo "no $K/corpus.txt: build the kit with --corpus"; exit 2; }
  QS=(); [ "$Q" = 1 ] && QS=(--steps 30 --eval-interval 10 --eval-chars 2000 --batch-size 2 --n-embd 16 --n-layer 1 --n-head 2 --block-size 16 --seq-length 16)
  step $((END - SECONDS - 20)) node bin/charlm.js train $K/corpus.txt --preset shakespeare-gpt --backend webgpu \
    --sample-chars 300 --no-cache --out "$O/quality-run" ${QS[@]+"${QS[@]}"} > "$O/quality-train.txt"
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    const rows = readFileSync('$O/quality-run/metrics.jsonl', 'utf8').trim().split('\n').map(JSON.parse);
    const ev = rows.filter((r) => r.type === 'eval'), tr = rows.filter((r) => r.type === 'train');
    const best = ev.reduce((a, b) => (b.val_loss < a.val_loss ? b : a), ev[0]);
    console.log('# shakespeare-gpt trained on the GPU (--backend webgpu): ' + (tr.at(-1)?.step ?? 0) + ' steps in ' + (ev.at(-1)?.elapsed_s ?? 0).toFixed(0) + ' s');
    console.log('best validation (' + best.protocol + '): ' + best.val_loss.toFixed(4) + ' nats/char at step ' + best.step + '\n');
    console.log('| step | elapsed s | train loss | val loss |\n|---:|---:|---:|---:|');
    for (const e of ev) console.log('| ' + e.step + ' | ' + e.elapsed_s.toFixed(0) + ' | ' + (e.train_loss == null ? '–' : e.train_loss.toFixed(4)) + ' | ' + e.val_loss.toFixed(4) + (e.best ? ' (best)' : '') + ' |');
    console.log('\nsample at the best evaluation:\n\n\x60\x60\x60\n' + (best.sample ?? '') + '\n\x60\x60\x60');
  " > "$O/quality.md" 2>>"$O/log.txt"
  rm -f "$O"/quality-run/*.safetensors "$O"/quality-run/*.state 2>/dev/null   # the weights are not needed back
  cp "$O/quality.md" "$R/" 2>/dev/null; pack; cat "$O/quality.md"; exit 0
fi
# Where each training step's wall time goes on the host (caller, blocked on answers, worker recording).
for p in shakespeare-gpt gpt-tiny seed; do
  step 40 node bench/gpu/webgpu-step.mjs --preset $p --steps $([ "$Q" = 1 ] && echo 2 || echo 8) $([ "$Q" = 1 ] && echo --quick) >> "$O/steps.md"
done
if [ "${STEPS_ONLY:-0}" = 1 ]; then pack; cat "$O/steps.md"; exit 0; fi
step 90 node bench/gpu/webgpu-gemm.mjs $GEMM > "$O/gemm-wgsl.jsonl"
[ $HAVE_CUDA = 1 ] && step 60 python3 bench/gpu/torch_gemm.py > "$O/gemm-torch.jsonl"
# charlm bench --backend webgpu on each preset named, appended to $O/FILE (env assignments before the call apply to it).
benches() { local f=$1; shift; for p in "$@"; do
  step 90 node bin/charlm.js bench --preset $p --backend webgpu --steps $STEPS --sample-steps $SSTEPS --json $(smallbench $p) >> "$O/$f"
done; }
benches bench-webgpu.jsonl seed shakespeare-gpt gpt-tiny
# PyTorch on the same shapes and the agreement runs before the A/B runs below: the targets need them, and BUDGET
# may cut the tail short.
[ $HAVE_CUDA = 1 ] && step 90 python3 bench/gpu/torch_rate.py bench/gpu/seed.json bench/gpu/shakespeare-gpt.json bench/gpu/gpt-tiny.json --steps 30 > "$O/torch-rate.jsonl"
if [ -f $K/corpus.txt ]; then
  AG=$(mktemp -d)   # fresh run folders: a folder left by an earlier call must not stand in for this one's run
  for pre in seed shakespeare-gpt; do
    for be in native webgpu; do
      step 60 node bin/charlm.js train $K/corpus.txt --preset $pre --steps 20 --log-interval 1 --eval-interval 20 \
        --val-fraction 0.1 --eval-chars 2000 --sample-chars 0 --seed 7 --no-cache --quiet --backend $be \
        --out $AG/$pre-$be ${SMALL[@]+"${SMALL[@]}"} $(small $pre) >/dev/null
    done
  done
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    const L = (d) => readFileSync('$AG/' + d + '/metrics.jsonl', 'utf8').trim().split('\n').map(JSON.parse).filter((e) => e.type === 'train').map((e) => e.loss);
    for (const p of ['seed', 'shakespeare-gpt']) {
      try {
        const a = L(p + '-native'), b = L(p + '-webgpu');
        const rel = a.map((x, i) => Math.abs(b[i] - x) / Math.abs(x));
        console.log(p + ': ' + a.length + '/' + b.length + ' steps; native ' + a[0].toFixed(5) + ' → ' + a.at(-1).toFixed(5) + ', webgpu ' + b[0].toFixed(5) + ' → ' + b.at(-1).toFixed(5) + '; max relative difference ' + Math.max(...rel).toExponential(2));
      } catch (e) { console.log(p + ': ' + e.message); }
    }" > "$O/agreement.txt" 2>&1
  cat "$O/agreement.txt"
fi
step 30 node bench/gpu/webgpu-colsum.mjs $([ "$Q" = 1 ] && echo "--quick --reps 2") > "$O/colsum.jsonl"
# SGEMM by the rule in ops.ts (CHARLM_WEBGPU_TUNE=0) against the kernels timed per shape (above, the default on GPUs).
CHARLM_WEBGPU_TUNE=0 benches bench-rule.jsonl seed shakespeare-gpt gpt-tiny
# Kernels without WebGPU's index clamps: the SGEMMs, then training (below) against with them (above).
CHARLM_WEBGPU_ROBUSTNESS=off step 90 node bench/gpu/webgpu-gemm.mjs $GEMM > "$O/gemm-wgsl-unchecked.jsonl"
# Kernels without WebGPU's index clamps (Dawn's disable_robustness: node-gpu.ts) against with them (above).
CHARLM_WEBGPU_ROBUSTNESS=off benches bench-unchecked.jsonl seed shakespeare-gpt gpt-tiny
# The GPT's attention as whole walks (the form before 2026-11-28, CHARLM_WEBGPU_ATTN_PARTS=1) against ranges (above).
CHARLM_WEBGPU_ATTN_PARTS=1 benches bench-attn-whole.jsonl shakespeare-gpt gpt-tiny
# Where a training step's GPU time goes: every kernel timed on the GPU (CHARLM_WEBGPU_PROFILE; one pass per kernel,
# so these runs' own rates are not the figures above), over a short `train` run (clipping, no sampling).
for p in seed shakespeare-gpt; do
  [ -f $K/corpus.txt ] || break
  CHARLM_WEBGPU_PROFILE="$O/profile-$p.md" step 60 node bin/charlm.js train $K/corpus.txt --preset $p --steps $([ "$Q" = 1 ] && echo 2 || echo 12) \
    --log-interval 1000 --eval-interval 100000 --eval-chars 1000 --val-fraction 0.1 --sample-chars 0 --seed 7 --no-cache --quiet \
    --backend webgpu --out "$(mktemp -d)/run" ${SMALL[@]+"${SMALL[@]}"} $(small $p) > /dev/null
done
step 40 node bench/gpu/webgpu-dispatch.mjs --calls $([ "$Q" = 1 ] && echo 2000 || echo 20000) --rounds 3 > "$O/dispatch.txt"
node bench/gpu/webgpu-summary.mjs "$O" > "$O/summary.md" 2>>"$O/log.txt"
pack
cat "$O/summary.md"
