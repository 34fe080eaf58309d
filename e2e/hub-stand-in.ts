// A local stand-in for the Hugging Face Hub's URL layout (no network in tests), serving real files
// from ../shared: the tree listing `GET /api/{models|datasets}/<id>/tree/<revision>`, downloads
// `GET /<id>/resolve/<revision>/<path>` and `/datasets/<id>/resolve/…` with Range requests and
// ETags, large (LFS) files redirected to a CDN path as the Hub does, a gated repository that needs
// a token, and CORS as the Hub answers it. Besides the tiny BERT's sentences, cuts of the QA and NER
// sets in data/ are served as the Hub's Parquet conversion of squad and wnut_17 stores them. Run: node --import ./scripts/register-raw.mjs e2e/hub-stand-in.ts
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { writeParquet } from '../src/io/datasetParquetWriter.ts';
import { parseConll } from '../src/io/ner-data.ts';
import { parseSquadJson } from '../src/io/qa-data.ts';
import { nerParquet, squadParquet } from '../src/test/hub-token-parquet.ts';
import { tinyBertDir } from './paths.ts';

export const HUB_STAND_IN_PORT = 4874;
export const STAND_IN_TOKEN = 'hf_stand_in_token';
export const STAND_IN_MODEL = 'vectorfit-test/tiny-bert';
export const STAND_IN_GATED_MODEL = 'vectorfit-test/gated-tiny-bert';
export const STAND_IN_DATASET = 'vectorfit-test/tiny-sentences';
export const STAND_IN_QA_DATASET = 'vectorfit-test/xquad-en-cut';
export const STAND_IN_NER_DATASET = 'vectorfit-test/wnut17-cut';

interface RepoFile {
  bytes: Buffer;
  lfs: boolean;
}

/** The tiny BERT's own labelled sentences (3 classes, as its classifier) as a Hub Parquet split. */
function tinyParquet(rows: number): Buffer {
  const lines = readFileSync(path.join(tinyBertDir, 'data.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, rows);
  const records = lines.map((line) => JSON.parse(line) as { text: string; label: number });
  const features = { text: { dtype: 'string', _type: 'Value' }, label: { names: ['first', 'second', 'third'], _type: 'ClassLabel' } };
  return Buffer.from(
    writeParquet(
      [
        { name: 'text', type: 'string', values: records.map((r) => r.text) },
        { name: 'label', type: 'int64', values: records.map((r) => BigInt(r.label)) },
      ],
      { huggingface: JSON.stringify({ info: { features } }) },
    ),
  );
}

const data = path.resolve(import.meta.dirname, '..', 'data');

/** The first `n` questions of data/squad-xquad-en/`file` as squad's Parquet. */
function squadCut(file: string, n: number): Buffer {
  return Buffer.from(squadParquet(parseSquadJson(readFileSync(path.join(data, 'squad-xquad-en', file), 'utf8'), file).slice(0, n)));
}

/** The first `n` sentences of data/wnut17/`file` as wnut_17's Parquet, tagged with `labelNames`. */
function conllCut(file: string, n: number, labelNames?: readonly string[]): { bytes: Buffer; labelNames: string[] } {
  const all = parseConll(readFileSync(path.join(data, 'wnut17', file), 'utf8'), file, labelNames);
  return { bytes: Buffer.from(nerParquet({ labelNames: all.labelNames, sentences: all.sentences.slice(0, n) })), labelNames: all.labelNames };
}

function nerRepo(): Map<string, RepoFile> {
  const train = conllCut('train.conll', 40);
  return new Map([
    ['wnut_17/train/0000.parquet', { bytes: train.bytes, lfs: true }],
    ['wnut_17/validation/0000.parquet', { bytes: conllCut('dev.conll', 8, train.labelNames).bytes, lfs: true }],
  ]);
}

function modelRepo(): Map<string, RepoFile> {
  const files = new Map<string, RepoFile>();
  for (const name of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) {
    files.set(name, { bytes: readFileSync(path.join(tinyBertDir, name)), lfs: name.endsWith('.safetensors') });
  }
  // What real repositories also hold, which the studio must leave alone.
  files.set('README.md', { bytes: Buffer.from('# tiny BERT\n<script>alert("never rendered as HTML")</script>\n'), lfs: false });
  files.set('pytorch_model.bin', { bytes: Buffer.from('pickled weights are never downloaded'), lfs: true });
  files.set('<img src=x onerror=alert(1)>.md', { bytes: Buffer.from('a file name that is markup'), lfs: false });
  return files;
}

/** repo key `<type>/<id>@<revision>` → files; gated repositories need the stand-in token. */
const repos = new Map<string, Map<string, RepoFile>>([
  [`model/${STAND_IN_MODEL}@main`, modelRepo()],
  [`model/${STAND_IN_GATED_MODEL}@main`, modelRepo()],
  [
    `dataset/${STAND_IN_DATASET}@refs/convert/parquet`,
    new Map([
      ['default/train/0000.parquet', { bytes: tinyParquet(12), lfs: true }],
      ['default/validation/0000.parquet', { bytes: tinyParquet(4), lfs: true }],
    ]),
  ],
  [
    `dataset/${STAND_IN_QA_DATASET}@refs/convert/parquet`,
    new Map([
      ['plain_text/train/0000.parquet', { bytes: squadCut('train.json', 12), lfs: true }],
      ['plain_text/validation/0000.parquet', { bytes: squadCut('dev.json', 6), lfs: true }],
    ]),
  ],
  [`dataset/${STAND_IN_NER_DATASET}@refs/convert/parquet`, nerRepo()],
]);
const gated = new Set([`model/${STAND_IN_GATED_MODEL}`]);

const sha = (algorithm: string, data: Buffer | string) => createHash(algorithm).update(data).digest('hex');
const gitOid = (bytes: Buffer) => sha('sha1', Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]));

function cors(res: ServerResponse) {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'authorization, range, accept, content-type');
  res.setHeader('Access-Control-Expose-Headers', 'content-range, etag, x-linked-etag, x-linked-size, x-error-code, x-repo-commit');
}

function fail(res: ServerResponse, status: number, code: string, error: string) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code });
  res.end(JSON.stringify({ error }));
}

function send(req: IncomingMessage, res: ServerResponse, bytes: Buffer, etag: string) {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  res.setHeader('ETag', `"${etag}"`);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', 'application/octet-stream');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': String(end - start + 1) });
    res.end(bytes.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { 'Content-Length': String(bytes.length) });
  res.end(bytes);
}

/** `[type, id, revision, rest]` of /api/<type>s/<owner>/<name>/tree/<rev>[/path] or a resolve URL. */
function parse(pathname: string): { kind: 'tree' | 'resolve'; type: 'model' | 'dataset'; id: string; revision: string; file: string } | null {
  const tree = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(pathname);
  if (tree) return { kind: 'tree', type: tree[1] === 'models' ? 'model' : 'dataset', id: tree[2], revision: decodeURIComponent(tree[3]), file: tree[4] ?? '' };
  const resolve = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(pathname);
  if (resolve) return { kind: 'resolve', type: resolve[1] ? 'dataset' : 'model', id: resolve[2], revision: decodeURIComponent(resolve[3]), file: decodeURIComponent(resolve[4]) };
  return null;
}

const cdn = new Map<string, Buffer>();

export function startHubStandIn(port = HUB_STAND_IN_PORT) {
  const server = createServer((req, res) => {
    cors(res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204);
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (url.pathname === '/__health') {
      res.end('ok');
      return;
    }
    const cdnPath = /^\/cdn-lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdnPath && cdn.has(cdnPath[1])) {
      send(req, res, cdn.get(cdnPath[1])!, cdnPath[1]);
      return;
    }
    const route = parse(url.pathname);
    if (!route) return fail(res, 404, 'RepoNotFound', 'Not found');
    const repo = repos.get(`${route.type}/${route.id}@${route.revision}`);
    if (!repo) return fail(res, 404, 'RepoNotFound', `Repository ${route.id} or revision ${route.revision} not found`);
    if (gated.has(`${route.type}/${route.id}`) && req.headers.authorization !== `Bearer ${STAND_IN_TOKEN}`) {
      return fail(res, 401, 'GatedRepo', `Access to model ${route.id} is restricted. You must have access to it and be authenticated to access it.`);
    }
    if (route.kind === 'tree') {
      const entries = [...repo.entries()].map(([file, { bytes, lfs }]) => ({
        type: 'file',
        oid: lfs ? gitOid(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha('sha256', bytes)}\nsize ${bytes.length}\n`)) : gitOid(bytes),
        size: bytes.length,
        path: file,
        ...(lfs && { lfs: { oid: sha('sha256', bytes), size: bytes.length, pointerSize: 134 } }),
      }));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(entries));
      return;
    }
    const file = repo.get(route.file);
    if (!file) return fail(res, 404, 'EntryNotFound', `${route.file} does not exist on "${route.revision}"`);
    if (file.lfs) {
      // Large files live on the CDN: the Hub answers with a redirect and the file's linked ETag.
      const hash = sha('sha256', file.bytes);
      cdn.set(hash, file.bytes);
      res.writeHead(302, { Location: `/cdn-lfs/${hash}`, 'X-Linked-ETag': `"${hash}"`, 'X-Linked-Size': String(file.bytes.length) });
      res.end();
      return;
    }
    send(req, res, file.bytes, gitOid(file.bytes));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) startHubStandIn(Number(process.argv[2] ?? HUB_STAND_IN_PORT));
