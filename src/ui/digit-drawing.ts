// Where a digit drawn on the playground's canvas goes in the picture the model sees. MNIST's digits
// were made this way: the strokes' bounding box scaled, keeping its aspect, to fit a 20×20 box,
// then placed in a 28×28 frame so that their centre of mass is the frame's centre. A model
// trained on them reads a small digit in a corner poorly; the same placement makes a drawing
// look like the training data. The image processor then resizes the frame to the model's size.

/** Where drawImage should copy the drawing: source rectangle s*, destination rectangle d*. */
export interface Placement {
  sx: number;
  sy: number;
  sw: number;
  sh: number;
  dx: number;
  dy: number;
  dw: number;
  dh: number;
}

/** MNIST's box (20) in its frame (28). */
export const MNIST_BOX = 20 / 28;

/**
 * The placement of the strokes of `ink` (one intensity per pixel, row-major, `width` × `height`;
 * 0 is background) in a `frame` × `frame` picture, or null for an empty drawing.
 */
export function placeDigit(ink: ArrayLike<number>, width: number, height: number, frame: number, box = MNIST_BOX): Placement | null {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = ink[y * width + x];
      if (v <= 0) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  if (mass === 0) return null;
  const [sw, sh] = [x1 - x0 + 1, y1 - y0 + 1];
  const scale = (box * frame) / Math.max(sw, sh);
  const [dw, dh] = [sw * scale, sh * scale];
  // The centre of mass, carried into the frame by the same scale, lands on the frame's centre.
  const dx = frame / 2 - (mx / mass - x0) * scale;
  const dy = frame / 2 - (my / mass - y0) * scale;
  return { sx: x0, sy: y0, sw, sh, dx, dy, dw, dh };
}
