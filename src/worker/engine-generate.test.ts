// Generation through the engine protocol on the demo LLM after a short run: token events stream
// base and fine-tuned text, and the run's vectors export given to `vectorfit generate --vectors`
// gives the same fine-tuned text (the whole chain: trained Σ → export → reload → KV-cached decode).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { parseTable } from '../io/dataset.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from '../train/defaults.ts';
import { causalLmReader } from '../train/load.ts';
import { Engine } from './engine.ts';
import type { EngineEvent } from './protocol.ts';

const ROOT = join(import.meta.dirname, '../..');
const DEMO_LLM = join(ROOT, 'public/demo-llm');
const PROMPT = 'Review: a gorgeous , witty , seductive movie . Sentiment:';

it('streams base and fine-tuned generations, and the exported vectors reproduce the fine-tuned one in the CLI', async () => {
  const events: EngineEvent[] = [];
  const engine = new Engine({ acquireGpu: testGpu, store: { save: async () => {}, load: async () => null }, post: (e) => events.push(e) });
  const files = await readModelDir(DEMO_LLM);
  const name = 'sst2-causal-train-512.jsonl';
  const bytes = await readFile(join(DEMO_LLM, name));
  const rows = causalLmReader(files)!(await parseTable(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name), name).examples;
  await engine.handle({
    type: 'load', model: files,
    dataset: { task: 'causal-lm', labelNames: [], train: rows.slice(0, 16), validation: [], name },
    config: defaultConfig(16, { variant: 'sigma', epochs: 1, batchSize: 4, lr: 0.05, lrSchedule: 'constant', maxLength: 64 }),
  });
  await engine.handle({ type: 'start' });
  for (let i = 0; i < 600 && !events.some((e) => e.type === 'state' && e.state === 'finished'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(events.filter((e) => e.type === 'error')).toEqual([]);

  await engine.handle({ type: 'generate', id: 1, prompt: PROMPT, settings: { maxNewTokens: 8, temperature: 0, topP: 1, seed: 0 } });
  const text = (side: string) => events.flatMap((e) => (e.type === 'token' && e.id === 1 && e.side === side ? [e.text] : [])).join('');
  const done = events.filter((e) => e.type === 'generated' && e.id === 1);
  expect(done.map((e) => e.type === 'generated' && e.side).sort()).toEqual(['base', 'tuned']);
  expect(text('tuned').length).toBeGreaterThan(0);
  // Four steps at lr 0.05 move Σ enough to change the greedy continuation.
  expect(text('tuned')).not.toBe(text('base'));

  await engine.handle({ type: 'export', kind: 'vectors' });
  const exported = events.find((e) => e.type === 'export');
  const dir = mkdtempSync(join(tmpdir(), 'vectorfit-lm-vectors-'));
  for (const f of exported!.type === 'export' ? exported!.files : []) writeFileSync(join(dir, f.name), new Uint8Array(f.bytes));
  const run = (vectors?: string) => spawnSync(process.execPath, [
    '--import', './scripts/register-raw.mjs', 'src/cli/main.ts', 'generate', '--model', DEMO_LLM, '--prompt', PROMPT, '--max-new-tokens', '8', ...(vectors ? ['--vectors', vectors] : []),
  ], { cwd: ROOT, encoding: 'utf8' });
  const tuned = run(dir);
  expect(tuned.status, tuned.stderr).toBe(0);
  expect(tuned.stdout).toBe(`${text('tuned')}\n`);
  const base = run();
  expect(base.stdout).toBe(`${text('base')}\n`);
});
