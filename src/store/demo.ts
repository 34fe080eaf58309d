// The embedded demo: public/demo/manifest.json names a model folder, a training and a validation
// file, and the settings that make one click train visibly within a minute on a software adapter.
// The files go through the same store actions as dropped files.
import type { TrainConfig } from '../worker/protocol.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';

interface DemoManifest {
  model: { name: string; files: string[] };
  dataset: { name: string; train: string; validation?: string };
  config?: Partial<TrainConfig>;
}

const DEMO_ROOT = '/demo/';

async function fetchFile(path: string, name: string): Promise<File> {
  const response = await fetch(DEMO_ROOT + path);
  if (!response.ok) throw new Error(`${path}: the demo file could not be fetched (HTTP ${response.status}).`);
  return new File([await response.arrayBuffer()], name);
}

export async function loadDemo() {
  const errors = useErrors.getState();
  errors.clear('demo');
  try {
    const response = await fetch(DEMO_ROOT + 'manifest.json');
    if (!response.ok) throw new Error(`manifest.json: the demo manifest could not be fetched (HTTP ${response.status}).`);
    const manifest = (await response.json()) as DemoManifest;
    const { model, dataset } = manifest;
    const modelFiles = await Promise.all(
      model.files.map(async (f) => ({ path: `${model.name}/${f}`, file: await fetchFile(`model/${f}`, f) })),
    );
    const files = useFiles.getState();
    await files.dropModel(modelFiles);
    await files.dropDataset('train', { path: dataset.train, file: await fetchFile(dataset.train, dataset.train) });
    if (dataset.validation) {
      const path = dataset.validation;
      await files.dropDataset('validation', { path, file: await fetchFile(path, path) });
    }
    const built = useFiles.getState().dataset;
    if (built) useConfig.getState().resetFor(built.train.length, manifest.config);
  } catch (error) {
    errors.report('demo', error);
  }
}
