// Taking a model or a dataset from the Hugging Face Hub: nothing is requested until the user types
// an id and asks; the token lives in this store only (memory, never saved); the downloaded files
// go through the same store actions as dropped files.
import { create } from 'zustand';
import { DEFAULT_HUB_URL, isModelFile, PARQUET_REVISION } from '../io/hub-files.ts';
import type { HubAccess, HubFile, ParquetSplit } from '../io/hub.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';

/** The Hub's address: a build-time setting (VITE_HUB_URL) so tests can point at a local stand-in. */
export const HUB_URL = (import.meta.env.VITE_HUB_URL as string | undefined) || DEFAULT_HUB_URL;

export interface Transfer {
  done: number;
  total: number;
  file: string;
}

interface HubState {
  token: string;
  modelId: string;
  revision: string;
  /** The listed model files (null until listed). */
  modelFiles: HubFile[] | null;
  datasetId: string;
  splits: ParquetSplit[] | null;
  trainSplit: string;
  validationSplit: string;
  busy: 'model' | 'dataset' | null;
  transfer: Transfer | null;
  set(change: Partial<Pick<HubState, 'token' | 'modelId' | 'revision' | 'datasetId' | 'trainSplit' | 'validationSplit'>>): void;
}

export const useHub = create<HubState>()((set) => ({
  token: '',
  modelId: '',
  revision: 'main',
  modelFiles: null,
  datasetId: '',
  splits: null,
  trainSplit: '',
  validationSplit: '',
  busy: null,
  transfer: null,
  set(change) {
    set((s) => ({
      ...change,
      // A new id forgets the old listing.
      modelFiles: change.modelId !== undefined || change.revision !== undefined ? null : s.modelFiles,
      splits: change.datasetId !== undefined ? null : s.splits,
    }));
  },
}));

/** The Hub client is loaded with the first request, not with the page. */
const client = () => import('../io/hub.ts');

const access = (): HubAccess => ({ hubUrl: HUB_URL, accessToken: useHub.getState().token.trim() || undefined });
export const splitKey = (s: ParquetSplit) => `${s.config}/${s.split}`;

async function task(kind: 'model' | 'dataset', work: () => Promise<void>) {
  const errors = useErrors.getState();
  errors.clear('hub');
  useHub.setState({ busy: kind, transfer: null });
  try {
    await work();
  } catch (error) {
    errors.report('hub', error);
  } finally {
    useHub.setState({ busy: null, transfer: null });
  }
}

/** Download files one after another with one progress bar over their total size. */
async function fetchAll(type: 'model' | 'dataset', id: string, revision: string, files: HubFile[]): Promise<ArrayBuffer[]> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const out: ArrayBuffer[] = [];
  let before = 0;
  for (const file of files) {
    const { downloadHubFile } = await client();
    out.push(await downloadHubFile(type, id, revision, file, access(), (bytes) => useHub.setState({ transfer: { done: before + bytes, total, file: file.path } })));
    before += file.size;
  }
  return out;
}

export function listModel() {
  const { modelId, revision } = useHub.getState();
  return task('model', async () => {
    const { listModelFiles } = await client();
    useHub.setState({ modelFiles: await listModelFiles(modelId, revision, access()) });
  });
}

export function downloadModel() {
  const { modelId, revision, modelFiles } = useHub.getState();
  return task('model', async () => {
    const wanted = (modelFiles ?? []).filter((f) => isModelFile(f.path));
    if (wanted.length === 0) throw new Error(`${modelId}: no model files (config.json, *.safetensors, tokenizer files) in revision ${revision}.`);
    const buffers = await fetchAll('model', modelId, revision, wanted);
    const name = modelId.slice(modelId.lastIndexOf('/') + 1);
    await useFiles.getState().dropModel(wanted.map((f, i) => ({ path: `${name}/${f.path}`, file: new File([buffers[i]], f.path.slice(f.path.lastIndexOf('/') + 1)) })));
  });
}

export function listDataset() {
  const { datasetId } = useHub.getState();
  return task('dataset', async () => {
    const { listParquetSplits } = await client();
    const splits = await listParquetSplits(datasetId, access());
    const train = splits.find((s) => s.split === 'train') ?? splits[0];
    const validation = splits.find((s) => s.config === train.config && (s.split === 'validation' || s.split === 'dev' || s.split === 'test') && s !== train);
    useHub.setState({ splits, trainSplit: splitKey(train), validationSplit: validation ? splitKey(validation) : '' });
  });
}

/** The first shard of each chosen split (a split of several shards is its first ~500 MB at most). */
export function downloadDataset() {
  const { datasetId, splits, trainSplit, validationSplit } = useHub.getState();
  return task('dataset', async () => {
    const pick = (key: string) => splits?.find((s) => splitKey(s) === key);
    const train = pick(trainSplit);
    if (!train) throw new Error(`${datasetId}: choose a training split.`);
    const validation = validationSplit ? pick(validationSplit) : undefined;
    const files = [train.files[0], ...(validation ? [validation.files[0]] : [])];
    const buffers = await fetchAll('dataset', datasetId, PARQUET_REVISION, files);
    const asFile = (i: number) => ({ path: `${datasetId}/${files[i].path}`, file: new File([buffers[i]], files[i].path.replace(/\//g, '-')) });
    const store = useFiles.getState();
    await store.dropDataset('train', asFile(0));
    if (validation) await useFiles.getState().dropDataset('validation', asFile(1));
    else useFiles.getState().setValidationSource('fraction');
  });
}
