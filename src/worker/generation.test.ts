// The playground's generation on the demo LLM: base and fine-tuned streams side by side, equal
// while Σ is untouched, apart once the live Σ moves (the base stream unchanged), and stoppable.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readTensor } from '../gpu/readback.ts';
import { writeTensor } from '../gpu/tensor.ts';
import { GpuModel } from '../model/gpu-model.ts';
import { testGpu } from '../test/gpu.ts';
import { loadModel, textModel } from '../train/load.ts';
import { PlaygroundGenerator } from './generation.ts';
import type { EngineEvent, GenerateSettings } from './protocol.ts';

const DEMO_LLM = join(import.meta.dirname, '../../public/demo-llm');
const GREEDY: GenerateSettings = { maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 };

async function setup() {
  const { device } = await testGpu();
  const loaded = textModel(await loadModel(await readModelDir(DEMO_LLM), { task: 'causal-lm', labelNames: [] }, 0), 'the test');
  const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 1, maxSeq: 1, trains: () => true, factorOn: 'cpu' });
  return { device, model, loaded, generator: new PlaygroundGenerator(model, loaded.tokenizer, loaded.rawConfig) };
}

async function run(generator: PlaygroundGenerator, settings: GenerateSettings, stopAfter = Infinity) {
  const events: EngineEvent[] = [];
  let tokens = 0;
  await generator.run(7, 'Review: a gorgeous, witty film. Sentiment:', settings, (e) => {
    events.push(e);
    if (e.type === 'token') tokens++;
  }, () => tokens >= stopAfter);
  const text = (side: string) => events.flatMap((e) => (e.type === 'token' && e.side === side ? [e.text] : [])).join('');
  const done = (side: string) => events.find((e) => e.type === 'generated' && e.side === side);
  return { events, base: text('base'), tuned: text('tuned'), baseDone: done('base'), tunedDone: done('tuned') };
}

describe('PlaygroundGenerator', () => {
  it('streams base and tuned in turn, equal before training, apart after, and stops when asked', async () => {
    const { device, model, generator } = await setup();
    const before = await run(generator, GREEDY);
    expect(before.events.filter((e) => e.type === 'token').slice(0, 2).map((e) => e.type === 'token' && e.side)).toEqual(['base', 'tuned']);
    expect(before.base.length).toBeGreaterThan(0);
    expect(before.tuned).toBe(before.base);
    expect(before.baseDone).toMatchObject({ type: 'generated', id: 7 });
    expect((before.baseDone as { stop: string }).stop).toMatch(/^(eos|length)$/);

    // "Training": the live Σ of every module scaled by 0.6; initialTensor keeps the base.
    const params = await readTensor(device, model.paramsTensor);
    writeTensor(device, model.paramsTensor, params.map((v) => v * 0.6));
    const after = await run(generator, { ...GREEDY, maxNewTokens: 12 });
    expect(after.base.startsWith(before.base) || before.base.startsWith(after.base)).toBe(true);
    expect(after.tuned).not.toBe(after.base);

    const stopped = await run(generator, { ...GREEDY, maxNewTokens: 30 }, 2);
    expect(stopped.baseDone).toMatchObject({ stop: 'stopped', tokens: 1 });
    expect(stopped.tunedDone).toMatchObject({ stop: 'stopped', tokens: 1 });
  });

  it('refuses a prompt and length past its cache', async () => {
    const { generator } = await setup();
    await expect(run(generator, { ...GREEDY, maxNewTokens: 200 })).rejects.toThrow(/prompt tokens \+ 200 new ones exceed the decoder's 128/);
  });
});
