// A drawn digit is placed as MNIST's are: its bounding box scaled to 20/28 of the frame (aspect
// kept), its centre of mass on the frame's centre.
import { describe, expect, it } from 'vitest';
import { placeDigit } from './digit-drawing.ts';

/** A width × height canvas with the rectangles given (x, y, w, h, intensity) inked. */
function ink(width: number, height: number, rects: [number, number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(width * height);
  for (const [x, y, w, h, v] of rects) for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) out[j * width + i] = v;
  return out;
}

describe('placeDigit', () => {
  it('scales a tall stroke to 20/28 of the frame and centres it', () => {
    // A 10×40 bar at (100, 30) on a 280×280 canvas.
    const p = placeDigit(ink(280, 280, [[100, 30, 10, 40, 255]]), 280, 280, 28)!;
    expect([p.sx, p.sy, p.sw, p.sh]).toEqual([100, 30, 10, 40]);
    expect(p.dh).toBeCloseTo(20, 12);
    expect(p.dw).toBeCloseTo(5, 12);
    // A uniform bar's centre of mass is its middle: it is centred exactly.
    expect(p.dx + p.dw / 2).toBeCloseTo(14, 12);
    expect(p.dy + p.dh / 2).toBeCloseTo(14, 12);
  });

  it('puts the centre of mass, not the box centre, on the frame centre', () => {
    // Two 10×10 squares 30 px apart on the left and right, the right one three times as heavy.
    const p = placeDigit(ink(100, 100, [[10, 40, 10, 10, 50], [50, 40, 10, 10, 150]]), 100, 100, 28)!;
    const scale = 20 / 50;
    // Mass centre x: (15·1 + 55·3)/4 = 45, i.e. 35 px into the 50 px box.
    expect(p.dx).toBeCloseTo(14 - 35 * scale, 12);
    expect(p.dy).toBeCloseTo(14 - 5 * scale, 12);
    expect([p.dw, p.dh]).toEqual([20, 4]);
  });

  it('returns null for an empty canvas', () => {
    expect(placeDigit(new Uint8Array(64), 8, 8, 28)).toBeNull();
  });
});
