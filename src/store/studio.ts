// Wiring between the stores, started once from main.tsx: fresh defaults for a new training set,
// an automatic (debounced) `load` whenever model, data or settings change outside a run, and the
// embedded demo on first paint.
import { useConfig } from './config.ts';
import { loadDemo } from './demo.ts';
import { scheduleReload } from './engine.ts';
import { useFiles } from './files.ts';
import { detectAdapter } from './gpu.ts';
import { QA_MAX_LENGTH } from './token-task-dataset.ts';
import { followActiveRun, refreshRuns } from './runs.ts';
import { useErrors } from './errors.ts';
import { TASK_METRICS } from '../train/metrics.ts';

let started = false;

export function startStudio() {
  if (started) return;
  started = true;

  // A new training file drops the old preset; the settings follow the dataset as soon as it is
  // complete (and again when its size changes), keeping what the user edited.
  let newTrainingSet = false;
  useFiles.subscribe((s, prev) => {
    const config = useConfig.getState();
    if (s.train !== prev.train || s.images?.data !== prev.images?.data) {
      config.clearPreset();
      newTrainingSet = true;
      // A new QA file's windows take run_qa.py's length unless the user set one, from its first
      // build on: its Dataset is built in the background, and one at the old length is wasted time.
      if (s.train?.tokenTask?.task === 'question-answering') config.resetFor(config.trainExamples, { maxLength: QA_MAX_LENGTH });
    }
    if (s.dataset && (newTrainingSet || s.dataset.train.length !== config.trainExamples)) {
      // The preset stays (a QA file's length, a continued run's settings).
      newTrainingSet = false;
      config.resetFor(s.dataset.train.length);
    }
    // A watched metric chosen for other data that this task lacks goes back to the task's default.
    const { metric } = useConfig.getState().config;
    if (s.dataset && metric !== undefined && !TASK_METRICS[s.dataset.task].includes(metric)) useConfig.getState().set('metric', undefined);
  });
  // A QA or NER file is tokenized at the run's max length: the windows follow the setting.
  useConfig.subscribe((s, prev) => {
    if (s.config.maxLength !== prev.config.maxLength && useFiles.getState().train?.tokenTask) useFiles.getState().rebuildDataset();
  });

  useFiles.subscribe((s, prev) => {
    if (s.model !== prev.model || s.dataset !== prev.dataset) scheduleReload();
  });
  useConfig.subscribe((s, prev) => {
    if (s.config !== prev.config) scheduleReload();
  });

  followActiveRun();
  refreshRuns().catch((error: unknown) => useErrors.getState().report('runs', `The saved runs could not be read: ${error instanceof Error ? error.message : String(error)}`));
  void detectAdapter();
  void loadDemo();
}
