import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelFiles } from './types.ts';
import { ModelFolderError, readModelFolder, readTokenizerFiles, tokenizerFolder } from './model-folder.ts';
import { readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.ts';

const SHARED = new URL('../../../shared/', import.meta.url);

function arrayBuffer(bytes: Uint8Array | string): ArrayBuffer {
  const u8 = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}

/** A folder on disk as a directory drop gives it: every path behind the folder's name. */
function folderFromDisk(dir: string, prefix: string): ModelFiles {
  const files: Record<string, ArrayBuffer> = {};
  for (const name of readdirSync(new URL(dir, SHARED))) files[`${prefix}/${name}`] = arrayBuffer(readFileSync(new URL(`${dir}/${name}`, SHARED)));
  return { name: prefix, files };
}

const CONFIG = JSON.stringify({ model_type: 'bert', hidden_size: 2 });
const weights = (...names: string[]) => arrayBuffer(writeSafetensors(names.map((name, i) => ({ name, dtype: 'F32', shape: [2], data: [i, -i] }))));

/** An ArrayBuffer that throws if anything reads it: proves pickles are never opened. */
function untouchable(): ArrayBuffer {
  const buffer = new ArrayBuffer(16);
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
}

function expectError(model: ModelFiles, message: RegExp, file?: string): void {
  let error: unknown;
  try {
    readModelFolder(model);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ModelFolderError);
  expect((error as Error).message).toMatch(message);
  expect((error as ModelFolderError).file).toBe(file);
}

describe('readModelFolder reads the real folders', () => {
  it.each(['bert', 'bert-regression', 'roberta', 'distilbert'])('hf-tiny/%s with its tokenizer files', (folder) => {
    const model = folderFromDisk(`fixtures/hf-tiny/${folder}`, folder);
    const read = readModelFolder(model);
    const direct = readSafetensors(readFileSync(new URL(`fixtures/hf-tiny/${folder}/model.safetensors`, SHARED)), 'direct');
    expect(read.name).toBe(folder);
    expect(read.config.model_type).toBe(folder.replace('-regression', ''));
    expect([...read.tensors.keys()]).toEqual([...direct.tensors.keys()]);
    for (const [name, t] of direct.tensors) expect([...read.tensors.get(name)!.data], name).toEqual([...t.data]);
    expect(read.tokenizer.tokenizerJson).toHaveProperty('model');
    expect(read.tokenizer.tokenizerConfig).toHaveProperty('tokenizer_class');
    if (folder === 'roberta') {
      expect(read.tokenizer.vocabJson).toHaveProperty('<pad>', 1);
      expect(read.tokenizer.mergesTxt).toMatch(/^#version: 0\.2\nm i\n/);
      expect(read.tokenizer.vocabTxt).toBeUndefined();
    } else {
      expect(read.tokenizer.vocabTxt!.split('\n')).toContain('[CLS]');
      expect(read.tokenizer.vocabJson).toBeUndefined();
    }
    // The fixture's ref-grads.safetensors and data files are not part of the model.
    expect(read.sourceFiles).toContain(`${folder}/model.safetensors`);
    expect(read.sourceFiles.some((path) => path.includes('ref-grads') || path.includes('data.jsonl'))).toBe(false);
  });

  it.each(['bert', 'roberta'])('hf-tiny/%s: its tokenizer folder holds config.json and the tokenizer files, no weights, and reads as the whole folder does', (folder) => {
    const model = folderFromDisk(`fixtures/hf-tiny/${folder}`, folder);
    model.files[`${folder}/checkpoint-1/tokenizer.json`] = arrayBuffer('{}');
    const slim = tokenizerFolder(model);
    const names = Object.keys(slim.files).map((p) => p.slice(folder.length + 1)).sort();
    expect(names).toContain('config.json');
    expect(names.every((n) => n === 'config.json' || /^(tokenizer(_config)?\.json|special_tokens_map\.json|vocab\.(txt|json)|merges\.txt|spm\.model)$/.test(n)), names.join()).toBe(true);
    expect(names.length).toBeGreaterThan(2);
    expect(readTokenizerFiles(slim)).toEqual(readModelFolder(model).tokenizer);
  });

  it('the sharded demo model, as the union of its shards', () => {
    const model = folderFromDisk('models/vectorfit-demo-bert-tiny', 'vectorfit-demo-bert-tiny');
    const read = readModelFolder(model);
    const weightMap = JSON.parse(readFileSync(new URL('models/vectorfit-demo-bert-tiny/model.safetensors.index.json', SHARED), 'utf8')).weight_map;
    expect(new Set(read.tensors.keys())).toEqual(new Set(Object.keys(weightMap)));
    const embeddings = read.tensors.get('bert.embeddings.word_embeddings.weight')!;
    expect(embeddings.shape).toEqual([30522, 128]);
    const shard1 = readSafetensors(readFileSync(new URL('models/vectorfit-demo-bert-tiny/model-00001-of-00002.safetensors', SHARED)), 'shard');
    expect(embeddings.data.subarray(-5)).toEqual(shard1.tensors.get('bert.embeddings.word_embeddings.weight')!.data.subarray(-5));
    expect(read.config.architectures).toEqual(['BertForMaskedLM']);
    expect(read.tokenizer.specialTokensMap).toHaveProperty('cls_token', '[CLS]');
    expect(read.sourceFiles).toEqual(expect.arrayContaining(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].map((f) => `vectorfit-demo-bert-tiny/${f}`)));
  });
});

describe('readModelFolder', () => {
  it('finds the model under a leading folder and ignores checkpoint subfolders', () => {
    const read = readModelFolder({
      name: 'drop',
      files: {
        'my-model/config.json': arrayBuffer(CONFIG),
        'my-model/model.safetensors': weights('a'),
        'my-model/checkpoint-500/config.json': arrayBuffer('not even JSON'),
        'my-model/checkpoint-500/model.safetensors': weights('b'),
      },
    });
    expect([...read.tensors.keys()]).toEqual(['a']);
    expect(read.sourceFiles).toEqual(['my-model/config.json', 'my-model/model.safetensors']);
  });

  it('renames old LayerNorm.gamma/beta keys to weight/bias as Hugging Face does on load', () => {
    const read = readModelFolder({
      name: 'old-bert',
      files: { 'config.json': arrayBuffer(CONFIG), 'model.safetensors': weights('bert.embeddings.LayerNorm.gamma', 'bert.embeddings.LayerNorm.beta', 'bert.pooler.dense.weight', 'gamma') },
    });
    expect([...read.tensors.keys()].sort()).toEqual(['bert.embeddings.LayerNorm.bias', 'bert.embeddings.LayerNorm.weight', 'bert.pooler.dense.weight', 'gamma']);
    expect([...read.tensors.get('bert.embeddings.LayerNorm.weight')!.data]).toEqual([0, -0]);
    expectError(
      { name: 'both', files: { 'config.json': arrayBuffer(CONFIG), 'model.safetensors': weights('x.LayerNorm.weight', 'x.LayerNorm.gamma') } },
      /both: the weights hold both "x.LayerNorm.gamma" and "x.LayerNorm.weight"/,
    );
  });

  it('ignores pickled weights beside safetensors, without reading them', () => {
    const read = readModelFolder({ name: 'm', files: { 'config.json': arrayBuffer(CONFIG), 'model.safetensors': weights('a'), 'pytorch_model.bin': untouchable() } });
    expect(read.sourceFiles).toEqual(['config.json', 'model.safetensors']);
  });
});

describe('readModelFolder refuses', () => {
  it.each(['pytorch_model.bin', 'model.pt', 'weights.pth', 'last.ckpt', 'pytorch_model-00001-of-00002.bin'])('pickled weights (%s) when they are the only weights, unread', (pickle) => {
    expectError(
      { name: 'm', files: { 'm/config.json': arrayBuffer(CONFIG), [`m/${pickle}`]: untouchable(), 'm/training_args.bin': untouchable() } },
      new RegExp(`^m/${pickle.replace('.', '\\.')} is a pickled PyTorch checkpoint.*Convert it to safetensors`),
      `m/${pickle}`,
    );
  });

  it('other weight formats, naming them', () => {
    expectError({ name: 'm', files: { 'config.json': arrayBuffer(CONFIG), 'tf_model.h5': untouchable() } }, /tf_model\.h5 is a TensorFlow .*Convert it to safetensors/, 'tf_model.h5');
  });

  it('a folder without config.json', () => {
    expectError({ name: 'm', files: { 'm/model.safetensors': weights('a') } }, /^m: no config\.json/);
  });

  it('two model folders at once', () => {
    expectError({ name: 'drop', files: { 'a/config.json': arrayBuffer(CONFIG), 'b/config.json': arrayBuffer(CONFIG) } }, /several model folders \(a\/config\.json, b\/config\.json\)/);
  });

  it('a config.json that is not JSON, naming the file and the position', () => {
    expectError({ name: 'm', files: { 'm/config.json': arrayBuffer('{\n  "model_type": "bert",\n}'), 'm/model.safetensors': weights('a') } }, /^m\/config\.json is not valid JSON: expected a key in double quotes, found "\}" at line 3, column 1\.$/, 'm/config.json');
    expectError({ name: 'm', files: { 'config.json': arrayBuffer('[1]') } }, /config\.json does not hold a JSON object/, 'config.json');
    expectError({ name: 'm', files: { 'config.json': arrayBuffer(new Uint8Array([0x7b, 0xff, 0x7d])) } }, /config\.json is not UTF-8 text/, 'config.json');
  });

  it('broken tokenizer files, naming them', () => {
    const base = { 'config.json': arrayBuffer(CONFIG), 'model.safetensors': weights('a') };
    expectError({ name: 'm', files: { ...base, 'tokenizer.json': arrayBuffer('{"model": ') } }, /^tokenizer\.json is not valid JSON: unexpected end of text at line 1, column 11/, 'tokenizer.json');
    expectError({ name: 'm', files: { ...base, 'vocab.txt': arrayBuffer(new Uint8Array([0x61, 0xc3])) } }, /vocab\.txt is not UTF-8/, 'vocab.txt');
  });

  it('a folder with no weights at all', () => {
    expectError({ name: 'm', files: { 'config.json': arrayBuffer(CONFIG), 'training_args.bin': untouchable() } }, /^m: no weights\. Expected model\.safetensors/);
    expectError({ name: 'm', files: { 'config.json': arrayBuffer(CONFIG), 'model-00001-of-00002.safetensors': weights('a') } }, /found model-00001-of-00002\.safetensors but neither model\.safetensors nor model\.safetensors\.index\.json/, 'model-00001-of-00002.safetensors');
  });

  it('damaged safetensors, naming the file as dropped', () => {
    let error: unknown;
    try {
      readModelFolder({ name: 'm', files: { 'm/config.json': arrayBuffer(CONFIG), 'm/model.safetensors': weights('a').slice(0, 30) } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message).toMatch(/^m\/model\.safetensors: /);
  });

  describe('sharded weights', () => {
    const index = (weightMap: unknown) => arrayBuffer(JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = (weightMap: unknown, shards: Record<string, ArrayBuffer>): ModelFiles => ({
      name: 'm',
      files: { 'm/config.json': arrayBuffer(CONFIG), 'm/model.safetensors.index.json': index(weightMap), ...Object.fromEntries(Object.entries(shards).map(([k, v]) => [`m/${k}`, v])) },
    });

    it('read when consistent', () => {
      const read = readModelFolder(sharded({ a: 's1.safetensors', b: 's2.safetensors', c: 's1.safetensors' }, { 's1.safetensors': weights('a', 'c'), 's2.safetensors': weights('b') }));
      expect([...read.tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
      expect([...read.tensors.get('c')!.data]).toEqual([1, -1]);
    });
    it('with a listed shard missing', () => {
      expectError(sharded({ a: 's1.safetensors', b: 's2.safetensors' }, { 's1.safetensors': weights('a') }), /index\.json lists the shard m\/s2\.safetensors, which is not among the dropped files/, 'm/model.safetensors.index.json');
    });
    it('with a tensor in two shards', () => {
      expectError(sharded({ a: 's1.safetensors', b: 's2.safetensors' }, { 's1.safetensors': weights('a'), 's2.safetensors': weights('b', 'a') }), /Tensor "a" is in two shards, m\/s1\.safetensors and m\/s2\.safetensors/, 'm/s2.safetensors');
    });
    it('with a tensor the index places in a shard that lacks it', () => {
      expectError(sharded({ a: 's1.safetensors', b: 's1.safetensors' }, { 's1.safetensors': weights('a') }), /puts "b" in s1\.safetensors, but that shard does not hold it/, 'm/model.safetensors.index.json');
    });
    it('with a weight_map that is not a map of file names', () => {
      expectError(sharded(['s1.safetensors'], {}), /"weight_map" is not an object/, 'm/model.safetensors.index.json');
      expectError(sharded({ a: 3 }, {}), /"weight_map" is not an object/, 'm/model.safetensors.index.json');
    });
  });
});
