// Where the real models and data live: ../shared beside the repository (as in CI), or the copies
// embedded in public/demo when that folder is absent.
import { existsSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const hasShared = existsSync(path.join(shared, 'models', 'vectorfit-demo-bert-tiny'));

export const demoModelDir = hasShared
  ? path.join(shared, 'models', 'vectorfit-demo-bert-tiny')
  : path.join(repoRoot, 'public', 'demo', 'model');
export const sst2Train = hasShared ? path.join(shared, 'data', 'glue', 'SST-2', 'train.tsv') : path.join(repoRoot, 'public', 'demo', 'sst2-train-1024.tsv');
export const sst2Dev = hasShared ? path.join(shared, 'data', 'glue', 'SST-2', 'dev.tsv') : path.join(repoRoot, 'public', 'demo', 'sst2-dev-256.tsv');
/** GLUE CoLA as distributed (../shared only, like the fixtures). */
export const colaDev = path.join(shared, 'data', 'glue', 'CoLA', 'dev.tsv');
/** The tiny BERT written by transformers (../shared only: it is a test fixture, not a demo file). */
export const tinyBertDir = path.join(shared, 'fixtures', 'hf-tiny', 'bert');
/** The tiny DeBERTa-v3 written by transformers (../shared only, like the tiny BERT). */
export const tinyDebertaDir = path.join(shared, 'fixtures', 'hf-tiny', 'deberta-v3');
