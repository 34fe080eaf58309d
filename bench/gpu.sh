#!/usr/bin/env bash
# The prepared GPU run (issue #16): VectorFit Studio's benchmarks on a real GPU beside PyTorch
# eager on the same card, in one call of the device tool, every figure written to $OUT.
#
#   bench/gpu.sh pack        here: bundle node + dawn.node (xz) + the benchmarks into .gpu-pack/
#                            (scripts/pack-for-gpu-machine.sh) and fetch the Vulkan loader .debs
#                            into .gl/ (both git-ignored; ~35 MB together)
#   bench/gpu.sh run         there (device tool: carry [".gpu-pack", ".gl"], command
#                            "bash bench/gpu.sh run", timeout_s 560): install the loader, name the
#                            NVIDIA ICD, check the adapter is the NVIDIA GPU (fail fast if not),
#                            then time ours (kernels, training step, SVD; TF.js beside each),
#                            PyTorch's (bench/torch/step_bench.py), memory, and print the ratios
#   bench/gpu.sh rehearse    here: the same run from a clean copy of what travels, on SwiftShader
#                            at the software-adapter shapes, PyTorch on the CPU (--small)
#
# Files back in $OUT (8 at most come back): summary.txt (one line per figure and the ratios),
# adapter.txt, bench.log, figures.json, torch.log, torch.json, memory.csv.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pack="$root/.gpu-pack"
mode=${1:-}

case "$mode" in
pack)
  set -e
  bash "$root/scripts/pack-for-gpu-machine.sh" "$root" "$pack"
  # The loader packages, as the device notes say (amd64 whatever this machine is).
  mkdir -p "$root/.gl" /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd "$root/.gl" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  du -sh "$pack" "$root/.gl"
  echo 'next: device run with carry [".gpu-pack", ".gl"], command "bash bench/gpu.sh run", timeout_s 560'
  ;;

run)
  software=0; [ "${2:-}" = --software ] && software=1
  out=${OUT:-$root/gpu-out}; mkdir -p "$out"
  summary="$out/summary.txt"; : > "$summary"
  say() { echo "$*" | tee -a "$summary"; }
  [ -f "$pack/unpack.sh" ] || { say "FAILED: $pack is missing: run 'bench/gpu.sh pack' here and carry .gpu-pack"; exit 2; }
  if [ $software = 0 ]; then
    if ! ldconfig -p | grep -q libvulkan.so.1; then
      [ -d "$root/.gl" ] || { say "FAILED: no libvulkan.so.1 and no .gl/ debs carried"; exit 2; }
      for f in "$root"/.gl/*.deb; do dpkg -x "$f" /; done; ldconfig
    fi
    export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
    export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
  fi
  bash "$pack/unpack.sh" || { say "FAILED: unpacking node/dawn.node"; exit 2; }
  node="$pack/node"
  say "# bench/gpu.sh $(date -u +%FT%TZ) on $(hostname)"
  [ $software = 0 ] && nvidia-smi -L | tee -a "$summary"

  # 1. The adapter, first and alone: everything else is worthless on SwiftShader.
  expect=(--expect nvidia); [ $software = 1 ] && expect=()
  if ! timeout 60 "$node" "$pack/adapter.mjs" "${expect[@]}" > "$out/adapter.txt" 2>&1; then
    cat "$out/adapter.txt"
    say "FAILED: the adapter is not the NVIDIA GPU. What is there:"
    { echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; ls -l "${VK_DRIVER_FILES:-/nonexistent}" 2>&1; cat "${VK_DRIVER_FILES:-/nonexistent}" 2>&1;
      ldconfig -p | grep -Ei 'vulkan|nvidia' | head -20; ls /usr/local/nvidia/lib64 2>&1 | grep -i vulkan; } | tee -a "$out/adapter.txt"
    say "PyTorch's figures still follow (the anchor for the next try)."
    PYTHONUNBUFFERED=1 timeout 200 python3 "$root/bench/torch/step_bench.py" --out "$out/torch.json" 2>&1 | tee "$out/torch.log"
    exit 3
  fi
  grep -E '^(adapter|device|features):' "$out/adapter.txt" | tee -a "$summary"

  # 2. Ours: kernels, training step, SVD (TF.js on the same device beside each); GPU memory
  # sampled meanwhile (the card's used memory, so the baseline is read first).
  sampler=
  if [ $software = 0 ]; then
    nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits -lms 250 > "$out/memory.csv" 2>&1 & sampler=$!
  fi
  peak=(); [ $software = 0 ] && peak=(--peak-tflops 67)
  # On the GPU the whole of ours takes a few minutes at most; SwiftShader needs far longer. The
  # limits keep ours + PyTorch's inside the device call's 560 s with the unpacking; figures.json
  # is written as figures come, so a run cut short still brings back what it measured.
  limit=330; [ $software = 1 ] && limit=7200
  timeout $limit "$node" "$pack/bench.mjs" --json "$out/figures.json" "${peak[@]}" ${GPU_BENCH_ONLY:+--only "$GPU_BENCH_ONLY"} 2>&1 | tee "$out/bench.log"
  status=${PIPESTATUS[0]}
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  [ "$status" = 0 ] || say "FAILED: npm run bench exited $status (see bench.log; figures so far are in it)"

  # 3. PyTorch eager on the same card, CUDA fp32 with TF32 off (the CPU and --small when rehearsing).
  small=(); [ $software = 1 ] && small=(--small --device cpu --repeats 2)
  PYTHONUNBUFFERED=1 timeout 150 python3 "$root/bench/torch/step_bench.py" --out "$out/torch.json" "${small[@]}" 2>&1 | tee "$out/torch.log"

  # 4. One line per figure, and the ratios.
  {
    echo "## ours (npm run bench)"
    grep -v XDG_RUNTIME_DIR "$out/bench.log" || true
    echo "## PyTorch (bench/torch/step_bench.py)"
    grep -vE '^figures written' "$out/torch.log" || true
    if [ -s "$out/memory.csv" ]; then
      awk -F', ' 'NR == 1 { base = $2 } $2 > max { max = $2 } END { printf "memory: GPU memory used peaked at %d MiB (%d MiB before ours started; nvidia-smi, whole card)\n", max, base }' "$out/memory.csv"
    fi
  } | tee -a "$summary"
  if [ -s "$out/figures.json" ] && [ -s "$out/torch.json" ]; then
    "$node" "$pack/ratios.mjs" "$out/figures.json" "$out/torch.json" 2>&1 | tee -a "$summary"
  else
    say "no ratios: figures.json or torch.json is missing"
  fi
  [ "$status" = 0 ]
  ;;

rehearse)
  set -e
  [ -f "$pack/bench.mjs" ] || bash "$root/scripts/pack-for-gpu-machine.sh" "$root" "$pack"
  clean=$(mktemp -d /tmp/gpu-rehearsal.XXXXXX)
  # What travels: the tracked script and step_bench.py, and the carried pack (not .gl: its
  # packages unpack into / and belong on the GPU machine only). No node_modules, no node on PATH.
  mkdir -p "$clean/bench/torch"
  cp "$root/bench/gpu.sh" "$clean/bench/"; cp "$root/bench/torch/step_bench.py" "$clean/bench/torch/"
  cp -r "$pack" "$clean/.gpu-pack"; rm -f "$clean/.gpu-pack/node" "$clean/.gpu-pack/node_modules/webgpu/dist/linux-x64/dawn.node"
  echo "rehearsing in $clean"
  (cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp OUT="$clean/out" GPU_BENCH_ONLY="${GPU_BENCH_ONLY:-}" bash "$clean/bench/gpu.sh" run --software)
  ls -l "$clean/out"
  ;;

*)
  sed -n '2,20p' "$0"; exit 2 ;;
esac
