import { useFiles } from '../store/files.ts';
import { isRunning, useRun } from '../store/run.ts';
import { NumberField } from './NumberField.tsx';

/** QA windows' overlap, beside the max length that is their size (only for question answering). */
export function QaStrideField() {
  const qa = useFiles((s) => s.train?.tokenTask?.task === 'question-answering');
  const stride = useFiles((s) => s.qaStride);
  const locked = useRun((s) => isRunning(s.state));
  if (!qa) return null;
  return (
    <NumberField
      label="Stride"
      value={stride}
      integer
      min={1}
      disabled={locked}
      onChange={(v) => useFiles.getState().setQaStride(v)}
      title="Context tokens shared by consecutive QA windows (at most half the max length)"
      testId="qa-stride"
    />
  );
}
