// The trainer end to end on the tiny DeBERTa-v3 (../shared/fixtures/hf-tiny/deberta-v3), from a
// folder that ships spm.model instead of tokenizer.json (as the official DeBERTa-v3 repositories
// do), with dropout on (the relative embeddings take it too): the loss falls, and the merged
// export is a DebertaV2ForSequenceClassification folder under the checkpoint's own key names
// that gives the trained model's logits when loaded back.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { spmModelOf, DEBERTA_TOKENIZER_JSON } from '../io/test-spm.ts';
import type { Dataset, Example, ModelFiles } from '../io/types.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from './defaults.ts';
import { buildExport } from './exports.ts';
import { textModel } from './load.ts';
import { Trainer } from './trainer.ts';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/deberta-v3');

async function spmFolder(): Promise<{ files: ModelFiles; dataset: Dataset }> {
  const files = await readModelDir(FIXTURE);
  delete files.files['tokenizer.json'];
  const spm = spmModelOf(DEBERTA_TOKENIZER_JSON);
  files.files['spm.model'] = spm.buffer.slice(spm.byteOffset, spm.byteOffset + spm.byteLength) as ArrayBuffer;
  const config = JSON.parse(new TextDecoder().decode(files.files['config.json']));
  Object.assign(config, { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });
  files.files['config.json'] = new TextEncoder().encode(JSON.stringify(config)).buffer as ArrayBuffer;
  const rows = (await readFile(join(FIXTURE, 'data.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Example);
  return { files, dataset: { task: 'classification', labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'], train: rows, validation: rows.slice(0, 6), name: 'hf-tiny' } };
}

const trainConfig = (epochs: number) => defaultConfig(12, { batchSize: 4, epochs, lr: 1e-2, lrSchedule: 'linear', seed: 7, maxLength: 32 });

describe('VectorFit trainer on a tiny DeBERTa-v3 folder with spm.model', () => {
  it('lowers the loss, and its merged export loads as DebertaV2ForSequenceClassification with the trained logits', async () => {
    const { files, dataset } = await spmFolder();
    const t = await Trainer.create({ gpu: await testGpu(), files, dataset, config: trainConfig(10), emit: () => {} });
    // The spm.model tokenizer gives the ids transformers gave with the fixture's tokenizer.json.
    const ref = JSON.parse(await readFile(join(FIXTURE, 'ref-batch.json'), 'utf8')) as { input_ids: number[][] };
    const batch = textModel(t.loaded, 'the test').tokenizer.encodeBatch(dataset.train, { maxLength: 64 });
    expect(Array.from({ length: batch.batch }, (_, b) => Array.from(batch.inputIds.subarray(b * batch.seq, (b + 1) * batch.seq)))).toEqual(ref.input_ids);
    await t.train(() => false);
    const losses = t.log.flatMap((r) => (r.type === 'step' ? [r.loss] : []));
    expect(losses).toHaveLength(30);
    expect((losses[27] + losses[28] + losses[29]) / 3).toBeLessThan(0.8 * ((losses[0] + losses[1] + losses[2]) / 3));

    const merged = await buildExport(t, 'merged');
    const byName = Object.fromEntries(merged.map((f) => [f.name, f.bytes]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['model.safetensors', 'config.json', 'spm.model', 'tokenizer_config.json']));
    expect(JSON.parse(new TextDecoder().decode(byName['config.json']))).toMatchObject({ architectures: ['DebertaV2ForSequenceClassification'], model_type: 'deberta-v2', num_labels: 3 });
    const keys = (bytes: ArrayBuffer) => [...readSafetensors(bytes, 'model.safetensors').tensors.keys()].sort();
    expect(keys(byName['model.safetensors'])).toEqual(keys((await readModelDir(FIXTURE)).files['model.safetensors']));

    const reloaded = await Trainer.create({ gpu: await testGpu(), files: { name: 'merged', files: byName }, dataset, config: trainConfig(1), emit: () => {} });
    const a = await t.logits(dataset.train);
    const b = await reloaded.logits(dataset.train);
    // W' = U·diag(Σ)·Vᵀ is recomposed and factored again in fp32: ~1e-6 relative per weight.
    const scale = Math.max(...Array.from(a, Math.abs));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `logit ${i}`).toBeLessThan(1e-4 * scale);
  });
});
