// From dropped files to everything a run needs on the CPU: the model folder, its config adapted
// to the dataset's task, the weights (a missing or mismatched head initialised as Hugging Face does), the
// layout and the tokenizer.
import { readModelFolder } from '../io/model-folder.ts';
import { createTokenizer, type TextTokenizer } from '../io/tokenizer.ts';
import { taskOf } from '../model/architectures.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from '../model/config.ts';
import { headNote, loadWeights, type ModelWeights } from '../model/weights.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';

export interface LoadedModel {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
  tokenizer: TextTokenizer;
  /** config.json as dropped (the merged export writes it back with the trained labels). */
  rawConfig: Record<string, unknown>;
  /** Files copied unchanged into the merged export (tokenizer files). */
  tokenizerFiles: Record<string, ArrayBuffer>;
  /** Number of parameters of the checkpoint's tensors the model uses. */
  totalParameters: number;
  /** SHA-256 of each weights file, so an export names exactly the base it was trained from. */
  weightsSha256: Record<string, string>;
  /** The one line saying that a mismatched head was re-initialised; undefined when it was kept. */
  headNote?: string;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];

export async function loadModel(files: ModelFiles, dataset: Pick<Dataset, 'task' | 'labelNames'>, seed: number): Promise<LoadedModel> {
  const folder = readModelFolder(files);
  const parsed = parseModelConfig(folder.config, 'config.json');
  // A causal LM's head is its vocabulary: the dataset's labels do not reshape it.
  const causalLm = taskOf(architectureFor(parsed), parsed).loss === 'causal-lm';
  const numLabels = dataset.task === 'regression' ? 1 : dataset.labelNames.length;
  const config: ModelConfig = causalLm ? parsed : {
    ...parsed,
    numLabels,
    problemType: dataset.task === 'regression' ? 'regression' : 'single_label_classification',
    labelNames: dataset.task === 'regression' ? ['score'] : dataset.labelNames,
  };
  const arch = architectureFor(config);
  const weights = loadWeights(config, arch, folder.tensors, seed);
  // A causal LM's head is its vocabulary: there is no label count to mismatch.
  const note = causalLm
    ? undefined
    : headNote(
        weights,
        { numLabels: parsed.numLabels, regression: parsed.problemType === 'regression' },
        { numLabels, regression: dataset.task === 'regression' },
      );
  const tokenizerFiles: Record<string, ArrayBuffer> = {};
  for (const [path, bytes] of Object.entries(files.files)) {
    const base = path.split('/').pop()!;
    if (TOKENIZER_FILES.includes(base)) tokenizerFiles[base] = bytes;
  }
  let totalParameters = 0;
  for (const t of weights.tensors.values()) totalParameters += t.data.length;
  const weightsSha256: Record<string, string> = {};
  for (const [path, bytes] of Object.entries(files.files)) {
    if (!path.endsWith('.safetensors')) continue;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    weightsSha256[path.split('/').pop()!] = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return {
    name: folder.name,
    config,
    weights,
    tokenizer: createTokenizer(folder.tokenizer),
    rawConfig: folder.config,
    tokenizerFiles,
    totalParameters,
    weightsSha256,
    headNote: note,
  };
}
