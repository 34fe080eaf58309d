// config.json → a typed ModelConfig, with errors that name the field and the file.
import { ARCHITECTURES, SUPPORTED_MODEL_TYPES, type Activation, type Architecture } from './architectures.ts';

export type ProblemType = 'single_label_classification' | 'regression';

export interface ModelConfig {
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  /** 0 when the architecture has no token types (DistilBERT). */
  typeVocabSize: number;
  layerNormEps: number;
  activation: Activation;
  padTokenId: number;
  numLabels: number;
  problemType: ProblemType;
  /** Index = label id. */
  labelNames: string[];
  /** Train-mode dropout rates; classifier already resolved (a null rate falls back to hidden). */
  dropout: { hidden: number; attention: number; classifier: number };
  initializerRange: number;
}

export class ModelConfigError extends Error {
  constructor(message: string, readonly file: string) {
    super(`${file}: ${message}`);
    this.name = 'ModelConfigError';
  }
}

/** Hugging Face activation names (ACT2FN) → the forms our kernels compute. */
const ACTIVATIONS: Record<string, Activation> = {
  gelu: 'gelu',
  gelu_python: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  relu: 'relu',
  tanh: 'tanh',
};

export function architectureFor(config: ModelConfig): Architecture {
  return ARCHITECTURES[config.modelType];
}

/** `json` is config.json's text or its parsed value. */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  const fail = (message: string): never => {
    throw new ModelConfigError(message, file);
  };
  let raw = json;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('expected a JSON object');
  const obj = raw as Record<string, unknown>;

  const supported = SUPPORTED_MODEL_TYPES.join(', ');
  const modelType = obj.model_type;
  if (typeof modelType !== 'string') return fail(`"model_type" is missing; supported model types: ${supported}`);
  const arch = ARCHITECTURES[modelType];
  if (!arch) return fail(`model_type "${modelType}" is not supported; supported model types: ${supported}`);
  const keys = arch.config;

  const has = (key: string): boolean => obj[key] !== undefined && obj[key] !== null;
  const num = (key: string, check: (v: number) => boolean, what: string, fallback?: number): number => {
    if (!has(key)) return fallback ?? fail(`"${key}" is missing`);
    const v = obj[key];
    if (typeof v !== 'number' || !check(v)) return fail(`"${key}" must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  const positiveInt = (key: string, fallback?: number): number =>
    num(key, (v) => Number.isInteger(v) && v > 0, 'a positive integer', fallback);
  const rate = (key: string, fallback: number): number => num(key, (v) => v >= 0 && v < 1, 'a rate in [0, 1)', fallback);

  const hidden = positiveInt(keys.hidden);
  const heads = positiveInt(keys.heads);
  if (hidden % heads !== 0) fail(`"${keys.hidden}" (${hidden}) is not a multiple of "${keys.heads}" (${heads})`);

  const actName = has(keys.activation) ? obj[keys.activation] : 'gelu';
  const activation = typeof actName === 'string' ? ACTIVATIONS[actName] : undefined;
  if (!activation) {
    fail(`"${keys.activation}" ${JSON.stringify(actName)} is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }

  const layerNormEps = 'fixed' in keys.normEps
    ? keys.normEps.fixed
    : num(keys.normEps.key, (v) => v > 0, 'a positive number', keys.normEps.default);

  const typeVocabSize = keys.typeVocab === null ? 0 : positiveInt(keys.typeVocab, keys.typeVocabDefault);
  const vocabSize = positiveInt('vocab_size');
  const padTokenId = num('pad_token_id', (v) => Number.isInteger(v) && v >= 0 && v < vocabSize, `an id below vocab_size ${vocabSize}`, keys.padTokenDefault);

  const { numLabels, labelNames } = parseLabels(obj, fail);
  let problemType: ProblemType = numLabels === 1 ? 'regression' : 'single_label_classification';
  if (has('problem_type')) {
    const p = obj.problem_type;
    if (p === 'regression' || p === 'single_label_classification') problemType = p;
    else fail(`"problem_type" ${JSON.stringify(p)} is not supported; supported: regression, single_label_classification`);
  }
  if (problemType === 'regression' && numLabels !== 1) fail(`"problem_type" is regression but the model has ${numLabels} labels`);

  const hiddenDropout = rate(keys.hiddenDropout.key, keys.hiddenDropout.default);
  const classifierDefault = keys.classifierDropout.default ?? hiddenDropout;
  return {
    modelType,
    hidden,
    layers: positiveInt(keys.layers),
    heads,
    intermediate: positiveInt(keys.intermediate),
    vocabSize,
    maxPositions: positiveInt('max_position_embeddings', 512),
    typeVocabSize,
    layerNormEps,
    activation: activation!,
    padTokenId,
    numLabels,
    problemType,
    labelNames,
    dropout: {
      hidden: hiddenDropout,
      attention: rate(keys.attentionDropout.key, keys.attentionDropout.default),
      classifier: rate(keys.classifierDropout.key, classifierDefault),
    },
    initializerRange: num('initializer_range', (v) => v > 0, 'a positive number', 0.02),
  };
}

/** num_labels and id2label (Hugging Face's default is two labels, LABEL_0 and LABEL_1). */
function parseLabels(obj: Record<string, unknown>, fail: (message: string) => never): { numLabels: number; labelNames: string[] } {
  let names: string[] | undefined;
  const id2label = obj.id2label;
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) fail('"id2label" must be an object of id → name');
    const entries = Object.entries(id2label as Record<string, unknown>);
    names = new Array<string>(entries.length);
    for (const [id, name] of entries) {
      const i = Number(id);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof name !== 'string' || names[i] !== undefined) {
        fail(`"id2label" must map the ids 0…${entries.length - 1} to names, got ${JSON.stringify(id)}: ${JSON.stringify(name)}`);
      }
      names[i] = name as string;
    }
  }
  const n = obj.num_labels;
  if (n !== undefined && n !== null) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) fail(`"num_labels" must be a positive integer, got ${JSON.stringify(n)}`);
    if (names && names.length !== n) fail(`"num_labels" (${n}) disagrees with "id2label" (${names.length} labels)`);
    names ??= Array.from({ length: n as number }, (_, i) => `LABEL_${i}`);
  }
  names ??= ['LABEL_0', 'LABEL_1'];
  if (names.length === 0) fail('"id2label" is empty');
  return { numLabels: names.length, labelNames: names };
}
