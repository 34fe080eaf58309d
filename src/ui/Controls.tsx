import { pauseTraining, restoreTraining, resumeTraining, startTraining, stopTraining } from '../store/engine.ts';
import { useFiles } from '../store/files.ts';
import { useRun } from '../store/run.ts';

export function Controls() {
  const state = useRun((s) => s.state);
  const waiting = useRun((s) => s.startWhenReady);
  const ready = useFiles((s) => s.model !== null && s.dataset !== null);
  const canTrain = ready && !waiting && (state === 'ready' || state === 'finished' || state === 'stopped' || state === 'idle' || state === 'error');
  return (
    <div className="controls">
      <button className="primary" data-testid="train" disabled={!canTrain} onClick={startTraining}>
        {waiting ? 'Preparing…' : state === 'finished' || state === 'stopped' ? 'Train again' : 'Train'}
      </button>
      {state === 'training' && (
        <button data-testid="pause" onClick={pauseTraining}>
          Pause
        </button>
      )}
      {state === 'paused' && (
        <button data-testid="resume" onClick={resumeTraining}>
          Resume
        </button>
      )}
      {(state === 'training' || state === 'paused') && (
        <button data-testid="stop" onClick={stopTraining}>
          Stop
        </button>
      )}
      {(state === 'stopped' || state === 'error') && (
        <button data-testid="restore" onClick={restoreTraining} title="Continue from the last checkpoint">
          Resume from checkpoint
        </button>
      )}
    </div>
  );
}
