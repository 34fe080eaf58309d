// ViT's patch embedding around one matmul: `unfold` cuts [B, C, H, W] pixel values into rows of
// patch·patch·C values (the im2col of a Conv2d whose stride equals its kernel), so the Conv2d is
// the matmul rows × Wᵀ (its weight [hidden, C, p, p] is already [hidden, C·p·p] in memory);
// `tokens` then lays out each image's sequence: the CLS token, then its patches, plus the
// position embeddings. Both are grid-stride copies (consecutive threads, consecutive outputs).

struct UnfoldParams { batch: u32, channels: u32, height: u32, width: u32, side: u32 }

@group(0) @binding(0) var<storage, read> pixels: array<f32>;
@group(0) @binding(1) var<storage, read_write> rows: array<f32>;
@group(0) @binding(2) var<uniform> up: UnfoldParams;

// rows[b·N + gy·cols + gx, c·p² + ky·p + kx] = pixels[b, c, gy·p + ky, gx·p + kx]
@compute @workgroup_size(256)
fn unfold(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let p = up.side;
  let cols = up.width / p;
  let patches = (up.height / p) * cols;
  let k = up.channels * p * p;
  let total = up.batch * patches * k;
  for (var i = gid.x; i < total; i += groups.x * 256u) {
    let row = i / k;
    let j = i - row * k;
    let b = row / patches;
    let n = row - b * patches;
    let gy = n / cols;
    let gx = n - gy * cols;
    let c = j / (p * p);
    let r = j - c * p * p;
    let ky = r / p;
    let kx = r - ky * p;
    rows[i] = pixels[((b * up.channels + c) * up.height + gy * p + ky) * up.width + gx * p + kx];
  }
}

struct TokenParams { batch: u32, patches: u32, dim: u32 }

@group(0) @binding(0) var<storage, read> projected: array<f32>;
@group(0) @binding(1) var<storage, read> cls: array<f32>;
@group(0) @binding(2) var<storage, read> position: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> tp: TokenParams;

// out[b, 0] = cls + position[0]; out[b, 1 + n] = projected[b·N + n] + position[1 + n]
@compute @workgroup_size(256)
fn tokens(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let seq = tp.patches + 1u;
  let total = tp.batch * seq * tp.dim;
  for (var i = gid.x; i < total; i += groups.x * 256u) {
    let token = i / tp.dim;
    let h = i - token * tp.dim;
    let b = token / seq;
    let s = token - b * seq;
    var v: f32;
    if (s == 0u) {
      v = cls[h];
    } else {
      v = projected[(b * tp.patches + s - 1u) * tp.dim + h];
    }
    out[i] = v + position[s * tp.dim + h];
  }
}
