// Float64 reference for shaders/svd.wgsl (same op name as kernels/svd.ts): thin SVD by
// one-sided (Hestenes) Jacobi, which reaches full float64 relative accuracy on every singular
// value, small ones included.

export interface SvdResult {
  /** rows×r, row-major, orthonormal columns. */
  u: Float64Array;
  /** r singular values, descending, ≥ 0. */
  s: Float64Array;
  /** cols×r, row-major, orthonormal columns. */
  v: Float64Array;
}

const EPS = 2 ** -52;
const MAX_SWEEPS = 60;

/** Thin SVD of the row-major rows×cols matrix a: a = u·diag(s)·vᵀ with r = min(rows, cols). */
export function svd(a: Float64Array, rows: number, cols: number): SvdResult {
  if (a.length !== rows * cols) throw new Error(`svd: ${a.length} values for ${rows}×${cols}`);
  if (rows >= cols) return jacobi(a, rows, cols, false);
  // Wide: aᵀ = u'·s·v'ᵀ, so a = v'·s·u'ᵀ; orthogonalising the r = rows columns of aᵀ is cheaper.
  const t = jacobi(a, cols, rows, true);
  return { u: t.v, s: t.s, v: t.u };
}

/**
 * Orthogonalises the n columns of the m×n matrix (m ≥ n) given row-major in `a`, or its
 * transpose when `transposed` (then `a` is n×m row-major). Columns are kept contiguous.
 */
function jacobi(a: Float64Array, m: number, n: number, transposed: boolean): SvdResult {
  const g = new Float64Array(m * n); // column j at g[j·m …]
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) g[j * m + i] = transposed ? a[j * m + i] : a[i * n + j];
  const w = new Float64Array(n * n); // accumulated rotations, column j at w[j·n …]
  for (let j = 0; j < n; j++) w[j * n + j] = 1;
  // A pair is orthogonal enough once |cos| ≤ m·ε: further rotations change nothing at float64.
  const tol = Math.max(m, 1) * EPS;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const po = p * m;
        const qo = q * m;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = g[po + i];
          const y = g[qo + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // Rutishauser's rotation: the smaller-angle root of t² + 2ζt − 1 = 0.
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(g, po, qo, m, c, s);
        rotate(w, p * n, q * n, n, c, s);
      }
    }
    if (!rotated) break;
  }
  const sigma = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += g[j * m + i] ** 2;
    sigma[j] = Math.sqrt(sum);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => sigma[y] - sigma[x]);
  const u = new Float64Array(m * n);
  const v = new Float64Array(n * n);
  const s = new Float64Array(n);
  // A column whose norm is at rounding level has no reliable direction: replace it by an
  // orthonormal completion (changes the reconstruction by at most that norm).
  const negligible = (sigma[order[0]] ?? 0) * m * EPS;
  order.forEach((j, k) => {
    s[k] = sigma[j];
    for (let i = 0; i < n; i++) v[i * n + k] = w[j * n + i];
    if (sigma[j] > negligible) for (let i = 0; i < m; i++) u[i * n + k] = g[j * m + i] / sigma[j];
  });
  for (let k = 0; k < n; k++) if (!(sigma[order[k]] > negligible)) completeColumn(u, m, n, k);
  return { u, s, v };
}

function rotate(x: Float64Array, po: number, qo: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const xp = x[po + i];
    const xq = x[qo + i];
    x[po + i] = c * xp - s * xq;
    x[qo + i] = s * xp + c * xq;
  }
}

/** Fills column k of the row-major m×n matrix u with a unit vector orthogonal to its other columns. */
function completeColumn(u: Float64Array, m: number, n: number, k: number): void {
  const col = new Float64Array(m);
  let best = new Float64Array(m);
  let bestNorm = 0;
  // Some basis vector e keeps a residual ≥ 1/√m after projection (the residuals' squares sum to
  // m − (n − 1) ≥ 1); take the first clearly good one, else the best.
  for (let e = 0; e < m && bestNorm <= 0.5; e++) {
    col.fill(0);
    col[e] = 1;
    // Twice Gram–Schmidt against the other columns keeps it orthogonal to rounding.
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < n; j++) {
        if (j === k) continue;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += u[i * n + j] * col[i];
        for (let i = 0; i < m; i++) col[i] -= dot * u[i * n + j];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += col[i] * col[i];
    norm = Math.sqrt(norm);
    if (norm > bestNorm) {
      bestNorm = norm;
      best = Float64Array.from(col);
    }
  }
  for (let i = 0; i < m; i++) u[i * n + k] = best[i] / bestNorm;
}
