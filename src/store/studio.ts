// Wiring between the stores, started once from main.tsx: fresh defaults for a new training file,
// an automatic (debounced) `load` whenever model, data or settings change outside a run, and the
// embedded demo on first paint.
import { useConfig } from './config.ts';
import { loadDemo } from './demo.ts';
import { scheduleReload } from './engine.ts';
import { useFiles } from './files.ts';
import { detectAdapter } from './gpu.ts';
import { followActiveRun, refreshRuns } from './runs.ts';
import { useErrors } from './errors.ts';

let started = false;

export function startStudio() {
  if (started) return;
  started = true;

  useFiles.subscribe((s, prev) => {
    if (s.train !== prev.train && s.dataset) useConfig.getState().resetFor(s.dataset.train.length);
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
