// A Hugging Face model folder as the user dropped it (a directory, loose files or a zip): config.json,
// safetensors weights (single or sharded), tokenizer files. Pickled checkpoints are refused unread:
// unpickling runs arbitrary code.

import type { ModelFiles } from './types.ts';
import { readSafetensors, type TensorEntry } from './safetensors.ts';
import { JsonSyntaxError, parseJson } from './strict-json.ts';

export class ModelFolderError extends Error {
  constructor(
    message: string,
    /** The file at fault, as the user dropped it; absent when the problem is a missing file. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

export interface TokenizerFiles {
  tokenizerJson?: object;
  tokenizerConfig?: object;
  vocabTxt?: string;
  vocabJson?: object;
  mergesTxt?: string;
  specialTokensMap?: object;
  /** SentencePiece model (DeBERTa-v2/v3 ship it instead of tokenizer.json). */
  spmModel?: Uint8Array;
}

export interface ModelFolder {
  name: string;
  /** Parsed config.json. */
  config: Record<string, unknown>;
  /** Every weight, with old `LayerNorm.gamma`/`beta` names renamed to `weight`/`bias`. */
  tensors: Map<string, TensorEntry>;
  tokenizer: TokenizerFiles;
  /** The paths that were read, as given in ModelFiles. */
  sourceFiles: string[];
}

const SINGLE_WEIGHTS = 'model.safetensors';
const SHARD_INDEX = 'model.safetensors.index.json';
/** Pickled PyTorch weights: recognised to explain the refusal, never opened. */
const PICKLE = /\.(bin|pt|pth|ckpt)$/i;
/** Trainer state saved beside checkpoints: pickles, but not weights. */
const TRAINER_STATE = /^(training_args\.bin|optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth)$/;
const OTHER_FORMATS: [RegExp, string][] = [
  [/\.h5$/i, 'a TensorFlow (Keras H5) checkpoint'],
  [/\.msgpack$/i, 'a Flax checkpoint'],
  [/\.onnx$/i, 'an ONNX model'],
  [/\.gguf$/i, 'a GGUF file'],
];
const CONVERT_HINT =
  'Convert it to safetensors first, e.g. in Python: AutoModel.from_pretrained(folder).save_pretrained(out, safe_serialization=True).';

/** Reads a dropped model folder; throws ModelFolderError or SafetensorsError naming the file and the problem. */
export function readModelFolder(model: ModelFiles): ModelFolder {
  const { root, inRoot } = rootFiles(model);
  const sourceFiles: string[] = [];
  const read = (baseName: string): { path: string; bytes: ArrayBuffer } | undefined => {
    const path = inRoot.get(baseName);
    if (path === undefined) return undefined;
    sourceFiles.push(path);
    return { path, bytes: model.files[path] };
  };

  const configFile = read('config.json')!;
  const config = parseJsonObject(configFile.bytes, configFile.path);

  const single = read(SINGLE_WEIGHTS);
  const index = single ? undefined : read(SHARD_INDEX);
  let tensors: Map<string, TensorEntry>;
  if (single) tensors = readSafetensors(single.bytes, single.path).tensors;
  else if (index) tensors = readShards(parseJsonObject(index.bytes, index.path), index.path, root, read);
  else throw noWeightsError(model.name, root, [...inRoot.keys()]);

  const tokenizer = readTokenizer(read);
  return { name: model.name, config, tensors: renameLegacyKeys(tensors, model.name), tokenizer, sourceFiles };
}

/** The base names of the tokenizer files a folder may hold beside config.json. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'spm.model'];

/** The folder's config.json and tokenizer files without its weights: what another thread (the
 * QA/NER tokenizing worker) needs to make the tokenizer, at a fraction of the bytes. */
export function tokenizerFolder(model: ModelFiles): ModelFiles {
  const { inRoot } = rootFiles(model);
  const files: Record<string, ArrayBuffer> = {};
  for (const [base, path] of inRoot) if (base === 'config.json' || TOKENIZER_FILES.includes(base)) files[path] = model.files[path];
  return { name: model.name, files };
}

/** The tokenizer files of a model folder (whole, or as tokenizerFolder gives it), parsed. */
export function readTokenizerFiles(model: ModelFiles): TokenizerFiles {
  const { inRoot } = rootFiles(model);
  return readTokenizer((baseName) => {
    const path = inRoot.get(baseName);
    return path === undefined ? undefined : { path, bytes: model.files[path] };
  });
}

/** The root folder and its files (not those of subfolders), by base name. */
function rootFiles(model: ModelFiles): { root: string; inRoot: Map<string, string> } {
  const root = findRoot(model);
  const inRoot = new Map<string, string>();
  for (const path of Object.keys(model.files)) {
    if (path.startsWith(root) && !path.slice(root.length).includes('/')) inRoot.set(path.slice(root.length), path);
  }
  return { root, inRoot };
}

function readTokenizer(read: (baseName: string) => { path: string; bytes: ArrayBuffer } | undefined): TokenizerFiles {
  const json = (baseName: string) => {
    const file = read(baseName);
    return file && parseJsonObject(file.bytes, file.path);
  };
  const text = (baseName: string) => {
    const file = read(baseName);
    return file && decodeText(file.bytes, file.path);
  };
  const bytes = (baseName: string) => {
    const file = read(baseName);
    return file && new Uint8Array(file.bytes);
  };
  return {
    tokenizerJson: json('tokenizer.json'),
    tokenizerConfig: json('tokenizer_config.json'),
    specialTokensMap: json('special_tokens_map.json'),
    vocabTxt: text('vocab.txt'),
    vocabJson: json('vocab.json'),
    mergesTxt: text('merges.txt'),
    spmModel: bytes('spm.model'),
  };
}

/** The folder (with a trailing '/', or '') of the shallowest config.json: a dropped directory may
 * carry a leading folder name, and checkpoint-N subfolders their own configs. */
function findRoot(model: ModelFiles): string {
  const configs = Object.keys(model.files).filter((path) => baseName(path) === 'config.json');
  if (configs.length === 0) {
    throw new ModelFolderError(`${model.name}: no config.json. A Hugging Face model folder has config.json beside its weights; drop the whole folder.`);
  }
  const depth = (path: string) => path.split('/').length;
  const shallowest = Math.min(...configs.map(depth));
  const top = configs.filter((path) => depth(path) === shallowest);
  if (top.length > 1) {
    throw new ModelFolderError(`${model.name}: several model folders (${top.join(', ')}); drop one at a time.`);
  }
  return top[0].slice(0, top[0].length - 'config.json'.length);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function readShards(
  index: Record<string, unknown>,
  indexPath: string,
  root: string,
  read: (baseName: string) => { path: string; bytes: ArrayBuffer } | undefined,
): Map<string, TensorEntry> {
  const weightMap = index.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap) || !Object.values(weightMap).every((v) => typeof v === 'string')) {
    throw new ModelFolderError(`${indexPath}: "weight_map" is not an object from tensor names to shard files.`, indexPath);
  }
  const shardOf = weightMap as Record<string, string>;
  const tensors = new Map<string, TensorEntry>();
  const foundIn = new Map<string, string>();
  for (const shard of new Set(Object.values(shardOf))) {
    const file = read(shard);
    if (!file) throw new ModelFolderError(`${indexPath} lists the shard ${root}${shard}, which is not among the dropped files.`, indexPath);
    for (const [name, entry] of readSafetensors(file.bytes, file.path).tensors) {
      const other = foundIn.get(name);
      if (other !== undefined) throw new ModelFolderError(`Tensor ${JSON.stringify(name)} is in two shards, ${other} and ${file.path}.`, file.path);
      foundIn.set(name, file.path);
      tensors.set(name, entry);
    }
  }
  for (const [name, shard] of Object.entries(shardOf)) {
    if (foundIn.get(name) !== root + shard) {
      throw new ModelFolderError(`${indexPath} puts ${JSON.stringify(name)} in ${shard}, but that shard does not hold it.`, indexPath);
    }
  }
  return tensors;
}

function noWeightsError(modelName: string, root: string, names: string[]): ModelFolderError {
  const pickle = names.find((name) => PICKLE.test(name) && !TRAINER_STATE.test(name));
  if (pickle) {
    return new ModelFolderError(
      `${root}${pickle} is a pickled PyTorch checkpoint, which VectorFit Studio does not open (unpickling can run arbitrary code). ${CONVERT_HINT}`,
      root + pickle,
    );
  }
  for (const [pattern, what] of OTHER_FORMATS) {
    const file = names.find((name) => pattern.test(name));
    if (file) return new ModelFolderError(`${root}${file} is ${what}, which VectorFit Studio does not read. ${CONVERT_HINT}`, root + file);
  }
  const stray = names.filter((name) => name.endsWith('.safetensors'));
  if (stray.length > 0) {
    return new ModelFolderError(
      `${modelName}: found ${stray.join(', ')} but neither ${SINGLE_WEIGHTS} nor ${SHARD_INDEX} (shards need their index file).`,
      root + stray[0],
    );
  }
  return new ModelFolderError(`${modelName}: no weights. Expected ${SINGLE_WEIGHTS}, or ${SHARD_INDEX} with its shards, beside config.json.`);
}

/** Old BERT checkpoints (ported from TensorFlow) name LayerNorm parameters gamma/beta; Hugging Face
 * renames them on load. */
function renameLegacyKeys(tensors: Map<string, TensorEntry>, modelName: string): Map<string, TensorEntry> {
  const renamed = new Map<string, TensorEntry>();
  for (const [name, entry] of tensors) {
    const newName = name.endsWith('LayerNorm.gamma')
      ? `${name.slice(0, -'gamma'.length)}weight`
      : name.endsWith('LayerNorm.beta')
        ? `${name.slice(0, -'beta'.length)}bias`
        : name;
    if (newName !== name && tensors.has(newName)) {
      throw new ModelFolderError(`${modelName}: the weights hold both ${JSON.stringify(name)} and ${JSON.stringify(newName)} (the old name of the same LayerNorm parameter).`);
    }
    renamed.set(newName, entry);
  }
  return renamed;
}

function decodeText(bytes: ArrayBuffer, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelFolderError(`${path} is not UTF-8 text.`, path);
  }
}

function parseJsonObject(bytes: ArrayBuffer, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJson(decodeText(bytes, path), { rejectDuplicateKeys: false });
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ModelFolderError(`${path} is not valid JSON: ${error.message}.`, path);
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ModelFolderError(`${path} does not hold a JSON object.`, path);
  return value as Record<string, unknown>;
}
