// `vectorfit`: the studio's engine headless in Node (Dawn's WebGPU), for gradient dumps, training
// runs and benchmarks. Run as `npx vectorfit <command> [flags]` (or `npm run vectorfit -- …`).
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { acquireNodeGpu } from '../gpu/node.ts';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { readTextRows, tokenizeCausalLm } from '../io/causal-lm.ts';
import { readModelFolder } from '../io/model-folder.ts';
import { writeSafetensors } from '../io/safetensors.ts';
import { collateTokenRows } from '../io/token-task-data.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
import { taskOf, tokenEmbeddings } from '../model/architectures.ts';
import { architectureFor, parseModelConfig } from '../model/config.ts';
import { GpuDecoder } from '../model/gpu-decode.ts';
import { applyVectors } from '../model/gpu-decode-vectors.ts';
import { GpuModel } from '../model/gpu-model.ts';
import { formatBytes } from '../model/memory.ts';
import { patchEmbeddings, pixelBatch, type ModelBatch } from '../model/batch.ts';
import { decodeImageNode } from '../io/images/decode-node.ts';
import { ImagePixels } from '../train/image-pixels.ts';
import { unreachable } from '../util/unreachable.ts';
import { defaultAvf, defaultConfig, effectiveBatch, stepsPerEpoch } from '../train/defaults.ts';
import { buildExport, DELTA_SPECTRUM_FILE, LORA_REPORT_FILE, readVectorsExport, VECTORS_FILE } from '../train/exports.ts';
import { causalLmReader, loadModel, textModel } from '../train/load.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../train/checkpoint.ts';
import { DivergenceError, Trainer } from '../train/trainer.ts';
import { LR_SCHEDULES, warmupSteps, type LrSchedule } from '../train/schedule.ts';
import { VARIANTS, type TrainConfig, type Variant } from '../train/types.ts';
import { eosIds, generateText, promptIds } from '../worker/generation.ts';
import type { EngineEvent } from '../worker/protocol.ts';
import type { BuiltExamples } from '../io/dataset.ts';
import { readTokenTaskDataset } from './token-task-files.ts';
import { fileCheckpointStore, mapData, readCausalLmFile, readDataInput, readImageData, readModelInput, type MappedData } from './files.ts';

const USAGE = `vectorfit — VectorFit training on WebGPU, headless

  vectorfit grads --model DIR --data FILE [--batch N] --out grads.safetensors
      Loss, logits and the gradients of every Σ, bias and head tensor for the first N rows
      of FILE (no dropout), under the export names (<module path>.sigma, .bias, head names).
      For a causal LM (llama, qwen2) FILE is JSONL with a "text" per row; the loss is the
      shifted next-token cross-entropy, and lm_head.weight's gradient is written too (a tied
      head's, through both its uses, as model.embed_tokens.weight). For QA or NER data (see
      train) the rows are the first N windows or sentences, and the logits are the head's on
      every token.
      For an image model (vit) FILE is an image dataset (see Images below); the images are
      preprocessed as its preprocessor_config.json says, and pixel_values is written too.

  vectorfit train --model DIR --data FILE [--val FILE | --val-fraction F] [--variant V]
                  [--epochs N] [--batch N] [--accumulate N] [--lr X]
                  [--schedule linear|cosine|constant] [--warmup RATIO] [--weight-decay X]
                  [--max-grad-norm X] [--avf ti,tf,nf,k] [--seed N] [--max-length N] [--limit N]
                  [--log out.jsonl] [--out DIR] [--resume yes] [--eval-every N] [--patience N]
                  [--metric NAME] [--lora-rank R]
      Fine-tunes with VectorFit and writes the exports to DIR: vectors/ (trained vectors +
      adapter_config.json), merged/ (a Hugging Face model folder), and the training log;
      a checkpoint after every epoch in DIR/checkpoints (--resume yes continues from it).
      As Hugging Face's Trainer: --warmup raises the rate from 0 over that share of the steps,
      --weight-decay is AdamW's (biases spared), --max-grad-norm clips each step's gradients to
      that global norm (default: none of these), and --accumulate N sums N micro-batches of
      --batch rows into each step.
      With validation data the best checkpoint by --metric (default accuracy, or pearson for
      regression; loss = validation loss) is kept and, when it is not the last step, exported
      to DIR/best/; --patience N stops after N evaluations without improvement. Evaluation runs
      after each epoch, and every N steps with --eval-every N.
      For a causal LM (llama, qwen2) FILE holds "text", "prompt" + "completion" or "messages"
      rows (JSONL, CSV…): validation reports loss and perplexity over the predicted tokens, and
      the best checkpoint follows the loss unless --metric perplexity.
      --lora-rank R also writes DIR/lora/: a PEFT LoRA adapter keeping the R largest |ΔΣ| of
      each module (optimal at rank R), with lora_report.json (truncation error, logit change).
      Question answering: FILE is SQuAD v1.1/v2.0 JSON or rows with context, question and
      answers{text, answer_start}; contexts are cut into windows of --max-length (default 384)
      tokens overlapping by --stride (default 128); validation reports SQuAD's exact and f1
      (v2.0 scoring when some question has no answer). Token classification: FILE is CoNLL
      (word … tag per line, blank lines between sentences) or rows with tokens and ner_tags;
      validation reports seqeval's entity precision, recall, f1 and the tag accuracy. Both
      split --val-fraction and --limit by question or sentence, and the merged export is a
      …ForQuestionAnswering / …ForTokenClassification folder.

  vectorfit generate --model DIR [--vectors RUN/vectors] --prompt TEXT [--max-new-tokens N]
                     [--temperature T] [--top-p P] [--seed S]
      Generates from a causal LM (llama, qwen2) with a KV cache on the GPU, streaming the text
      to stdout: greedy with --temperature 0 (the default), else sampling (top-p nucleus,
      default 1). With --vectors, a run's vectors export (the fine-tuned Σ, biases, head) is
      applied first; without, the base model generates. Stops at EOS or after N tokens
      (default 32); a summary (token ids, tokens/s) goes to stderr.

Models: a folder (config.json, tokenizer files, .safetensors), a .zip of one, or loose files
as a comma-separated list. A head with another number of labels is re-initialised (said so).
Data: a CSV, TSV (every GLUE file as distributed), JSONL, JSON or Parquet file with a text
column, an optional text-pair column and a label column (class name/index, or a float for
regression); or a folder or .zip of split files as the Hub writes them (train.csv,
validation.jsonl, dev.tsv, data/train-00000-of-00002.parquet …): the train split trains, the
validation (or dev) split validates unless --val is given; --train-split / --val-split pick
others. Columns are guessed (GLUE headers, text/text_pair, sentence1/sentence2, question with
passage/context/sentence, two free-text columns as a pair) and printed first; override with
--text COL --text-pair COL --label COL (--text-pair none: single texts). For a causal LM
(llama, qwen2) the rows are text, prompt + completion, or chat messages. Variants: ${VARIANTS.join(', ')}.
Images (an image model, vit): a folder or .zip with one subfolder per class (train/ and
validation/ split folders recognised), a CSV/JSONL of image paths (relative to the file) and
labels, or Hub Parquet with an image column; PNG or JPEG. The model folder needs its
preprocessor_config.json, which the merged export copies.`;

type Flags = Record<string, string>;

function parseFlags(args: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${arg}`);
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
    flags[arg.slice(2)] = value;
    i++;
  }
  return flags;
}

class UsageError extends Error {}

function need(flags: Flags, name: string): string {
  const value = flags[name];
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

function int(flags: Flags, name: string, fallback?: number): number | undefined {
  if (flags[name] === undefined) return fallback;
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${flags[name]}`);
  return value;
}

/** Reads --data (a file, or a split folder or zip) and says how its columns are read, first. */
async function readTraining(flags: Flags): Promise<{ data: MappedData; validation?: MappedData }> {
  const input = await readDataInput(need(flags, 'data'), flags);
  const data = mapData(input.train, flags);
  console.log(data.mappingLine);
  if (input.splitsLine) console.log(input.splitsLine);
  if (data.warning) console.error(`warning: ${data.warning}`);
  const source = flags.val ? (await readDataInput(flags.val, flags)).train : input.validation;
  const validation = source && mapData(source, flags, data);
  return { data, validation };
}

async function grads(flags: Flags): Promise<void> {
  const model = await readModelInput(need(flags, 'model'));
  const folder = readModelFolder(model);
  const config = parseModelConfig(folder.config, 'config.json');
  const arch = architectureFor(config);
  if (taskOf(arch, config).loss === 'causal-lm') return causalLmGrads(flags, model, need(flags, 'data'));
  const images = arch.embeddings.kind === 'patches';
  const tokenTask = images ? null : await readTokenTaskInput(model, need(flags, 'data'), flags);
  if (tokenTask) return tokenTaskGrads(flags, model, tokenTask.dataset);
  const dataset = images ? await readImageData(need(flags, 'data')) : (await readTraining(flags)).data;
  if (images) console.log(dataset.mappingLine);
  const batchSize = int(flags, 'batch', Math.min(32, dataset.examples.length))!;
  const examples = dataset.examples.slice(0, batchSize);
  const loaded = await loadModel(model, dataset, 0);
  if (loaded.headNote) console.log(loaded.headNote);
  let batch: ModelBatch;
  switch (loaded.input) {
    case 'tokens':
      batch = loaded.tokenizer.encodeBatch(examples, { maxLength: int(flags, 'max-length', loaded.weights.layout.maxSequence)! });
      break;
    case 'pixels': {
      const pixels = await new ImagePixels(decodeImageNode, loaded.imageProcessor).batch(examples, basename(flags.data));
      batch = pixelBatch(loaded.weights.layout, pixels, examples.length);
      break;
    }
    default:
      batch = unreachable(loaded, 'model input');
  }
  const gpu = await acquireNodeGpu();
  const gpuModel = await GpuModel.create(gpu.device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch,
    maxSeq: batch.seq,
    trains: () => true,
    factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu',
  });
  gpuModel.setBatch(batch, examples.map((e) => e.label));
  submitPlan(gpu.device, gpuModel.trainPlan(batch.batch, batch.seq));
  const loss = await readTensor(gpu.device, gpuModel.loss);
  const logits = await readTensor(gpu.device, gpuModel.logits);
  const all = await readTensor(gpu.device, gpuModel.gradsTensor);
  const numLabels = loaded.config.numLabels;
  const tensors = [
    { name: 'loss', dtype: 'F32' as const, shape: [1], data: loss },
    { name: 'logits', dtype: 'F32' as const, shape: [batch.batch, numLabels], data: logits.subarray(0, batch.batch * numLabels) },
    ...gpuModel.params.entries.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: all.subarray(e.offset, e.offset + e.length) })),
  ];
  // An image batch's preprocessed input too, to check the image processor apart from the model.
  if (batch.kind === 'pixels') {
    const { image } = patchEmbeddings(loaded.weights.layout);
    tensors.push({ name: 'pixel_values', dtype: 'F32', shape: [batch.batch, 3, image.height, image.width], data: batch.pixelValues });
  }
  const out = need(flags, 'out');
  await writeFile(out, writeSafetensors(tensors, { model: model.name, rows: String(batch.batch) }));
  console.log(`loss ${loss[0].toFixed(6)} over ${batch.batch} rows (seq ${batch.seq}); ${tensors.length} tensors written to ${out}`);
  if (gpu.errors.length) throw new Error(`WebGPU reported errors: ${gpu.errors.join('; ')}`);
}

/** `grads` for a causal LM: text rows, labels = ids with padding ignored, the LM head trained so
 * its gradient is written (a tied head's, through both uses, under the embedding's name). */
async function causalLmGrads(flags: Flags, model: ModelFiles, dataFile: string): Promise<void> {
  const texts = readTextRows(await readFile(dataFile, 'utf8'), dataFile);
  const rows = texts.slice(0, int(flags, 'batch', Math.min(32, texts.length))!);
  const loaded = textModel(await loadModel(model, { task: 'causal-lm', labelNames: [] }, 0), 'a causal LM');
  const { layout } = loaded.weights;
  const { batch, labels } = tokenizeCausalLm(loaded.tokenizer, rows, int(flags, 'max-length', layout.maxSequence)!);
  const gpu = await acquireNodeGpu();
  const gpuModel = await GpuModel.create(gpu.device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch,
    maxSeq: batch.seq,
    trains: () => true,
    trainHead: true,
    factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu',
  });
  gpuModel.setBatch(batch, labels);
  const vocab = tokenEmbeddings(layout, 'causal-LM grads').word.rows;
  const N = batch.batch * batch.seq;
  // The training plan overwrites the logits with their gradient: read them from an evaluation first.
  submitPlan(gpu.device, gpuModel.evalPlan(batch.batch, batch.seq));
  const logits = (await readTensor(gpu.device, gpuModel.logits)).slice(0, N * vocab);
  submitPlan(gpu.device, gpuModel.trainPlan(batch.batch, batch.seq));
  const [loss, count] = await readTensor(gpu.device, gpuModel.loss);
  const all = await readTensor(gpu.device, gpuModel.gradsTensor);
  const tensors = [
    { name: 'loss', dtype: 'F32' as const, shape: [1], data: Float32Array.of(loss) },
    { name: 'logits', dtype: 'F32' as const, shape: [batch.batch, batch.seq, vocab], data: logits },
    ...gpuModel.params.entries.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: all.subarray(e.offset, e.offset + e.length) })),
  ];
  const out = need(flags, 'out');
  await writeFile(out, writeSafetensors(tensors, { model: model.name, rows: String(batch.batch) }));
  console.log(`loss ${loss.toFixed(6)} over ${batch.batch} rows (seq ${batch.seq}, ${count} predicted tokens); ${tensors.length} tensors written to ${out}`);
  if (gpu.errors.length) throw new Error(`WebGPU reported errors: ${gpu.errors.join('; ')}`);
}

/** `grads` for QA or NER rows: the first N windows or sentences, the head's logits on every token
 * ([rows, seq, 2] start/end, or [rows, seq, tags]). */
async function tokenTaskGrads(flags: Flags, model: ModelFiles, dataset: Dataset): Promise<void> {
  const rows = dataset.train.slice(0, int(flags, 'batch', Math.min(32, dataset.train.length))!);
  const loaded = await loadModel(model, dataset, 0);
  if (loaded.headNote) console.log(loaded.headNote);
  const perToken = dataset.task === 'token-classification';
  const { batch, labels } = collateTokenRows(rows.map((e) => e.tokens!), textModel(loaded, `${dataset.task} data`).tokenizer.padId, 1, perToken);
  const gpu = await acquireNodeGpu();
  const gpuModel = await GpuModel.create(gpu.device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu',
  });
  gpuModel.setBatch(batch, labels);
  // A token classifier's training plan overwrites its logits with their gradient: read them first.
  submitPlan(gpu.device, gpuModel.lossPlan(batch.batch, batch.seq, false));
  const outputs = loaded.weights.layout.head[0].linear.dOut;
  const logits = (await readTensor(gpu.device, gpuModel.logits)).slice(0, batch.batch * batch.seq * outputs);
  submitPlan(gpu.device, gpuModel.trainPlan(batch.batch, batch.seq));
  const loss = (await readTensor(gpu.device, gpuModel.loss))[0];
  const all = await readTensor(gpu.device, gpuModel.gradsTensor);
  const tensors = [
    { name: 'loss', dtype: 'F32' as const, shape: [1], data: Float32Array.of(loss) },
    { name: 'logits', dtype: 'F32' as const, shape: [batch.batch, batch.seq, outputs], data: logits },
    ...gpuModel.params.entries.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: all.subarray(e.offset, e.offset + e.length) })),
  ];
  const out = need(flags, 'out');
  await writeFile(out, writeSafetensors(tensors, { model: model.name, rows: String(batch.batch) }));
  console.log(`loss ${loss.toFixed(6)} over ${batch.batch} ${perToken ? 'sentences' : 'windows'} (seq ${batch.seq}); ${tensors.length} tensors written to ${out}`);
  if (gpu.errors.length) throw new Error(`WebGPU reported errors: ${gpu.errors.join('; ')}`);
}

/** Whether the model folder's architecture reads pixel values (its data is then an image dataset). */
function readsImages(model: ModelFiles): boolean {
  const config = parseModelConfig(readModelFolder(model).config, 'config.json');
  return architectureFor(config).embeddings.kind === 'patches';
}

function num(flags: Flags, name: string, fallback: number): number {
  if (flags[name] === undefined) return fallback;
  const value = Number(flags[name]);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got ${flags[name]}`);
  return value;
}

async function generateCommand(flags: Flags): Promise<void> {
  const files = await readModelInput(need(flags, 'model'));
  const prompt = need(flags, 'prompt');
  const maxNewTokens = int(flags, 'max-new-tokens', 32)!;
  const options = { maxNewTokens, temperature: num(flags, 'temperature', 0), topP: num(flags, 'top-p', 1), seed: int(flags, 'seed', 0)! };
  const config = parseModelConfig(readModelFolder(files).config, 'config.json');
  const task = taskOf(architectureFor(config), config).loss;
  if (task !== 'causal-lm') throw new UsageError(`${files.name} is a ${config.modelType} ${task} model; generate needs a causal LM (llama, qwen2)`);
  const loaded = textModel(await loadModel(files, { task: 'causal-lm', labelNames: [] }, 0), 'generation');
  const { layout } = loaded.weights;
  let vectors: Map<string, Float32Array> | undefined;
  let vectorsFile = '';
  if (flags.vectors) {
    vectorsFile = flags.vectors.endsWith('.safetensors') ? flags.vectors : join(flags.vectors, VECTORS_FILE);
    vectors = readVectorsExport(await readFile(vectorsFile), vectorsFile);
  }
  const ids = promptIds(loaded.tokenizer, prompt);
  const gpu = await acquireNodeGpu();
  const model = await GpuModel.create(gpu.device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: 1,
    maxSeq: 1,
    trains: () => false,
    // The head's tensor is a trainable one only when the vectors carry it.
    trainHead: vectors?.has(layout.head[0].linear.weight) ?? false,
    factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu',
  });
  if (vectors) applyVectors(model, vectors, vectorsFile);
  const decoder = new GpuDecoder(model, { capacity: ids.length + maxNewTokens, weights: 'tuned' });
  const started = performance.now();
  const tokens: number[] = [];
  const stream = generateText(decoder, loaded.tokenizer, ids, options, eosIds(loaded.rawConfig, loaded.tokenizer));
  let next = await stream.next();
  const firstToken = performance.now();
  for (; !next.done; next = await stream.next()) {
    if (next.value.id !== null) tokens.push(next.value.id);
    process.stdout.write(next.value.text);
  }
  process.stdout.write('\n');
  const seconds = (performance.now() - firstToken) / 1000;
  const rate = tokens.length > 1 ? ((tokens.length - 1) / seconds).toFixed(1) : '–';
  console.error(JSON.stringify({ prompt: ids, tokens, stop: next.value, prefillSeconds: +((firstToken - started) / 1000).toFixed(3), tokensPerSecond: rate, vectors: vectorsFile || null }));
  if (gpu.errors.length) throw new Error(`WebGPU reported errors: ${gpu.errors.join('; ')}`);
}

async function train(flags: Flags): Promise<void> {
  const model = await readModelInput(need(flags, 'model'));
  // A causal LM reads text, prompt/completion or messages rows with its own tokenizer.
  const lm = causalLmReader(model);
  const maxLength = int(flags, 'max-length');
  // QA (SQuAD JSON, QA rows) and NER (CoNLL, tokens + ner_tags rows) files: tokenized here, split by
  // question or sentence; --limit and --val-fraction apply to those, not to windows.
  const tokenTask = lm || readsImages(model) ? null : await readTokenTaskInput(model, need(flags, 'data'), flags);
  let data: BuiltExamples;
  let validationRead: BuiltExamples | undefined;
  if (tokenTask) {
    console.log(tokenTask.line);
    const { task, labelNames, train: examples, validation } = tokenTask.dataset;
    data = { task, labelNames, examples };
    validationRead = { task, labelNames, examples: validation };
  } else if (readsImages(model)) {
    const images = await readImageData(need(flags, 'data'));
    console.log(images.mappingLine);
    data = images;
    const validation = flags.val ? (await readImageData(flags.val, images)).examples : images.validation;
    validationRead = validation && { task: 'classification', labelNames: images.labelNames, examples: validation };
  } else if (lm) {
    data = await readCausalLmFile(need(flags, 'data'), lm, maxLength);
    validationRead = flags.val ? await readCausalLmFile(flags.val, lm, maxLength) : undefined;
  } else {
    const read = await readTraining(flags);
    data = read.data;
    validationRead = read.validation;
  }
  const limit = tokenTask ? undefined : int(flags, 'limit');
  let trainSet = limit ? data.examples.slice(0, limit) : data.examples;
  let validation = validationRead?.examples ?? [];
  if (!tokenTask && !validationRead && flags['val-fraction']) {
    const fraction = Number(flags['val-fraction']);
    const cut = Math.max(1, Math.round(trainSet.length * fraction));
    validation = trainSet.slice(0, cut);
    trainSet = trainSet.slice(cut);
  }
  const overrides: Partial<TrainConfig> = {};
  if (flags.variant) {
    if (!VARIANTS.includes(flags.variant as Variant)) throw new UsageError(`--variant must be one of ${VARIANTS.join(', ')}`);
    overrides.variant = flags.variant as Variant;
  }
  if (flags.epochs) overrides.epochs = int(flags, 'epochs');
  if (flags.batch) overrides.batchSize = int(flags, 'batch');
  if (flags.lr) overrides.lr = Number(flags.lr);
  if (flags.schedule) {
    if (!LR_SCHEDULES.includes(flags.schedule as LrSchedule)) throw new UsageError(`--schedule must be one of ${LR_SCHEDULES.join(', ')}`);
    overrides.lrSchedule = flags.schedule as LrSchedule;
  }
  if (flags.accumulate) {
    const micro = int(flags, 'accumulate')!;
    if (micro < 1) throw new UsageError('--accumulate takes the micro-batches per step, 1 or more');
    overrides.gradientAccumulation = micro;
  }
  if (flags['weight-decay']) {
    const decay = Number(flags['weight-decay']);
    if (!(decay >= 0 && Number.isFinite(decay))) throw new UsageError('--weight-decay takes a factor of 0 or more');
    overrides.weightDecay = decay;
  }
  if (flags['max-grad-norm']) {
    const norm = Number(flags['max-grad-norm']);
    if (!(norm >= 0 && Number.isFinite(norm))) throw new UsageError('--max-grad-norm takes the global gradient norm to clip to (0: no clipping)');
    overrides.maxGradNorm = norm;
  }
  if (flags.warmup) {
    const ratio = Number(flags.warmup);
    if (!(ratio >= 0 && ratio <= 1)) throw new UsageError('--warmup takes the share of steps to warm up over, from 0 to 1');
    overrides.warmupRatio = ratio;
  }
  if (flags.seed) overrides.seed = int(flags, 'seed');
  // QA windows are cut at their own length (default 384): the trainer's plans must hold them.
  if (flags['max-length'] || tokenTask) overrides.maxLength = tokenTask?.maxLength ?? int(flags, 'max-length');
  if (flags.patience) overrides.patience = int(flags, 'patience');
  if (flags['eval-every']) overrides.evalEvery = int(flags, 'eval-every');
  if (flags.metric) overrides.metric = flags.metric;
  const loraRank = int(flags, 'lora-rank');
  if (loraRank === 0) throw new UsageError('--lora-rank must be at least 1');
  const config = defaultConfig(trainSet.length, overrides);
  const epochSteps = stepsPerEpoch(trainSet.length, effectiveBatch(config));
  config.avf = defaultAvf(config.epochs * epochSteps, epochSteps);
  if (flags.avf) {
    const [start, interval, count, k] = flags.avf.split(',').map(Number);
    if ([start, interval, count, k].some((v) => !Number.isInteger(v) || v < 0)) throw new UsageError('--avf takes four integers: ti,tf,nf,k');
    config.avf = { ...config.avf, start, interval, count, k };
  }

  const gpu = await acquireNodeGpu();
  console.error(`adapter: ${gpu.adapter.description || gpu.adapter.vendor || 'unnamed'}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  const progress = new ProgressLine();
  const emit = (event: EngineEvent) => progress.show(event);
  const trainer = await Trainer.create({
    gpu,
    files: model,
    dataset: { task: data.task, labelNames: data.labelNames, train: trainSet, validation, name: basename(flags.data), qa: tokenTask?.dataset.qa },
    config,
    emit,
    decodeImage: decodeImageNode,
  });
  const summary = trainer.summary();
  if (summary.headNote) console.log(summary.headNote);
  console.error(
    `${summary.name}: ${summary.trainableParameters.toLocaleString('en')} trainable of ${summary.totalParameters.toLocaleString('en')} ` +
      `(${((100 * summary.trainableParameters) / summary.totalParameters).toFixed(2)}%), ${formatBytes(summary.gpuBytes)} of GPU memory held, ${trainer.totalSteps} steps, ` +
      `variant ${config.variant}, lr ${config.lr} (${config.lrSchedule}${config.warmupRatio ? `, warm-up ${warmupSteps(config, trainer.totalSteps)} steps` : ''}${config.maxGradNorm ? `, gradients clipped to norm ${config.maxGradNorm}` : ''}), AVF t_i ${config.avf.start} t_f ${config.avf.interval} n_f ${config.avf.count} k ${config.avf.k}`,
  );
  const outDir = flags.out;
  const store = outDir ? fileCheckpointStore(join(outDir, 'checkpoints')) : undefined;
  const checkpoint = () => encodeCheckpointOf(trainer, config, model.name, basename(flags.data));
  if (store && flags.resume === 'yes') {
    const bytes = await store.load(CHECKPOINT_FILE);
    if (bytes) {
      trainer.restore(decodeCheckpoint(bytes, CHECKPOINT_FILE).snapshot);
      console.error(`resumed from step ${trainer.step}`);
    }
  }
  // One segment per epoch, with a checkpoint after each (files on disk, as the studio's OPFS).
  let checkpointStep: number | undefined;
  while (!trainer.finished) {
    const epochEnd = (Math.floor(trainer.step / trainer.stepsPerEpoch) + 1) * trainer.stepsPerEpoch;
    try {
      await trainer.train(() => trainer.step >= epochEnd);
    } catch (error) {
      if (!(error instanceof DivergenceError)) throw error;
      // The cut-short step's GPU work is still queued: exiting under it crashes Dawn at exit.
      await gpu.device.queue.onSubmittedWorkDone();
      progress.done();
      const kept = checkpointStep === undefined ? 'no checkpoint was written before it' : `the last finite checkpoint is ${join(outDir!, 'checkpoints', CHECKPOINT_FILE)} (step ${checkpointStep})`;
      throw new Error(`${error.message}; ${kept}; no exports written`);
    }
    if (store) {
      await store.save(CHECKPOINT_FILE, await checkpoint());
      checkpointStep = trainer.step;
    }
  }
  progress.done();
  if (gpu.errors.length) throw new Error(`WebGPU reported errors: ${gpu.errors.join('; ')}`);
  const spectrum = await trainer.deltaSpectrum();
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.error(
    `ΔW over ${spectrum.modules.length} modules: effective rank median ${median(spectrum.modules.map((m) => m.effectiveRank)).toFixed(1)}, ` +
      `top-8 share of ‖ΔW‖²_F median ${median(spectrum.modules.map((m) => m.energyTop8)).toFixed(3)}` +
      (outDir ? ` (per module: ${join(outDir, DELTA_SPECTRUM_FILE)})` : ''),
  );
  const best = trainer.best && { step: trainer.best.step, metric: trainer.watchedMetric, metrics: trainer.best.metrics };
  console.log(JSON.stringify({ steps: trainer.step, metrics: trainer.lastMetrics, best, stoppedEarly: trainer.stoppedEarly, seconds: trainer.trainingSeconds, tokens: trainer.trainingTokens }));
  if (flags.log) await writeFile(flags.log, trainer.log.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (outDir && store) {
    for (const kind of ['vectors', 'merged', 'log'] as const) {
      const dir = kind === 'log' ? outDir : join(outDir, kind);
      await mkdir(dir, { recursive: true });
      for (const file of await buildExport(trainer, kind)) await writeFile(join(dir, file.name), new Uint8Array(file.bytes));
    }
    if (loraRank) {
      const dir = join(outDir, 'lora');
      await mkdir(dir, { recursive: true });
      const files = await buildExport(trainer, 'lora', { rank: loraRank });
      for (const file of files) await writeFile(join(dir, file.name), new Uint8Array(file.bytes));
      const report = JSON.parse(new TextDecoder().decode(files.find((f) => f.name === LORA_REPORT_FILE)!.bytes));
      const logits = report.validation_logits;
      console.error(
        `LoRA rank ${loraRank}: relative truncation error ${report.overall_truncation_error.toFixed(4)} overall` +
          (logits ? `, validation logits move by at most ${logits.max_abs_change.toExponential(2)} (relative ${logits.relative_change.toExponential(2)})` : ''),
      );
    }
    if (best && best.step !== trainer.step) {
      for (const kind of ['vectors', 'merged'] as const) {
        const dir = join(outDir, 'best', kind);
        await mkdir(dir, { recursive: true });
        for (const file of await buildExport(trainer, kind, { which: 'best' })) await writeFile(join(dir, file.name), new Uint8Array(file.bytes));
      }
    }
    console.error(`exports written to ${outDir}`);
  }
}

/** A QA or NER data file read with the model's tokenizer, or null for any other data (or a folder). */
async function readTokenTaskInput(model: ModelFiles, path: string, flags: Flags) {
  if (!(await stat(path).catch(() => null))?.isFile()) return null;
  const fraction = flags['val-fraction'] === undefined ? undefined : Number(flags['val-fraction']);
  if (fraction !== undefined && !(fraction > 0 && fraction < 1)) throw new UsageError(`--val-fraction must be between 0 and 1, got ${flags['val-fraction']}`);
  return readTokenTaskDataset(model, path, {
    val: flags.val, valFraction: fraction, limit: int(flags, 'limit'),
    maxLength: int(flags, 'max-length'), nerMaxLength: defaultConfig(1).maxLength, stride: int(flags, 'stride'),
  });
}

const CHECKPOINT_FILE = 'latest.safetensors';

async function encodeCheckpointOf(trainer: Trainer, config: TrainConfig, modelName: string, datasetName: string): Promise<Uint8Array> {
  return encodeCheckpoint({ snapshot: await trainer.snapshot(), config, modelName, datasetName });
}

/** One status line on stderr, rewritten in place; evaluations and AVF events get their own. */
class ProgressLine {
  private last = '';
  show(event: EngineEvent): void {
    if (event.type === 'step') {
      const width = 30;
      const filled = Math.round((width * event.step) / event.totalSteps);
      const eta = (event.totalSteps - event.step) / Math.max(event.stepsPerSecond, 1e-9);
      this.write(
        `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(4)} ` +
          `lr ${event.lr.toExponential(2)} ${event.stepsPerSecond.toFixed(2)} steps/s ${Math.round(event.tokensPerSecond)} tok/s ETA ${Math.round(eta)}s`,
      );
    } else if (event.type === 'eval') {
      this.line(`eval @ step ${event.step}: ${Object.entries(event.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
    } else if (event.type === 'earlyStop') {
      this.line(`early stop @ step ${event.step}: ${event.metric} has not improved on ${event.best.toFixed(4)} (step ${event.bestStep})`);
    } else if (event.type === 'avf') {
      const name = (v: { layer: number; module: string; kind: string }) => `L${v.layer}.${v.kind === 'sigma' ? 'Σ' : 'b'}${v.module}`;
      this.line(`AVF @ step ${event.step}: froze ${event.frozen.map(name).join(' ') || '—'}; released ${event.released.map(name).join(' ') || '—'}`);
    } else if (event.type === 'progress' && event.phase === 'reading' && event.done === event.total) {
      this.line(event.message);
    } else if (event.type === 'progress' && event.phase === 'factoring') {
      this.write(`factoring ${event.done}/${event.total} ${event.message}`);
    }
  }
  private write(text: string): void {
    if (!process.stderr.isTTY) return;
    this.last = text;
    process.stderr.write(`\r${text.padEnd(110).slice(0, 110)}`);
  }
  private line(text: string): void {
    if (this.last && process.stderr.isTTY) process.stderr.write('\n');
    this.last = '';
    process.stderr.write(`${text}\n`);
  }
  done(): void {
    if (this.last && process.stderr.isTTY) process.stderr.write('\n');
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'grads') await grads(parseFlags(rest));
    else if (command === 'train') await train(parseFlags(rest));
    else if (command === 'generate') await generateCommand(parseFlags(rest));
    else {
      console.log(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
    return 0;
  } catch (error) {
    console.error(`vectorfit ${command}: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

// Dawn keeps the process alive while its instance exists: exit explicitly.
process.exit(await main(process.argv.slice(2)));
