// A causal LM goes with causal-LM data and an encoder with labelled data: a mismatch is refused
// with the reason, and only a causal LM's folder yields a causal-LM reader.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { DEMO_MODEL } from '../model/test-folders.ts';
import { causalLmReader, loadModel, TaskMismatchError } from './load.ts';

const DEMO_LLM = join(import.meta.dirname, '../../public/demo-llm');

it('refuses classification data for a causal LM and causal-LM data for a classifier', async () => {
  const llm = await readModelDir(DEMO_LLM);
  const bert = await readModelDir(DEMO_MODEL);
  await expect(loadModel(llm, { task: 'classification', labelNames: ['a', 'b'] }, 0)).rejects.toThrow(TaskMismatchError);
  await expect(loadModel(llm, { task: 'classification', labelNames: ['a', 'b'] }, 0)).rejects.toThrow(
    'config.json: llama is a causal language model; it trains on "text", "prompt" + "completion" or "messages" rows, not a classification dataset',
  );
  await expect(loadModel(bert, { task: 'causal-lm', labelNames: [] }, 0)).rejects.toThrow('config.json: bert is not a causal language model');
  expect(causalLmReader(bert)).toBeUndefined();
  expect(causalLmReader(llm)).toBeTypeOf('function');
});
