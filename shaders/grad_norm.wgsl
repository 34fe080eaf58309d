// The global L2 norm of the gradients of every trainable, unfrozen vector, and the factor that
// clips it to maxNorm as torch.nn.utils.clip_grad_norm_ does: min(1, maxNorm / (norm + 1e-6)).
// Frozen vectors count as PyTorch parameters without a gradient. One workgroup over the whole
// flat buffer: the trained vectors are small (Σ and biases), and one fixed order of additions
// gives the same norm on every run. Prepended with a reduction library (kernels/reduction.ts).

const WG = 256u;

struct Dims {
  numel: u32,
  /** 0: report the norm only, and leave the gradients unscaled (factor exactly 1). */
  clips: u32,
  maxNorm: f32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read> vectorIndex: array<u32>;
@group(0) @binding(3) var<storage, read> frozen: array<u32>;
// [factor, norm]: AdamW scales every gradient by the factor.
@group(0) @binding(4) var<storage, read_write> clip: array<f32>;

@compute @workgroup_size(WG)
fn main(lane: Lane) {
  var sum = 0.0;
  for (var i = lane.index; i < dims.numel; i += WG) {
    if (frozen[vectorIndex[i]] == 0u) {
      let g = grads[i];
      sum = fma(g, g, sum);
    }
  }
  let total = workgroupSum(vec2f(sum, 0.0), lane).x;
  if (lane.index == 0u) {
    let norm = sqrt(total);
    clip[0] = select(1.0, min(1.0, dims.maxNorm / (norm + 1e-6)), dims.clips != 0u);
    clip[1] = norm;
  }
}
