#!/usr/bin/env bash
# Pack the benchmarks and the CLI for the GPU machine, which has no node and fetches nothing: one
# bundled ESM per entry (shaders inlined), the webgpu package's JS with its linux-x64 dawn.node
# (xz), node itself (xz), and an unpack.sh. Extends ../shared/tools/pack-for-gpu-machine.sh with
# the GPU script's entries (adapter check, ratios). bench/gpu.sh calls this; by hand:
#   scripts/pack-for-gpu-machine.sh . OUT_DIR     (OUT_DIR: a git-ignored folder that travels)
# Rehearsed on SwiftShader from a clean copy: bench/gpu.sh rehearse.
set -euo pipefail
proj=$(cd "$1" && pwd); mkdir -p "$2"; out=$(cd "$2" && pwd)
# Inside the checkout, so `esbuild` resolves from its node_modules; not inside node_modules,
# which other worktrees share.
tmp=$(mktemp -d "$proj/.pack-build.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/build.mjs" <<'JS'
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
const [entry, outfile] = process.argv.slice(2);
const raw = { name: 'raw', setup(b) {
  b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: path.resolve(a.resolveDir, a.path.slice(0, -4)), namespace: 'raw' }));
  b.onLoad({ filter: /.*/, namespace: 'raw' }, async (a) => ({ contents: await readFile(a.path, 'utf8'), loader: 'text' }));
  // In one bundle every module shares import.meta.url: a non-entry module's "am I main?" guard must not fire.
  b.onLoad({ filter: /\/bench\/.*\.ts$/ }, async (a) => {
    if (path.resolve(a.path) === path.resolve(entry)) return undefined;
    const src = await readFile(a.path, 'utf8');
    return { contents: src.replace(/import\.meta\.url === pathToFileURL\(process\.argv\[1\]\)\.href/g, 'false'), loader: 'ts' };
  });
} };
await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
  external: ['webgpu'], plugins: [raw], logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
JS
cd "$proj"
for pair in bench/run.ts:bench.mjs src/cli/main.ts:cli.mjs bench/adapter.ts:adapter.mjs bench/ratios.ts:ratios.mjs; do
  node "$tmp/build.mjs" "${pair%%:*}" "$out/${pair##*:}"
done
w="$out/node_modules/webgpu"; mkdir -p "$w/dist"
cp "$proj/node_modules/webgpu/package.json" "$proj/node_modules/webgpu/index.js" "$w/"
[ -f "$out/dawn.node.xz" ] || xz -T2 -6 -c "$proj/node_modules/webgpu/dist/linux-x64/dawn.node" > "$out/dawn.node.xz"
[ -f "$out/node.xz" ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > "$out/node.xz"
cat > "$out/unpack.sh" <<'SH'
# Run from anywhere: unpacks node and dawn.node next to the bundles (once).
set -e; here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/node" ] || { xz -dc "$here/node.xz" > "$here/node" && chmod +x "$here/node"; }
mkdir -p "$here/node_modules/webgpu/dist/linux-x64"
[ -f "$here/node_modules/webgpu/dist/linux-x64/dawn.node" ] || xz -dc "$here/dawn.node.xz" > "$here/node_modules/webgpu/dist/linux-x64/dawn.node"
SH
du -sh "$out"
