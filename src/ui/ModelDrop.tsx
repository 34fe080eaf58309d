import { useFiles } from '../store/files.ts';
import { DropZone } from './DropZone.tsx';
import { formatBytes } from './labels.ts';

export function ModelDrop() {
  const model = useFiles((s) => s.model);
  const info = useFiles((s) => s.modelInfo);
  const busy = useFiles((s) => s.modelBusy);
  const dropModel = useFiles((s) => s.dropModel);
  return (
    <DropZone
      title="Model"
      hint="Drop a Hugging Face model folder, its loose files (config.json, *.safetensors, tokenizer files) or a .zip."
      accept=".json,.safetensors,.txt,.model,.zip"
      folder
      multiple
      busy={busy}
      testId="model-drop"
      onFiles={(files) => void dropModel(files)}
    >
      {model && info && (
        <p className="file-summary" data-testid="model-info">
          <strong>{model.name}</strong>: {info.modelType}, {info.layers} layers, hidden {info.hidden} ·{' '}
          {info.fileCount} files, {formatBytes(info.bytes)}
        </p>
      )}
    </DropZone>
  );
}
