// Supported architectures, each a short description (key names, the linears of a layer,
// norms, positions, head), and `describeModel`, which expands one with a config into the concrete
// list of tensors and shapes that the weight loader, the CPU reference and the GPU model walk.
import type { ActivationKind } from '../kernels/activation.ts';
import { unreachable } from '../util/unreachable.ts';
import type { ModelConfig, RotaryConfig } from './config.ts';
import type { TaskSpec } from './task.ts';
import type { ModuleKind, VectorRow } from './types.ts';

/** The activations the kernels compute (Hugging Face's names are mapped in config.ts). */
export type Activation = ActivationKind;
/** layernorm: (x − mean)·rstd·γ + β. rmsnorm (Llama): x·rsqrt(mean(x²) + eps)·γ, weight only. */
export type NormKind = 'layernorm' | 'rmsnorm';
/** post: LN(x + attn(x)), LN(h + ffn(h)) (BERT family). pre: x + attn(LN(x)), h + ffn(LN(h)),
 * and a final norm after the last layer (Llama, ViT, GPT-2). */
export type NormPlacement = 'post' | 'pre';
/**
 * absolute: position id = index in the row. padding-offset (RoBERTa): ids = cumsum(tokens ≠ pad)
 * · (token ≠ pad) + pad_token_id, so real tokens start at pad_token_id + 1. rotary (Llama): no
 * position table; q and k rotated by position (index in the row, pads counted), rotate-half
 * pairing, θ and the llama3 rescaling from the config.
 */
export type PositionScheme = 'absolute' | 'padding-offset' | 'rotary';
/** plain: f2(act(f1 x)). gated: down(act(gate x) ⊙ up x) (Llama: SiLU). */
export type MlpShape = 'plain' | 'gated';
/** Which linears carry a bias: all (BERT family), those a config flag turns on (Llama's
 * attention_bias, mlp_bias), or a fixed list (Qwen2: q, k, v). */
export type BiasRule =
  | { kind: 'all' }
  | { kind: 'config'; attention: string; mlp: string }
  | { kind: 'fixed'; modules: readonly ModuleKind[] }
  /** `always` carry a bias; `switched` too when the config flag `key` is on (ViT's qkv_bias:
   * q, k, v). */
  | { kind: 'switch'; key: string; default: boolean; switched: readonly ModuleKind[]; always: readonly ModuleKind[] };

/**
 * What the model reads and how it becomes the first layer's input.
 * tokens: token ids looked up in a word table (+ position table) (+ token types) (+ norm).
 * patches (ViT): pixel values cut into non-overlapping patch×patch squares, each projected by
 * the Conv2d `projection` (a linear over the unfolded patch), a learned CLS token put first and
 * learned position embeddings added; `cls` and `position` are raw parameters (no `.weight`).
 */
export type EmbeddingsSpec =
  | { kind: 'tokens'; word: string; position: string | null; tokenType: string | null; norm: string | null }
  | { kind: 'patches'; projection: string; cls: string; position: string };

/** How Hugging Face initialises a head linear the checkpoint lacks: weight ~ N(0, initializer_range)
 * (BERT family, Llama), or truncated to [−2, 2] as torch's trunc_normal_ does (ViT); bias 0. */
export type HeadInit = 'normal' | 'truncated-normal';

/** Where config.json keeps each value, and Hugging Face's defaults for the optional ones. */
export interface ConfigKeys {
  hidden: string;
  layers: string;
  heads: string;
  intermediate: string;
  activation: string;
  /** null: the architecture has no token-type embeddings. */
  typeVocab: string | null;
  hiddenDropout: { key: string; default: number };
  attentionDropout: { key: string; default: number };
  /** A null rate (or default) means "use the hidden dropout rate", as BERT's heads do. */
  classifierDropout: { key: string; default: number | null };
  /** A fixed eps is hard-coded in the architecture's modules (DistilBERT: 1e-12). */
  normEps: { key: string; default: number } | { fixed: number };
  padTokenDefault: number;
  typeVocabDefault: number;
  /** Decoders: KV heads, head_dim, rotary θ default, tied embeddings default (null: none of these keys). */
  decoder: { ropeThetaDefault: number; tieDefault: boolean } | null;
  /** Image models: image size (an int or [height, width]), patch size, channels, with defaults
   * (null: the model reads tokens, and vocab_size is required). */
  image: { size: string; patch: string; channels: string; defaults: { size: number; patch: number; channels: number } } | null;
}

/** One nn.Linear of the task head, applied to the pooled hidden state. */
export interface HeadStep {
  path: string;
  /** Output size: the hidden size, or the number of labels. */
  out: 'hidden' | 'labels';
  /** Applied after the linear. */
  activation: Activation | null;
  /** In training, the classifier dropout is applied to this linear's input. */
  dropoutBefore: boolean;
}

export interface Architecture {
  modelType: string;
  /** Hugging Face's base_model_prefix: checkpoints of the bare model store keys without it. */
  prefix: string;
  config: ConfigKeys;
  /** Module paths below the prefix; null where the architecture has none. */
  embeddings: EmbeddingsSpec;
  positions: PositionScheme;
  /** Below the prefix; `{i}` is the layer index. */
  layer: string;
  /** The factored linears of a layer, in heatmap order, with paths below the layer path. */
  linears: readonly { kind: ModuleKind; path: string }[];
  biases: BiasRule;
  /** `final`: the norm after the last layer (pre-norm), below the prefix. */
  norm: { kind: NormKind; placement: NormPlacement; attention: string; ffn: string; final: string | null };
  mlp: MlpShape;
  /** Hidden dropout after the attention output projection (BERT, RoBERTa: yes; DistilBERT: no). */
  attentionOutputDropout: boolean;
  /** Sequence-classification head (full paths); empty: the architecture has none here. */
  head: HeadStep[];
  /** Causal-LM head (full path, no bias); tied to the word embeddings when the config says so. */
  lmHead: string | null;
  /** Masked-LM head (full paths); its decoder is tied to the word embeddings. */
  maskedLm: { dense: string; norm: string; bias: string } | null;
  headInit: HeadInit;
}

const BERT_KEYS: ConfigKeys = {
  hidden: 'hidden_size',
  layers: 'num_hidden_layers',
  heads: 'num_attention_heads',
  intermediate: 'intermediate_size',
  activation: 'hidden_act',
  typeVocab: 'type_vocab_size',
  hiddenDropout: { key: 'hidden_dropout_prob', default: 0.1 },
  attentionDropout: { key: 'attention_probs_dropout_prob', default: 0.1 },
  classifierDropout: { key: 'classifier_dropout', default: null },
  normEps: { key: 'layer_norm_eps', default: 1e-12 },
  padTokenDefault: 0,
  typeVocabDefault: 2,
  decoder: null,
  image: null,
};

const BERT_LAYER = {
  linears: [
    { kind: 'q', path: 'attention.self.query' },
    { kind: 'k', path: 'attention.self.key' },
    { kind: 'v', path: 'attention.self.value' },
    { kind: 'o', path: 'attention.output.dense' },
    { kind: 'f1', path: 'intermediate.dense' },
    { kind: 'f2', path: 'output.dense' },
  ],
  biases: { kind: 'all' },
  norm: { kind: 'layernorm', placement: 'post', attention: 'attention.output.LayerNorm', ffn: 'output.LayerNorm', final: null },
  mlp: 'plain',
  attentionOutputDropout: true,
  lmHead: null,
} as const;

const BERT_EMBEDDINGS: EmbeddingsSpec = {
  kind: 'tokens',
  word: 'embeddings.word_embeddings',
  position: 'embeddings.position_embeddings',
  tokenType: 'embeddings.token_type_embeddings',
  norm: 'embeddings.LayerNorm',
};

export const ARCHITECTURES: Record<string, Architecture> = {
  bert: {
    modelType: 'bert',
    prefix: 'bert',
    config: BERT_KEYS,
    embeddings: BERT_EMBEDDINGS,
    positions: 'absolute',
    layer: 'encoder.layer.{i}',
    ...BERT_LAYER,
    head: [
      { path: 'bert.pooler.dense', out: 'hidden', activation: 'tanh', dropoutBefore: false },
      { path: 'classifier', out: 'labels', activation: null, dropoutBefore: true },
    ],
    maskedLm: { dense: 'cls.predictions.transform.dense', norm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias' },
    headInit: 'normal',
  },
  roberta: {
    modelType: 'roberta',
    prefix: 'roberta',
    config: { ...BERT_KEYS, padTokenDefault: 1 },
    embeddings: BERT_EMBEDDINGS,
    positions: 'padding-offset',
    layer: 'encoder.layer.{i}',
    ...BERT_LAYER,
    head: [
      { path: 'classifier.dense', out: 'hidden', activation: 'tanh', dropoutBefore: true },
      { path: 'classifier.out_proj', out: 'labels', activation: null, dropoutBefore: true },
    ],
    maskedLm: null,
    headInit: 'normal',
  },
  distilbert: {
    modelType: 'distilbert',
    prefix: 'distilbert',
    config: {
      hidden: 'dim',
      layers: 'n_layers',
      heads: 'n_heads',
      intermediate: 'hidden_dim',
      activation: 'activation',
      typeVocab: null,
      hiddenDropout: { key: 'dropout', default: 0.1 },
      attentionDropout: { key: 'attention_dropout', default: 0.1 },
      classifierDropout: { key: 'seq_classif_dropout', default: 0.2 },
      normEps: { fixed: 1e-12 },
      padTokenDefault: 0,
      typeVocabDefault: 0,
      decoder: null,
      image: null,
    },
    embeddings: { kind: 'tokens', word: 'embeddings.word_embeddings', position: 'embeddings.position_embeddings', tokenType: null, norm: 'embeddings.LayerNorm' },
    positions: 'absolute',
    layer: 'transformer.layer.{i}',
    linears: [
      { kind: 'q', path: 'attention.q_lin' },
      { kind: 'k', path: 'attention.k_lin' },
      { kind: 'v', path: 'attention.v_lin' },
      { kind: 'o', path: 'attention.out_lin' },
      { kind: 'f1', path: 'ffn.lin1' },
      { kind: 'f2', path: 'ffn.lin2' },
    ],
    biases: { kind: 'all' },
    norm: { kind: 'layernorm', placement: 'post', attention: 'sa_layer_norm', ffn: 'output_layer_norm', final: null },
    mlp: 'plain',
    attentionOutputDropout: false,
    head: [
      { path: 'pre_classifier', out: 'hidden', activation: 'relu', dropoutBefore: false },
      { path: 'classifier', out: 'labels', activation: null, dropoutBefore: true },
    ],
    lmHead: null,
    maskedLm: null,
    headInit: 'normal',
  },
  vit: {
    modelType: 'vit',
    prefix: 'vit',
    config: {
      ...BERT_KEYS,
      typeVocab: null,
      // ViTConfig's dropout defaults are 0.
      hiddenDropout: { key: 'hidden_dropout_prob', default: 0 },
      attentionDropout: { key: 'attention_probs_dropout_prob', default: 0 },
      classifierDropout: { key: 'classifier_dropout', default: 0 },
      typeVocabDefault: 0,
      image: { size: 'image_size', patch: 'patch_size', channels: 'num_channels', defaults: { size: 224, patch: 16, channels: 3 } },
    },
    embeddings: { kind: 'patches', projection: 'embeddings.patch_embeddings.projection', cls: 'embeddings.cls_token', position: 'embeddings.position_embeddings' },
    positions: 'absolute',
    layer: 'encoder.layer.{i}',
    linears: [
      { kind: 'q', path: 'attention.attention.query' },
      { kind: 'k', path: 'attention.attention.key' },
      { kind: 'v', path: 'attention.attention.value' },
      { kind: 'o', path: 'attention.output.dense' },
      { kind: 'f1', path: 'intermediate.dense' },
      { kind: 'f2', path: 'output.dense' },
    ],
    biases: { kind: 'switch', key: 'qkv_bias', default: true, switched: ['q', 'k', 'v'], always: ['o', 'f1', 'f2'] },
    norm: { kind: 'layernorm', placement: 'pre', attention: 'layernorm_before', ffn: 'layernorm_after', final: 'layernorm' },
    mlp: 'plain',
    attentionOutputDropout: true,
    // ViTForImageClassification: the classifier reads the CLS token's final-norm output, with no
    // pooler and no dropout before it.
    head: [{ path: 'classifier', out: 'labels', activation: null, dropoutBefore: false }],
    lmHead: null,
    maskedLm: null,
    headInit: 'truncated-normal',
  },
  llama: decoder('llama', { kind: 'config', attention: 'attention_bias', mlp: 'mlp_bias' }, 1e4),
  qwen2: decoder('qwen2', { kind: 'fixed', modules: ['q', 'k', 'v'] }, 1e6),
};

/** The Llama family: pre-RMSNorm, rotary positions, grouped-query attention, SiLU-gated MLP. */
function decoder(modelType: string, biases: BiasRule, ropeThetaDefault: number): Architecture {
  return {
    modelType,
    prefix: 'model',
    config: {
      hidden: 'hidden_size',
      layers: 'num_hidden_layers',
      heads: 'num_attention_heads',
      intermediate: 'intermediate_size',
      activation: 'hidden_act',
      typeVocab: null,
      hiddenDropout: { key: 'hidden_dropout', default: 0 },
      attentionDropout: { key: 'attention_dropout', default: 0 },
      classifierDropout: { key: 'classifier_dropout', default: 0 },
      normEps: { key: 'rms_norm_eps', default: 1e-6 },
      padTokenDefault: 0,
      typeVocabDefault: 0,
      decoder: { ropeThetaDefault, tieDefault: false },
      image: null,
    },
    embeddings: { kind: 'tokens', word: 'embed_tokens', position: null, tokenType: null, norm: null },
    positions: 'rotary',
    layer: 'layers.{i}',
    linears: [
      { kind: 'q', path: 'self_attn.q_proj' },
      { kind: 'k', path: 'self_attn.k_proj' },
      { kind: 'v', path: 'self_attn.v_proj' },
      { kind: 'o', path: 'self_attn.o_proj' },
      { kind: 'gate', path: 'mlp.gate_proj' },
      { kind: 'up', path: 'mlp.up_proj' },
      { kind: 'down', path: 'mlp.down_proj' },
    ],
    biases,
    norm: { kind: 'rmsnorm', placement: 'pre', attention: 'input_layernorm', ffn: 'post_attention_layernorm', final: 'norm' },
    mlp: 'gated',
    attentionOutputDropout: false,
    head: [],
    lmHead: 'lm_head',
    maskedLm: null,
    headInit: 'normal',
  };
}

export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

// ---- The expanded layout ----

/** An nn.Linear: `weight` [dOut, dIn] (HF layout, y = x·Wᵀ + b), `bias` [dOut] or none. */
export interface LinearLayout {
  path: string;
  dIn: number;
  dOut: number;
  weight: string;
  bias: string | null;
}

/** A linear that VectorFit factors as U [dOut, r] · diag(Σ [r]) · Vᵀ (V [dIn, r]). */
export interface ModuleLayout extends LinearLayout {
  kind: ModuleKind;
  rank: number;
  /** Export names of its trainable vectors (no bias vector where the linear has no bias). */
  sigmaName: string;
  biasName: string | null;
}

export interface NormLayout {
  kind: NormKind;
  path: string;
  dim: number;
  eps: number;
  weight: string;
  /** null for RMSNorm (weight only). */
  bias: string | null;
}

export interface EmbeddingLayout {
  key: string;
  rows: number;
  dim: number;
}

export interface TokenEmbeddingsLayout {
  kind: 'tokens';
  word: EmbeddingLayout;
  position: EmbeddingLayout | null;
  tokenType: EmbeddingLayout | null;
  norm: NormLayout | null;
}

/**
 * ViT's patch embeddings for images of `channels` × height × width pixel values: grid.rows ×
 * grid.cols patches of patch × patch pixels, token 0 the CLS token, token 1 + (y·cols + x) the
 * patch at grid row y, column x (Conv2d's output flattened, as Hugging Face does).
 */
export interface PatchEmbeddingsLayout {
  kind: 'patches';
  channels: number;
  patch: number;
  image: { height: number; width: number };
  grid: { rows: number; cols: number };
  /** The Conv2d [hidden, channels, patch, patch] read as a linear [hidden, channels·patch·patch]
   * over a patch unfolded in (channel, row, column) order: the same memory. */
  projection: LinearLayout;
  /** Raw parameter [1, 1, hidden]. */
  cls: string;
  /** Raw parameter [1, 1 + patches, hidden] (rows = 1 + patches). */
  position: EmbeddingLayout;
}

/** What the model reads (token ids or pixel values) and how it embeds them. */
export type EmbeddingsLayout = TokenEmbeddingsLayout | PatchEmbeddingsLayout;

export interface LayerLayout {
  index: number;
  /** In the architecture's linear order (q k v o f1 f2, or q k v o gate up down). */
  modules: ModuleLayout[];
  attentionNorm: NormLayout;
  ffnNorm: NormLayout;
}

export interface HeadStepLayout {
  linear: LinearLayout;
  activation: Activation | null;
  dropoutBefore: boolean;
}

export interface ModelLayout {
  modelType: string;
  hidden: number;
  heads: number;
  /** Grouped-query attention: query head h reads KV head h // (heads / kvHeads). */
  kvHeads: number;
  headDim: number;
  intermediate: number;
  activation: Activation;
  positions: PositionScheme;
  /** Rotary θ and scaling (positions 'rotary' only). */
  rotary: RotaryConfig | null;
  padTokenId: number;
  normPlacement: NormPlacement;
  mlp: MlpShape;
  /** Decoders see only earlier tokens (plus the key-padding mask every model applies). */
  causal: boolean;
  attentionOutputDropout: boolean;
  /** Longest sequence the position table allows under the position scheme. */
  maxSequence: number;
  embeddings: EmbeddingsLayout;
  layers: LayerLayout[];
  /** The norm after the last layer (pre-norm architectures). */
  finalNorm: NormLayout | null;
  task: TaskSpec;
  /** The head's linears: a classifier's steps, or the LM head alone. */
  head: HeadStepLayout[];
  /** The LM head is the word embedding matrix (its weight key is the embedding's). */
  tiedHead: boolean;
  maskedLm: { dense: LinearLayout; norm: NormLayout; bias: string } | null;
}

function linear(path: string, dIn: number, dOut: number, hasBias = true): LinearLayout {
  return { path, dIn, dOut, weight: `${path}.weight`, bias: hasBias ? `${path}.bias` : null };
}

function norm(kind: NormKind, path: string, dim: number, eps: number): NormLayout {
  switch (kind) {
    case 'layernorm':
      return { kind, path, dim, eps, weight: `${path}.weight`, bias: `${path}.bias` };
    case 'rmsnorm':
      return { kind, path, dim, eps, weight: `${path}.weight`, bias: null };
    default:
      return unreachable(kind, 'norm kind');
  }
}

/** [dIn, dOut] of each linear: q reads hidden and writes heads·head_dim, k and v write
 * kvHeads·head_dim, o maps heads·head_dim back; the MLP's inner width is `intermediate`. */
function moduleShape(kind: ModuleKind, config: ModelConfig): [number, number] {
  const { hidden, intermediate, heads, kvHeads, headDim } = config;
  switch (kind) {
    case 'q':
      return [hidden, heads * headDim];
    case 'k':
    case 'v':
      return [hidden, kvHeads * headDim];
    case 'o':
      return [heads * headDim, hidden];
    case 'f1':
    case 'gate':
    case 'up':
      return [hidden, intermediate];
    case 'f2':
    case 'down':
      return [intermediate, hidden];
    default:
      return unreachable(kind, 'module kind');
  }
}

/** The task an architecture's head serves: a classifier on the first token, or a causal LM. */
export function taskOf(arch: Architecture, config: ModelConfig): TaskSpec {
  if (arch.head.length > 0) return { input: 'first-token', loss: config.problemType === 'regression' ? 'regression' : 'classes' };
  if (arch.lmHead) return { input: 'every-token', loss: 'causal-lm' };
  throw new Error(`${arch.modelType}: the architecture describes no head`);
}

/** The token embeddings of a model that reads tokens; a clear error for one that reads pixels
 * (`what` names the operation that needs tokens). */
export function tokenEmbeddings(layout: ModelLayout, what: string): TokenEmbeddingsLayout {
  const { embeddings } = layout;
  switch (embeddings.kind) {
    case 'tokens':
      return embeddings;
    case 'patches':
      throw new Error(`${layout.modelType} reads images, not tokens: ${what} is for text models`);
    default:
      return unreachable(embeddings, 'embeddings kind');
  }
}

function describeEmbeddings(arch: Architecture, config: ModelConfig, norm: (path: string) => NormLayout): EmbeddingsLayout {
  const spec = arch.embeddings;
  const full = (path: string): string => `${arch.prefix}.${path}`;
  const { hidden } = config;
  const table = (path: string, rows: number): EmbeddingLayout => ({ key: `${full(path)}.weight`, rows, dim: hidden });
  switch (spec.kind) {
    case 'tokens':
      return {
        kind: 'tokens',
        word: table(spec.word, config.vocabSize),
        position: spec.position ? table(spec.position, config.maxPositions) : null,
        tokenType: spec.tokenType ? table(spec.tokenType, config.typeVocabSize) : null,
        norm: spec.norm ? norm(full(spec.norm)) : null,
      };
    case 'patches': {
      const image = config.image;
      if (!image) throw new Error(`${arch.modelType}: the config describes no image size`);
      const { channels, patch } = image;
      const grid = { rows: image.height / patch, cols: image.width / patch };
      return {
        kind: 'patches',
        channels,
        patch,
        image: { height: image.height, width: image.width },
        grid,
        projection: linear(full(spec.projection), channels * patch * patch, hidden),
        cls: full(spec.cls),
        position: { key: full(spec.position), rows: 1 + grid.rows * grid.cols, dim: hidden },
      };
    }
    default:
      return unreachable(spec, 'embeddings kind');
  }
}

function maxSequence(positions: PositionScheme, config: ModelConfig): number {
  switch (positions) {
    case 'absolute':
    case 'rotary':
      return config.maxPositions;
    case 'padding-offset':
      return config.maxPositions - (config.padTokenId + 1);
    default:
      return unreachable(positions, 'position scheme');
  }
}

export function describeModel(arch: Architecture, config: ModelConfig): ModelLayout {
  const { hidden, layerNormEps: eps } = config;
  const full = (path: string): string => `${arch.prefix}.${path}`;
  const layers: LayerLayout[] = [];
  for (let index = 0; index < config.layers; index++) {
    const layerPath = full(arch.layer.replace('{i}', String(index)));
    const modules = arch.linears.map(({ kind, path: local }): ModuleLayout => {
      const [dIn, dOut] = moduleShape(kind, config);
      const path = `${layerPath}.${local}`;
      const hasBias = config.biases.includes(kind);
      return { ...linear(path, dIn, dOut, hasBias), kind, rank: Math.min(dIn, dOut), sigmaName: `${path}.sigma`, biasName: hasBias ? `${path}.bias` : null };
    });
    layers.push({
      index,
      modules,
      attentionNorm: norm(arch.norm.kind, `${layerPath}.${arch.norm.attention}`, hidden, eps),
      ffnNorm: norm(arch.norm.kind, `${layerPath}.${arch.norm.ffn}`, hidden, eps),
    });
  }
  const embeddings = describeEmbeddings(arch, config, (path) => norm(arch.norm.kind, path, hidden, eps));
  const task = taskOf(arch, config);
  const tiedHead = task.loss === 'causal-lm' && config.tieWordEmbeddings;
  const tiedKey = (): string => {
    if (embeddings.kind !== 'tokens') throw new Error(`${arch.modelType}: a tied LM head needs a word table`);
    return embeddings.word.key;
  };
  const head: HeadStepLayout[] = task.loss === 'causal-lm'
    ? [{ linear: { ...linear(arch.lmHead!, hidden, config.vocabSize, false), ...(tiedHead ? { weight: tiedKey() } : {}) }, activation: null, dropoutBefore: false }]
    : arch.head.map((step) => ({
      linear: linear(step.path, hidden, step.out === 'hidden' ? hidden : config.numLabels),
      activation: step.activation,
      dropoutBefore: step.dropoutBefore,
    }));
  return {
    modelType: arch.modelType,
    hidden,
    heads: config.heads,
    kvHeads: config.kvHeads,
    headDim: config.headDim,
    intermediate: config.intermediate,
    activation: config.activation,
    positions: arch.positions,
    rotary: arch.positions === 'rotary' ? config.rope : null,
    padTokenId: config.padTokenId,
    normPlacement: arch.norm.placement,
    mlp: arch.mlp,
    causal: task.loss === 'causal-lm',
    attentionOutputDropout: arch.attentionOutputDropout,
    maxSequence: maxSequence(arch.positions, config),
    embeddings,
    layers,
    finalNorm: arch.norm.final ? norm(arch.norm.kind, full(arch.norm.final), hidden, eps) : null,
    task,
    head,
    tiedHead,
    maskedLm: arch.maskedLm && {
      dense: linear(arch.maskedLm.dense, hidden, hidden),
      norm: norm(arch.norm.kind, arch.maskedLm.norm, hidden, eps),
      bias: arch.maskedLm.bias,
    },
  };
}

/** The heatmap's rows for a layout: Σ of every linear in layer order, then the biases that exist. */
export function vectorRows(layout: ModelLayout): VectorRow[] {
  const modules = layout.layers[0]?.modules ?? [];
  return [
    ...modules.map((m) => ({ kind: 'sigma' as const, module: m.kind })),
    ...modules.filter((m) => m.biasName !== null).map((m) => ({ kind: 'bias' as const, module: m.kind })),
  ];
}

/**
 * Export names of every trainable tensor: `<module path>.sigma` and `<module path>.bias` of the
 * modules of each layer (layer-major, in linear order; biases only where they exist), then the
 * head's HF tensor names.
 */
export function exportNames(arch: Architecture, config: ModelConfig): string[] {
  const layout = describeModel(arch, config);
  return [
    ...layout.layers.flatMap((layer) => layer.modules.flatMap((m) => (m.biasName ? [m.sigmaName, m.biasName] : [m.sigmaName]))),
    ...layout.head.flatMap((step) => (step.linear.bias ? [step.linear.weight, step.linear.bias] : [step.linear.weight])),
  ];
}
