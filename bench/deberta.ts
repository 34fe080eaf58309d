// One VectorFit training step of a random DeBERTa-v3 classifier beside our BERT step at the same
// shapes (train.ts's: BERT-base at batch 32 × 128 on a GPU, scaled on a software adapter, and
// DeBERTa-v3-base scaled the same way). There is no TF.js DeBERTa to compare with: the ratio
// DeBERTa/BERT time is what the disentangled attention (relative embeddings, their projections,
// the c2p and p2c terms) and DeBERTa's pooler add to a step.
// Standalone: node --import ./scripts/register-raw.mjs bench/deberta.ts
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { relativeWindow } from '../src/kernels/relative_positions.ts';
import { record } from './figures.ts';
import { formatRow } from './peer.ts';
import { benchModel, timeOurs, trainScale } from './train.ts';

/** microsoft/deberta-v3-base's config.json, with a 2-label classifier. */
const DEBERTA_V3_BASE = {
  model_type: 'deberta-v2', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  vocab_size: 128100, max_position_embeddings: 512, type_vocab_size: 0, position_biased_input: false,
  relative_attention: true, position_buckets: 256, max_relative_positions: -1, share_att_key: true, pos_att_type: ['p2c', 'c2p'],
  norm_rel_ebd: 'layer_norm', pooler_hidden_size: 768, pooler_hidden_act: 'gelu', pooler_dropout: 0,
  hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, layer_norm_eps: 1e-7, hidden_act: 'gelu', num_labels: 2,
};

/** The model sizes train.ts scales BERT-base by on a software adapter, applied to DeBERTa-v3-base. */
const SCALED_KEYS = ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'] as const;

/** Times our DeBERTa step and, unless the BERT step's median seconds are given (train.ts ran at
 * the same shapes in this process), our BERT step too. */
export async function runDebertaTrainBench(gpu: Gpu, bertSeconds?: number): Promise<void> {
  const scale = trainScale(gpu);
  const { batch: B, seq: T, repeats } = scale;
  const scaled = Object.fromEntries(SCALED_KEYS.map((key) => [key, scale.config[key]]));
  const raw = { ...DEBERTA_V3_BASE, ...scaled, pooler_hidden_size: scaled.hidden_size };
  const deberta = await benchModel(gpu, parseModelConfig(raw, 'benchmark config'), B, T);
  const { attention } = deberta.weights.layout;
  if (attention.kind !== 'disentangled') throw new Error('the DeBERTa benchmark model has no relative attention');
  const { columns } = relativeWindow(attention.positions, T);
  const { hidden, heads, intermediate, layers } = deberta.weights.layout;
  const vocab = raw.vocab_size;
  console.log(`\n## DeBERTa-v3 training step beside ours for BERT at the same shapes (DeBERTa-v3-base${gpu.adapter.isSoftware ? ' scaled as BERT-base is' : ''}: ` +
    `hidden ${hidden}, ${layers.length} layers, ${heads} heads, FFN ${intermediate}, vocab ${vocab}, batch ${B} × ${T}; ${attention.positions.buckets} position buckets, ` +
    `c2p and p2c on ${columns} of the ${2 * attention.positions.span} relative rows; dropout 0.1; median of ${repeats})`);
  const ours = await timeOurs(gpu, deberta.model, deberta.optimizer, B, T, repeats);
  let bert = bertSeconds;
  if (bert === undefined) {
    const bertModel = await benchModel(gpu, parseModelConfig(scale.config, 'benchmark config'), B, T);
    bert = (await timeOurs(gpu, bertModel.model, bertModel.optimizer, B, T, repeats)).seconds;
  }
  const tokens = B * T;
  const widths = [10, 8, 10, 10];
  console.log(`tokens per step: ${tokens} (${B} × ${T}); last DeBERTa loss ${ours.loss.toFixed(4)}`);
  console.log(formatRow(['', 'steps/s', 'tokens/s', 'ms/step'], widths));
  console.log(formatRow(['deberta', (1 / ours.seconds).toFixed(2), Math.round(tokens / ours.seconds), (1000 * ours.seconds).toFixed(1)], widths));
  console.log(formatRow(['bert', (1 / bert).toFixed(2), Math.round(tokens / bert), (1000 * bert).toFixed(1)], widths));
  console.log(`ratio DeBERTa/BERT time: ${(ours.seconds / bert).toFixed(2)}×`);
  record('train.deberta.vectorfit.steps_per_s', 1 / ours.seconds);
  record('train.deberta.vectorfit.time_over_bert', ours.seconds / bert);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# DeBERTa training benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runDebertaTrainBench(gpu);
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
  process.exit(0);
}
