// Models and datasets from the Hugging Face Hub, on request only. Ids, file names and split names
// come from the network: they are rendered as text, never as markup.
import { isModelFile } from '../io/hub-files.ts';
import { downloadDataset, downloadModel, HUB_URL, listDataset, listModel, splitKey, useHub } from '../store/hub.ts';
import { formatBytes } from './labels.ts';

function TransferBar() {
  const transfer = useHub((s) => s.transfer);
  if (!transfer) return null;
  return (
    <div className="hub-progress" data-testid="hub-progress">
      <progress value={transfer.total > 0 ? transfer.done / transfer.total : 0} max={1} />
      <span className="hint">
        {transfer.file}: {formatBytes(transfer.done)} of {formatBytes(transfer.total)}
      </span>
    </div>
  );
}

export function HubPanel() {
  const hub = useHub();
  const busy = hub.busy !== null;
  const wanted = hub.modelFiles?.filter((f) => isModelFile(f.path)) ?? [];
  return (
    <details className="panel hub" data-testid="hub">
      <summary>From the Hugging Face Hub</summary>
      <p className="hint">Nothing is requested from {new URL(HUB_URL).host} until you list or download.</p>
      <form
        className="hub-row"
        onSubmit={(e) => {
          e.preventDefault();
          void listModel();
        }}
      >
        <input aria-label="Model id" placeholder="Model id, e.g. google-bert/bert-base-uncased" value={hub.modelId} data-testid="hub-model-id" onChange={(e) => hub.set({ modelId: e.target.value })} />
        <input aria-label="Revision" className="small" value={hub.revision} data-testid="hub-revision" onChange={(e) => hub.set({ revision: e.target.value })} />
        <button type="submit" disabled={busy || !hub.modelId.trim()} data-testid="hub-list-model">
          List files
        </button>
      </form>
      {hub.modelFiles && (
        <div data-testid="hub-model-files">
          <ul className="hub-files">
            {hub.modelFiles.map((f) => (
              <li key={f.path} className={isModelFile(f.path) ? '' : 'skipped'}>
                {f.path} · {formatBytes(f.size)}
                {!isModelFile(f.path) && ' (not needed)'}
              </li>
            ))}
          </ul>
          <button disabled={busy || wanted.length === 0} data-testid="hub-download-model" onClick={() => void downloadModel()}>
            Download {wanted.length} files ({formatBytes(wanted.reduce((s, f) => s + f.size, 0))})
          </button>
        </div>
      )}
      <form
        className="hub-row"
        onSubmit={(e) => {
          e.preventDefault();
          void listDataset();
        }}
      >
        <input aria-label="Dataset id" placeholder="Dataset id, e.g. nyu-mll/glue" value={hub.datasetId} data-testid="hub-dataset-id" onChange={(e) => hub.set({ datasetId: e.target.value })} />
        <button type="submit" disabled={busy || !hub.datasetId.trim()} data-testid="hub-list-dataset">
          List splits
        </button>
      </form>
      {hub.splits && (
        <div className="hub-row" data-testid="hub-splits">
          <label>
            Training{' '}
            <select value={hub.trainSplit} data-testid="hub-train-split" onChange={(e) => hub.set({ trainSplit: e.target.value })}>
              {hub.splits.map((s) => (
                <option key={splitKey(s)} value={splitKey(s)}>
                  {splitKey(s)} ({s.files.length} shard{s.files.length > 1 ? 's' : ''})
                </option>
              ))}
            </select>
          </label>
          <label>
            Validation{' '}
            <select value={hub.validationSplit} data-testid="hub-validation-split" onChange={(e) => hub.set({ validationSplit: e.target.value })}>
              <option value="">(hold out from training)</option>
              {hub.splits.map((s) => (
                <option key={splitKey(s)} value={splitKey(s)}>
                  {splitKey(s)}
                </option>
              ))}
            </select>
          </label>
          <button disabled={busy} data-testid="hub-download-dataset" onClick={() => void downloadDataset()}>
            Download
          </button>
        </div>
      )}
      <label className="hub-row">
        <span className="hint">Access token for gated or private repositories (kept in memory only, never saved):</span>
        <input type="password" autoComplete="off" value={hub.token} data-testid="hub-token" onChange={(e) => hub.set({ token: e.target.value })} />
      </label>
      <TransferBar />
    </details>
  );
}
