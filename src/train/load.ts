// From dropped files to everything a run needs on the CPU: the model folder, its config adapted
// to the dataset's task, the weights (a missing or mismatched head initialised as Hugging Face does), the
// layout, and what turns examples into the model's input: the tokenizer of a text model, the image
// processor (preprocessor_config.json) of an image model.
import { buildCausalLmExamples, causalLmDatasetExamples, type CausalLmFormat } from '../io/causal-lm-data.ts';
import type { Table } from '../io/dataset.ts';
import { readModelFolder, TOKENIZER_FILES } from '../io/model-folder.ts';
import { createTokenizer, type TextTokenizer } from '../io/tokenizer.ts';
import { taskOf } from '../model/architectures.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from '../model/config.ts';
import type { HeadTask } from '../model/task.ts';
import { headNote, initialisedHeadNote, loadWeights, type ModelWeights } from '../model/weights.ts';
import type { Dataset, Example, ModelFiles } from '../io/types.ts';
import { readImageProcessorConfig, type ImageProcessorConfig } from '../io/images/image-processor.ts';
import { unreachable } from '../util/unreachable.ts';

interface LoadedCommon {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
  /** config.json as dropped (the merged export writes it back with the trained labels). */
  rawConfig: Record<string, unknown>;
  /** Number of parameters of the checkpoint's tensors the model uses. */
  totalParameters: number;
  /** SHA-256 of each weights file, so an export names exactly the base it was trained from. */
  weightsSha256: Record<string, string>;
  /** The one line saying that a mismatched head was re-initialised; undefined when it was kept. */
  headNote?: string;
}

/** A model that reads token ids. */
export interface LoadedTextModel extends LoadedCommon {
  input: 'tokens';
  tokenizer: TextTokenizer;
  /** Files copied unchanged into the merged export (tokenizer files). */
  tokenizerFiles: Record<string, ArrayBuffer>;
}

/** A model that reads pixel values (ViT). */
export interface LoadedImageModel extends LoadedCommon {
  input: 'pixels';
  /** preprocessor_config.json: how an image becomes the model's pixel values. */
  imageProcessor: ImageProcessorConfig;
  /** Files copied unchanged into the merged export (preprocessor_config.json). */
  processorFiles: Record<string, ArrayBuffer>;
}

export type LoadedModel = LoadedTextModel | LoadedImageModel;

/** The model as a text model; a clear error for an image model (`what` needs a tokenizer). */
export function textModel(loaded: LoadedModel, what: string): LoadedTextModel {
  switch (loaded.input) {
    case 'tokens':
      return loaded;
    case 'pixels':
      throw new Error(`${loaded.name} is an image model (${loaded.config.modelType}): ${what} needs a text model with a tokenizer`);
    default:
      return unreachable(loaded, 'model input');
  }
}

/** Files the merged export copies unchanged beside the weights and config. */
export function inputFiles(loaded: LoadedModel): Record<string, ArrayBuffer> {
  switch (loaded.input) {
    case 'tokens':
      return loaded.tokenizerFiles;
    case 'pixels':
      return loaded.processorFiles;
    default:
      return unreachable(loaded, 'model input');
  }
}

const PROCESSOR_FILE = 'preprocessor_config.json';

/** preprocessor_config.json beside config.json (by base name, as the tokenizer files); its size
 * must be the config's image size, since the position table has one row per patch. */
function readImageProcessor(files: ModelFiles, config: ModelConfig): { processor: ImageProcessorConfig; files: Record<string, ArrayBuffer> } {
  const path = Object.keys(files.files).find((p) => p.split('/').pop() === PROCESSOR_FILE);
  if (path === undefined) {
    throw new Error(`${files.name}: no ${PROCESSOR_FILE}. An image model (${config.modelType}) needs its image processor's settings (size, resample, mean and std) to read images as it was trained; drop the whole model folder.`);
  }
  const processor = readImageProcessorConfig(files.files[path], path);
  const image = config.image!;
  if (!processor.doResize) throw new Error(`${path}: "do_resize" is false; the model takes ${image.height}×${image.width} images, so they must be resized to it`);
  if (processor.size.height !== image.height || processor.size.width !== image.width) {
    throw new Error(`${path}: "size" is ${processor.size.height}×${processor.size.width}, but config.json's image_size is ${image.height}×${image.width}`);
  }
  return { processor, files: { [PROCESSOR_FILE]: files.files[path] } };
}

/** A causal LM given labelled data, or an encoder given causal-LM rows. */
export class TaskMismatchError extends Error {
  override name = 'TaskMismatchError';
}

export async function loadModel(files: ModelFiles, dataset: Pick<Dataset, 'task' | 'labelNames'>, seed: number): Promise<LoadedModel> {
  const folder = readModelFolder(files);
  // The dataset decides the head: a span head for QA, a token classifier for NER, else a classifier.
  const task = headTaskFor(dataset.task);
  const parsed = parseModelConfig(folder.config, 'config.json', task ? { task } : {});
  // A causal LM's head is its vocabulary: the dataset's labels do not reshape it.
  const causalLm = taskOf(architectureFor(parsed), parsed).loss === 'causal-lm';
  if (causalLm !== (dataset.task === 'causal-lm')) {
    throw new TaskMismatchError(
      causalLm
        ? `config.json: ${parsed.modelType} is a causal language model; it trains on "text", "prompt" + "completion" or "messages" rows, not a ${dataset.task} dataset`
        : `config.json: ${parsed.modelType} is not a causal language model, so it cannot train on causal-LM ("text", "prompt" + "completion" or "messages") data`,
    );
  }
  // A span head has two outputs (start, end) whatever the labels; transformers names them LABEL_0, LABEL_1.
  const labelNames = dataset.task === 'regression' ? ['score'] : dataset.task === 'question-answering' ? ['LABEL_0', 'LABEL_1'] : dataset.labelNames;
  const numLabels = labelNames.length;
  const config: ModelConfig = causalLm ? parsed : {
    ...parsed,
    numLabels,
    problemType: dataset.task === 'regression' ? 'regression' : 'single_label_classification',
    labelNames,
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
      ) ?? initialisedHeadNote(weights, checkpointClass(folder.config));
  let totalParameters = 0;
  for (const t of weights.tensors.values()) totalParameters += t.data.length;
  const weightsSha256: Record<string, string> = {};
  for (const [path, bytes] of Object.entries(files.files)) {
    if (!path.endsWith('.safetensors')) continue;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    weightsSha256[path.split('/').pop()!] = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  const common: LoadedCommon = { name: folder.name, config, weights, rawConfig: folder.config, totalParameters, weightsSha256, headNote: note };
  const { embeddings } = weights.layout;
  switch (embeddings.kind) {
    case 'tokens': {
      const tokenizerFiles: Record<string, ArrayBuffer> = {};
      for (const [path, bytes] of Object.entries(files.files)) {
        const base = path.split('/').pop()!;
        if (TOKENIZER_FILES.includes(base)) tokenizerFiles[base] = bytes;
      }
      return { ...common, input: 'tokens', tokenizer: createTokenizer(folder.tokenizer), tokenizerFiles };
    }
    case 'patches': {
      const { processor, files: processorFiles } = readImageProcessor(files, config);
      return { ...common, input: 'pixels', imageProcessor: processor, processorFiles };
    }
    default:
      return unreachable(embeddings, 'embeddings kind');
  }
}

/** The class config.json's `architectures` names first, if any (what the checkpoint was saved as). */
function checkpointClass(config: Record<string, unknown>): string | undefined {
  const classes = config.architectures;
  return Array.isArray(classes) && typeof classes[0] === 'string' ? classes[0] : undefined;
}

/** The head a dataset's task trains (none for a causal LM: its head is the vocabulary). */
export function headTaskFor(task: Dataset['task']): HeadTask | undefined {
  switch (task) {
    case 'classification':
    case 'regression':
      return 'sequence-classification';
    case 'question-answering':
      return 'question-answering';
    case 'token-classification':
      return 'token-classification';
    case 'causal-lm':
      return undefined;
    default:
      return unreachable(task, 'task');
  }
}

/** Causal-LM rows of one file, as Dataset examples, and what the reading cut or dropped. */
export interface CausalLmRows {
  format: CausalLmFormat;
  examples: Example[];
  truncated: number;
  droppedNoLoss: number[];
}

/** maxLength absent: the model's max_position_embeddings (the trainer cuts rows to its own maxLength). */
export type CausalLmReader = (table: Table, fileName: string, maxLength?: number) => CausalLmRows;

/** For a causal-LM model folder, a reader of parsed tables (`text`, `prompt` + `completion` or
 * `messages` rows) into token ids and labels with the folder's tokenizer and chat template;
 * undefined for any other model, whose data stays text + label. */
export function causalLmReader(files: ModelFiles): CausalLmReader | undefined {
  const folder = readModelFolder(files);
  const config = parseModelConfig(folder.config, 'config.json');
  if (taskOf(architectureFor(config), config).loss !== 'causal-lm') return undefined;
  const tokenizer = createTokenizer(folder.tokenizer);
  const tokenizerConfig = { ...folder.tokenizer.specialTokensMap, ...folder.tokenizer.tokenizerConfig };
  return (table, fileName, maxLength = config.maxPositions) => {
    const built = buildCausalLmExamples(table, fileName, tokenizer, { maxLength, tokenizerConfig });
    return { format: built.format, examples: causalLmDatasetExamples(built), truncated: built.truncated, droppedNoLoss: built.droppedNoLoss };
  };
}
