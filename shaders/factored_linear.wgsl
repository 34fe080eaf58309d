// Column reductions for the factored linear y = U(Σ ⊙ Vᵀx) + b (its products run through
// matmul.wgsl; kernels/factored_linear.ts composes them):
//   out[j] (+)= Σ_i a[i,j]          bias gradients (db = Σ_tokens g)
//   out[j] (+)= Σ_i a[i,j]·b[i,j]   singular-value gradients (dΣ = Σ_tokens h ⊙ t)
// Rows (tokens) run to thousands while columns are 768…3072. `partialColumnSums` gives each
// workgroup 64 columns × one chunk of 256 rows: its 4 row lanes stride through the chunk reading
// 256-byte row segments (coalesced) and meet in workgroup memory. With several chunks each
// writes a partial row and `finishColumnSums` adds the partials: rows/256 times more workgroups
// than one pass over all rows, which a 100+-SM GPU needs at 768 columns (12 column blocks).

override PRODUCT: bool = false;
override ACCUMULATE: bool = false;

struct Dims {
  rows: u32,
  cols: u32,
  chunks: u32,
}

// Bindings 0…2 are shared by both entry points (their 'auto' layouts must start at 0).
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>; // partials [chunks, cols] or out
@group(0) @binding(2) var<storage, read> src: array<f32>;       // a, or the partials
@group(0) @binding(3) var<storage, read> srcB: array<f32>;      // b (PRODUCT only)

const COLS = 64u;
const LANES = 4u;
const CHUNK_ROWS = 256u;
var<workgroup> laneSums: array<f32, 256>; // [LANES][COLS]

@compute @workgroup_size(64, 4)
fn partialColumnSums(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let col = wg.x * COLS + lid.x;
  let rowEnd = min(dims.rows, (wg.y + 1u) * CHUNK_ROWS);
  var s = 0.0;
  if (col < dims.cols) {
    for (var row = wg.y * CHUNK_ROWS + lid.y; row < rowEnd; row += LANES) {
      let i = row * dims.cols + col;
      if (PRODUCT) { s = fma(src[i], srcB[i], s); } else { s += src[i]; }
    }
  }
  laneSums[lid.y * COLS + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && col < dims.cols) {
    let total = (laneSums[lid.x] + laneSums[COLS + lid.x]) + (laneSums[2u * COLS + lid.x] + laneSums[3u * COLS + lid.x]);
    let o = wg.y * dims.cols + col;
    if (ACCUMULATE) { dst[o] += total; } else { dst[o] = total; }
  }
}

@compute @workgroup_size(256)
fn finishColumnSums(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= dims.cols) { return; }
  var s = 0.0;
  for (var c = 0u; c < dims.chunks; c++) {
    s += src[c * dims.cols + col];
  }
  if (ACCUMULATE) { dst[col] += s; } else { dst[col] = s; }
}
