// config.json → a typed ModelConfig, with errors that name the field and the file.
import { unreachable } from '../util/unreachable.ts';
import { ARCHITECTURES, SUPPORTED_MODEL_TYPES, type Activation, type Architecture, type BiasRule } from './architectures.ts';
import { ATTENTION_KINDS, GATED_MLP_KINDS, PLAIN_MLP_KINDS, type ModuleKind } from './types.ts';

export type ProblemType = 'single_label_classification' | 'regression';

/** Llama 3's rescaling of the rotary inverse frequencies (rope_type "llama3"). */
export interface Llama3Scaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface RotaryConfig {
  theta: number;
  scaling: Llama3Scaling | null;
}

/** An image model's input: channels × height × width pixel values cut into patch × patch squares. */
export interface ImageConfig {
  height: number;
  width: number;
  patch: number;
  channels: number;
}

export interface ModelConfig {
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); = heads for the BERT family. */
  kvHeads: number;
  /** Width of one attention head; hidden / heads unless the config says otherwise. */
  headDim: number;
  /** Rotary θ and scaling (decoders); null for models with position tables. */
  rope: RotaryConfig | null;
  /** The LM head is the word embedding matrix. */
  tieWordEmbeddings: boolean;
  /** The linears that carry a bias. */
  biases: ModuleKind[];
  intermediate: number;
  /** 0 for an image model. */
  vocabSize: number;
  /** An image model's: 1 + its number of patches (the CLS token first). */
  maxPositions: number;
  /** Image models only. */
  image: ImageConfig | null;
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
  silu: 'silu',
  swish: 'silu',
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
  const decoder = keys.decoder;
  let kvHeads = heads;
  let headDim = hidden / heads;
  let rope: RotaryConfig | null = null;
  let tieWordEmbeddings = false;
  if (decoder) {
    kvHeads = positiveInt('num_key_value_heads', heads);
    if (heads % kvHeads !== 0) fail(`"num_attention_heads" (${heads}) is not a multiple of "num_key_value_heads" (${kvHeads})`);
    if (!has('head_dim') && hidden % heads !== 0) fail(`"${keys.hidden}" (${hidden}) is not a multiple of "${keys.heads}" (${heads}) and "head_dim" is missing`);
    headDim = positiveInt('head_dim', hidden / heads);
    if (headDim % 2 !== 0) fail(`"head_dim" (${headDim}) must be even for rotary embeddings`);
    rope = parseRope(obj, decoder.ropeThetaDefault, fail);
    // Qwen2's sliding-window attention (off in the released Qwen2.5 configs) is not implemented:
    // running it as full attention would silently change the model.
    if (obj.use_sliding_window === true) fail('"use_sliding_window" is true; sliding-window attention is not supported');
    const tie = has('tie_word_embeddings') ? obj.tie_word_embeddings : decoder.tieDefault;
    if (typeof tie !== 'boolean') fail(`"tie_word_embeddings" must be true or false, got ${JSON.stringify(tie)}`);
    tieWordEmbeddings = tie as boolean;
  } else if (hidden % heads !== 0) {
    fail(`"${keys.hidden}" (${hidden}) is not a multiple of "${keys.heads}" (${heads})`);
  }
  const biases = parseBiases(arch.biases, obj, fail);

  const actName = has(keys.activation) ? obj[keys.activation] : 'gelu';
  const activation = typeof actName === 'string' ? ACTIVATIONS[actName] : undefined;
  if (!activation) {
    fail(`"${keys.activation}" ${JSON.stringify(actName)} is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }

  const layerNormEps = 'fixed' in keys.normEps
    ? keys.normEps.fixed
    : num(keys.normEps.key, (v) => v > 0, 'a positive number', keys.normEps.default);

  const typeVocabSize = keys.typeVocab === null ? 0 : positiveInt(keys.typeVocab, keys.typeVocabDefault);
  const image = keys.image && parseImage(obj, keys.image, fail);
  const vocabSize = image ? 0 : positiveInt('vocab_size');
  const padTokenId = image ? 0 : num('pad_token_id', (v) => Number.isInteger(v) && v >= 0 && v < vocabSize, `an id below vocab_size ${vocabSize}`, keys.padTokenDefault);

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
    kvHeads,
    headDim,
    rope,
    tieWordEmbeddings,
    biases,
    intermediate: positiveInt(keys.intermediate),
    vocabSize,
    maxPositions: image ? 1 + (image.height / image.patch) * (image.width / image.patch) : positiveInt('max_position_embeddings', 512),
    image,
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

/** image_size (an int, or [height, width]), patch_size and num_channels; the image must be cut
 * into whole patches, as ViT's Conv2d with stride = kernel = patch leaves no remainder. */
function parseImage(obj: Record<string, unknown>, keys: NonNullable<Architecture['config']['image']>, fail: (message: string) => never): ImageConfig {
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  const pair = (key: string, fallback: number): [number, number] => {
    const v = obj[key] ?? fallback;
    if (positive(v)) return [v as number, v as number];
    if (Array.isArray(v) && v.length === 2 && v.every(positive)) return [v[0] as number, v[1] as number];
    return fail(`"${key}" must be a positive integer or [height, width], got ${JSON.stringify(v)}`);
  };
  const [height, width] = pair(keys.size, keys.defaults.size);
  const [patchH, patchW] = pair(keys.patch, keys.defaults.patch);
  if (patchH !== patchW) fail(`"${keys.patch}" ${JSON.stringify(obj[keys.patch])}: only square patches are supported`);
  const channels = obj[keys.channels] ?? keys.defaults.channels;
  if (!positive(channels)) fail(`"${keys.channels}" must be a positive integer, got ${JSON.stringify(channels)}`);
  if (height % patchH !== 0 || width % patchH !== 0) fail(`"${keys.size}" ${height}×${width} is not a whole number of ${patchH}×${patchH} patches`);
  return { height, width, patch: patchH, channels: channels as number };
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

/** The linears with a bias under the architecture's rule (config flags default to false, as in
 * transformers' LlamaConfig). */
function parseBiases(rule: BiasRule, obj: Record<string, unknown>, fail: (message: string) => never): ModuleKind[] {
  switch (rule.kind) {
    case 'all':
      return [...ATTENTION_KINDS, ...PLAIN_MLP_KINDS, ...GATED_MLP_KINDS];
    case 'fixed':
      return [...rule.modules];
    case 'switch': {
      const v = obj[rule.key] ?? rule.default;
      if (typeof v !== 'boolean') fail(`"${rule.key}" must be true or false, got ${JSON.stringify(v)}`);
      return [...(v ? rule.switched : []), ...rule.always];
    }
    case 'config': {
      const flag = (key: string): boolean => {
        const v = obj[key] ?? false;
        if (typeof v !== 'boolean') fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
        return v as boolean;
      };
      return [...(flag(rule.attention) ? ATTENTION_KINDS : []), ...(flag(rule.mlp) ? GATED_MLP_KINDS : [])];
    }
    default:
      return unreachable(rule, 'bias rule');
  }
}

/**
 * θ and scaling from `rope_theta` + `rope_scaling` (transformers 4) or `rope_parameters`
 * (transformers 5). Only the default rotary and Llama 3's scaling are implemented: any other
 * rope_type (linear, dynamic, yarn …) is refused rather than run unscaled.
 */
function parseRope(obj: Record<string, unknown>, thetaDefault: number, fail: (message: string) => never): RotaryConfig {
  const params = obj.rope_parameters ?? obj.rope_scaling ?? null;
  if (params !== null && (typeof params !== 'object' || Array.isArray(params))) fail('"rope_scaling" must be an object or null');
  const p = (params ?? {}) as Record<string, unknown>;
  const number = (key: string, value: unknown, fallback?: number): number => {
    if (value === undefined || value === null) return fallback ?? fail(`rope scaling "${key}" is missing`);
    if (typeof value !== 'number' || !(value > 0)) return fail(`rope "${key}" must be a positive number, got ${JSON.stringify(value)}`);
    return value;
  };
  const theta = number('rope_theta', p.rope_theta ?? obj.rope_theta, thetaDefault);
  const type = p.rope_type ?? p.type ?? 'default';
  if (type === 'default') return { theta, scaling: null };
  if (type === 'llama3') {
    return {
      theta,
      scaling: {
        factor: number('factor', p.factor),
        lowFreqFactor: number('low_freq_factor', p.low_freq_factor),
        highFreqFactor: number('high_freq_factor', p.high_freq_factor),
        originalMaxPositions: number('original_max_position_embeddings', p.original_max_position_embeddings),
      },
    };
  }
  return fail(`rope_type ${JSON.stringify(type)} is not supported; supported: default, llama3`);
}
