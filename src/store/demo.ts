// The embedded demos: public/demo/ (a BERT on SST-2 sentences, loaded on first paint) and
// public/demo-vit/ (a tiny ViT pre-trained on digits 0–4, to fine-tune on digits 5–9). Each
// manifest.json names a model folder, a training file (a table, or a zipped image folder) and
// maybe a validation file, and the settings that make one click train visibly within a minute on
// a software adapter. The files go through the same store actions as dropped files.
import type { TrainConfig } from '../train/types.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';

interface DemoManifest {
  model: { name: string; files: string[] };
  dataset: { name: string; train: string; validation?: string };
  config?: Partial<TrainConfig>;
}

export type DemoName = 'text' | 'vit';

const DEMO_ROOTS: Record<DemoName, string> = { text: '/demo/', vit: '/demo-vit/' };

async function fetchFile(root: string, path: string, name: string): Promise<File> {
  const response = await fetch(root + path);
  if (!response.ok) throw new Error(`${path}: the demo file could not be fetched (HTTP ${response.status}).`);
  return new File([await response.arrayBuffer()], name);
}

let lastDemo: Promise<void> = Promise.resolve();
/** Settles when the last demo load has applied its files (or failed). */
export const demoSettled = () => lastDemo;

export function loadDemo(name: DemoName = 'text'): Promise<void> {
  lastDemo = fetchDemo(DEMO_ROOTS[name]);
  return lastDemo;
}

async function fetchDemo(root: string) {
  const errors = useErrors.getState();
  errors.clear('demo');
  try {
    const response = await fetch(root + 'manifest.json');
    if (!response.ok) throw new Error(`manifest.json: the demo manifest could not be fetched (HTTP ${response.status}).`);
    const manifest = (await response.json()) as DemoManifest;
    const { model, dataset } = manifest;
    // Everything is fetched before anything is applied, so the stores change in one burst and the
    // engine gets a single (debounced) load with the demo's settings.
    const [modelFiles, train, validation] = await Promise.all([
      Promise.all(model.files.map(async (f) => ({ path: `${model.name}/${f}`, file: await fetchFile(root, `model/${f}`, f) }))),
      fetchFile(root, dataset.train, dataset.train),
      dataset.validation ? fetchFile(root, dataset.validation, dataset.validation) : null,
    ]);
    const files = useFiles.getState();
    await files.dropModel(modelFiles);
    await files.dropDataset('train', { path: train.name, file: train });
    if (validation) await files.dropDataset('validation', { path: validation.name, file: validation });
    await files.datasetSettled();
    const built = useFiles.getState().dataset;
    if (built) useConfig.getState().resetFor(built.train.length, manifest.config);
  } catch (error) {
    errors.report('demo', error);
  }
}
