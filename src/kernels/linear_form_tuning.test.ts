import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { GpuModel, measuredForms } from '../model/gpu-model.ts';
import { HF_TINY } from '../model/test-folders.ts';
import { testGpu } from '../test/gpu.ts';
import { loadModel } from '../train/load.ts';
import { chooseLinearForm } from './linear_forms.ts';
import { linearShapeKey, measureLinearForms } from './linear_form_tuning.ts';

describe('measuring the linear forms', () => {
  it('times both forms once per distinct shape and keeps the faster', async () => {
    const gpu = await testGpu();
    const a = { dIn: 16, dOut: 24, tokens: 20, needsSigmaGrad: true };
    const b = { dIn: 24, dOut: 16, tokens: 20, needsSigmaGrad: false };
    // The products' kernels are measured first; here among the software kernel alone (fast).
    const measured = await measureLinearForms(gpu, [a, b, { ...a }], { repeats: 1, tuning: { candidates: ['direct'] } });
    expect([...measured.keys()]).toEqual([linearShapeKey(a), linearShapeKey(b)]);
    for (const m of measured.values()) {
      expect(m.factoredSeconds).toBeGreaterThan(0);
      expect(m.recomposedSeconds).toBeGreaterThan(0);
      expect(m.form).toBe(m.recomposedSeconds! < m.factoredSeconds! ? 'recomposed' : 'factored');
    }
  });

  it('leaves a shape too large to measure beside the model to the FLOP count', async () => {
    const gpu = await testGpu();
    const shape = { dIn: 64, dOut: 256, tokens: 512, needsSigmaGrad: true };
    const [m] = (await measureLinearForms(gpu, [shape], { maxBytes: 1 << 16 })).values();
    expect(m).toEqual({ shape, form: chooseLinearForm(64, 256, 512, true).form });
  });
});

it('builds each module in the form measured for its shape', async () => {
  const dir = join(HF_TINY, 'bert');
  const loaded = await loadModel(await readModelDir(dir), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
  const gpu = await testGpu();
  const { layout } = loaded.weights;
  const shape = { maxBatch: 2, maxSeq: 8, trains: () => true };
  // Software adapters measure nothing: the FLOP count decides there.
  expect(await GpuModel.measureLinearForms(gpu, layout, shape)).toEqual([]);
  const attention = layout.layers[0].modules.find((m) => m.kind === 'q')!;
  const ffn = layout.layers[0].modules.find((m) => m.kind === 'f1')!;
  const key = (m: typeof ffn) => linearShapeKey({ dIn: m.dIn, dOut: m.dOut, tokens: 16, needsSigmaGrad: true });
  expect(key(attention)).not.toBe(key(ffn));
  for (const [q, f] of [['recomposed', 'factored'], ['factored', 'recomposed']] as const) {
    const forms = measuredForms([
      { shape: { dIn: attention.dIn, dOut: attention.dOut, tokens: 16, needsSigmaGrad: true }, form: q },
      { shape: { dIn: ffn.dIn, dOut: ffn.dOut, tokens: 16, needsSigmaGrad: true }, form: f },
    ]);
    const model = await GpuModel.create(gpu.device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, { ...shape, factorOn: 'cpu', linearForms: forms });
    const built = model.linearForms;
    for (const l of layout.layers) {
      for (const m of l.modules) {
        const expected = m.dIn === attention.dIn && m.dOut === attention.dOut ? q : m.dIn === ffn.dIn && m.dOut === ffn.dOut ? f : chooseLinearForm(m.dIn, m.dOut, 16, true).form;
        expect(built.get(m.path), m.path).toBe(expected);
      }
    }
  }
});
