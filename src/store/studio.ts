// Wiring between the stores, started once from main.tsx: fresh defaults for a new training file,
// an automatic (debounced) `load` whenever model, data or settings change outside a run, and the
// embedded demo on first paint.
import { useConfig } from './config.ts';
import { loadDemo } from './demo.ts';
import { loadRun } from './engine.ts';
import { useFiles } from './files.ts';
import { detectAdapter } from './gpu.ts';
import { isRunning, useRun } from './run.ts';

/** Settings typed in a field change on every keystroke: wait for a pause before reloading. */
const RELOAD_DEBOUNCE_MS = 400;

let started = false;

export function startStudio() {
  if (started) return;
  started = true;

  useFiles.subscribe((s, prev) => {
    if (s.train !== prev.train && s.dataset) useConfig.getState().resetFor(s.dataset.train.length);
  });

  let timer: ReturnType<typeof setTimeout> | null = null;
  const scheduleLoad = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (!isRunning(useRun.getState().state)) loadRun();
    }, RELOAD_DEBOUNCE_MS);
  };
  useFiles.subscribe((s, prev) => {
    if (s.model !== prev.model || s.dataset !== prev.dataset) scheduleLoad();
  });
  useConfig.subscribe((s, prev) => {
    if (s.config !== prev.config) scheduleLoad();
  });

  void detectAdapter();
  void loadDemo();
}
