import { useFiles } from '../store/files.ts';

/** Where validation comes from: a second file (or split) when there is one, or a share of the
 * training `unit` (rows, questions, images …) held out. */
export function ValidationSource({ fileLabel, hasFile, unit }: { fileLabel: string; hasFile: boolean; unit: string }) {
  const source = useFiles((s) => s.validationSource);
  const fraction = useFiles((s) => s.validationFraction);
  const { setValidationSource, setValidationFraction } = useFiles.getState();
  return (
    <fieldset className="validation-source">
      <legend>Validation</legend>
      <label>
        <input type="radio" name="validation-source" checked={source === 'file'} disabled={!hasFile} onChange={() => setValidationSource('file')} />
        {fileLabel}
      </label>
      <label>
        <input type="radio" name="validation-source" checked={source === 'fraction' || !hasFile} onChange={() => setValidationSource('fraction')} />
        hold out
        <input
          type="number"
          className="small"
          min={1}
          max={50}
          step={1}
          value={Math.round(fraction * 100)}
          disabled={source === 'file' && hasFile}
          onChange={(e) => {
            const percent = Number(e.target.value);
            if (percent >= 1 && percent <= 50) setValidationFraction(percent / 100);
          }}
        />
        % of the training {unit}
      </label>
    </fieldset>
  );
}
