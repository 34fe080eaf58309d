// Supported architectures, each a short description (key names, which linears are q/k/v/o/f1/f2,
// norms, positions, head), and `describeModel`, which expands one with a config into the concrete
// list of tensors and shapes that the weight loader, the CPU reference and the GPU model walk.
import type { ModuleKind } from '../worker/protocol.ts';
import type { ModelConfig } from './config.ts';

export type Activation = 'gelu' | 'gelu_new' | 'relu' | 'tanh';
/** Only LayerNorm now; RMSNorm (weight only) comes with the Llama family. */
export type NormKind = 'layernorm';
/** post: LN(x + attn(x)), LN(h + ffn(h)) (BERT family); 'pre' comes with ViT/GPT-2. */
export type NormPlacement = 'post';
/**
 * absolute: position id = index in the row. padding-offset (RoBERTa): ids = cumsum(tokens ≠ pad)
 * · (token ≠ pad) + pad_token_id, so real tokens start at pad_token_id + 1.
 */
export type PositionScheme = 'absolute' | 'padding-offset';
/** plain: f2(act(f1 x)); a gated MLP (Llama) would add a seventh linear. */
export type MlpShape = 'plain';

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
}

/** One nn.Linear of the task head, applied to the first token's final hidden state. */
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
  /** Module paths below the prefix. */
  embeddings: { word: string; position: string; tokenType: string | null; norm: string };
  positions: PositionScheme;
  /** Below the prefix; `{i}` is the layer index. */
  layer: string;
  /** Below the layer path. */
  modules: Record<ModuleKind, string>;
  norm: { kind: NormKind; placement: NormPlacement; attention: string; ffn: string };
  mlp: MlpShape;
  /** Hidden dropout after the attention output projection (BERT, RoBERTa: yes; DistilBERT: no). */
  attentionOutputDropout: boolean;
  /** Full paths (no prefix added). */
  head: HeadStep[];
  /** Masked-LM head (full paths); its decoder is tied to the word embeddings. */
  maskedLm: { dense: string; norm: string; bias: string } | null;
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
};

const BERT_LAYER = {
  modules: {
    q: 'attention.self.query',
    k: 'attention.self.key',
    v: 'attention.self.value',
    o: 'attention.output.dense',
    f1: 'intermediate.dense',
    f2: 'output.dense',
  },
  norm: { kind: 'layernorm', placement: 'post', attention: 'attention.output.LayerNorm', ffn: 'output.LayerNorm' },
  mlp: 'plain',
  attentionOutputDropout: true,
} as const;

const BERT_EMBEDDINGS = {
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
    },
    embeddings: { word: 'embeddings.word_embeddings', position: 'embeddings.position_embeddings', tokenType: null, norm: 'embeddings.LayerNorm' },
    positions: 'absolute',
    layer: 'transformer.layer.{i}',
    modules: { q: 'attention.q_lin', k: 'attention.k_lin', v: 'attention.v_lin', o: 'attention.out_lin', f1: 'ffn.lin1', f2: 'ffn.lin2' },
    norm: { kind: 'layernorm', placement: 'post', attention: 'sa_layer_norm', ffn: 'output_layer_norm' },
    mlp: 'plain',
    attentionOutputDropout: false,
    head: [
      { path: 'pre_classifier', out: 'hidden', activation: 'relu', dropoutBefore: false },
      { path: 'classifier', out: 'labels', activation: null, dropoutBefore: true },
    ],
    maskedLm: null,
  },
};

export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.keys(ARCHITECTURES);

// ---- The expanded layout ----

/** An nn.Linear: `weight` [dOut, dIn] (HF layout, y = x·Wᵀ + b), `bias` [dOut]. */
export interface LinearLayout {
  path: string;
  dIn: number;
  dOut: number;
  weight: string;
  bias: string;
}

/** A linear that VectorFit factors as U [dOut, r] · diag(Σ [r]) · Vᵀ (V [dIn, r]). */
export interface ModuleLayout extends LinearLayout {
  kind: ModuleKind;
  rank: number;
  /** Export names of its trainable vectors. */
  sigmaName: string;
  biasName: string;
}

export interface NormLayout {
  kind: NormKind;
  path: string;
  dim: number;
  eps: number;
  weight: string;
  bias: string;
}

export interface EmbeddingLayout {
  key: string;
  rows: number;
  dim: number;
}

export interface LayerLayout {
  index: number;
  /** In q, k, v, o, f1, f2 order. */
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
  headDim: number;
  intermediate: number;
  activation: Activation;
  positions: PositionScheme;
  padTokenId: number;
  normPlacement: NormPlacement;
  attentionOutputDropout: boolean;
  /** Longest sequence the position table allows under the position scheme. */
  maxSequence: number;
  embeddings: { word: EmbeddingLayout; position: EmbeddingLayout; tokenType: EmbeddingLayout | null; norm: NormLayout };
  layers: LayerLayout[];
  head: HeadStepLayout[];
  maskedLm: { dense: LinearLayout; norm: NormLayout; bias: string } | null;
}

function linear(path: string, dIn: number, dOut: number): LinearLayout {
  return { path, dIn, dOut, weight: `${path}.weight`, bias: `${path}.bias` };
}

function norm(kind: NormKind, path: string, dim: number, eps: number): NormLayout {
  return { kind, path, dim, eps, weight: `${path}.weight`, bias: `${path}.bias` };
}

export function describeModel(arch: Architecture, config: ModelConfig): ModelLayout {
  const { hidden, intermediate, layerNormEps: eps } = config;
  const full = (path: string): string => `${arch.prefix}.${path}`;
  const moduleShape: Record<ModuleKind, [number, number]> = {
    q: [hidden, hidden], k: [hidden, hidden], v: [hidden, hidden], o: [hidden, hidden],
    f1: [hidden, intermediate], f2: [intermediate, hidden],
  };
  const layers: LayerLayout[] = [];
  for (let index = 0; index < config.layers; index++) {
    const layerPath = full(arch.layer.replace('{i}', String(index)));
    const modules = (Object.keys(moduleShape) as ModuleKind[]).map((kind): ModuleLayout => {
      const [dIn, dOut] = moduleShape[kind];
      const path = `${layerPath}.${arch.modules[kind]}`;
      return { ...linear(path, dIn, dOut), kind, rank: Math.min(dIn, dOut), sigmaName: `${path}.sigma`, biasName: `${path}.bias` };
    });
    layers.push({
      index,
      modules,
      attentionNorm: norm(arch.norm.kind, `${layerPath}.${arch.norm.attention}`, hidden, eps),
      ffnNorm: norm(arch.norm.kind, `${layerPath}.${arch.norm.ffn}`, hidden, eps),
    });
  }
  const table = (path: string, rows: number): EmbeddingLayout => ({ key: `${full(path)}.weight`, rows, dim: hidden });
  const offset = arch.positions === 'padding-offset' ? config.padTokenId + 1 : 0;
  return {
    modelType: arch.modelType,
    hidden,
    heads: config.heads,
    headDim: hidden / config.heads,
    intermediate,
    activation: config.activation,
    positions: arch.positions,
    padTokenId: config.padTokenId,
    normPlacement: arch.norm.placement,
    attentionOutputDropout: arch.attentionOutputDropout,
    maxSequence: config.maxPositions - offset,
    embeddings: {
      word: table(arch.embeddings.word, config.vocabSize),
      position: table(arch.embeddings.position, config.maxPositions),
      tokenType: arch.embeddings.tokenType ? table(arch.embeddings.tokenType, config.typeVocabSize) : null,
      norm: norm(arch.norm.kind, full(arch.embeddings.norm), hidden, eps),
    },
    layers,
    head: arch.head.map((step) => ({
      linear: linear(step.path, hidden, step.out === 'hidden' ? hidden : config.numLabels),
      activation: step.activation,
      dropoutBefore: step.dropoutBefore,
    })),
    maskedLm: arch.maskedLm && {
      dense: linear(arch.maskedLm.dense, hidden, hidden),
      norm: norm(arch.norm.kind, arch.maskedLm.norm, hidden, eps),
      bias: arch.maskedLm.bias,
    },
  };
}

/**
 * Export names of every trainable tensor: `<module path>.sigma` and `<module path>.bias` of the
 * six modules of each layer (layer-major, q k v o f1 f2), then the head's HF tensor names.
 */
export function exportNames(arch: Architecture, config: ModelConfig): string[] {
  const layout = describeModel(arch, config);
  return [
    ...layout.layers.flatMap((layer) => layer.modules.flatMap((m) => [m.sigmaName, m.biasName])),
    ...layout.head.flatMap((step) => [step.linear.weight, step.linear.bias]),
  ];
}
