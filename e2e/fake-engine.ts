// A scripted stand-in for the engine worker, served in place of src/worker/engine.worker.ts by
// studio.spec.ts so the UI's handling of every EngineEvent is tested without a GPU run. It is
// test-only: the real engine's behaviour is tested in train.spec.ts.
import type { BrowserContext } from '@playwright/test';

/** Runs inside the worker: answers the protocol with plausible numbers, 2 layers, 20 steps/s. */
function fakeEngine() {
  const MODULES = ['q', 'k', 'v', 'o', 'f1', 'f2'];
  const VECTOR_ROWS = [...MODULES.map((module) => ({ kind: 'sigma', module })), ...MODULES.map((module) => ({ kind: 'bias', module }))];
  const ROWS = VECTOR_ROWS.length;
  const LAYERS = 2;
  let timer: ReturnType<typeof setInterval> | undefined;
  let step = 0;
  let total = 0;
  let avfSteps: number[] = [];
  let frozen = new Uint8Array(LAYERS * ROWS);
  const post = (event: unknown) => postMessage(event);
  const tick = () => {
    step++;
    const values = new Float32Array(LAYERS * ROWS).map((_, i) => (step * (1 + (i % 7))) / 1000);
    post({ type: 'step', step, totalSteps: total, epoch: Math.floor((2 * (step - 1)) / total), loss: 0.7 / Math.sqrt(step), lr: 1e-2, gradNorm: 0.5, stepsPerSecond: 20, tokensPerSecond: 20 * 32 * 64 });
    if (avfSteps.includes(step)) {
      const next = new Uint8Array(LAYERS * ROWS);
      const pick = [(step * 5) % 24, (step * 5 + 3) % 24];
      pick.forEach((i) => (next[i] = 1));
      const id = (i: number) => ({ layer: Math.floor(i / ROWS), ...VECTOR_ROWS[i % ROWS] });
      const ids = (mask: Uint8Array, not: Uint8Array) => [...mask.keys()].filter((i) => mask[i] && !not[i]).map(id);
      post({ type: 'avf', step, frozen: ids(next, frozen), released: ids(frozen, next) });
      frozen = next;
    }
    post({ type: 'strength', step, layers: LAYERS, rows: VECTOR_ROWS, values, frozen, trainable: frozen.map((f) => 1 - f) });
    if (step % (total / 2) === 0) {
      post({ type: 'eval', step, epoch: step / (total / 2) - 1, metrics: { accuracy: 0.5 + step / (4 * total), f1: 0.4 + step / (4 * total) } });
      if (step === total / 2) post({ type: 'best', step, metric: 'accuracy', value: 0.625 });
    }
    if (step === total) {
      clearInterval(timer);
      post({ type: 'state', state: 'finished' });
    }
  };
  onmessage = (message: MessageEvent) => {
    const request = message.data;
    switch (request.type) {
      case 'load': {
        const { config, dataset } = request;
        total = config.epochs * Math.ceil(dataset.train.length / config.batchSize);
        avfSteps = Array.from({ length: config.avf.count }, (_, j) => config.avf.start + j * config.avf.interval);
        step = 0;
        frozen = new Uint8Array(LAYERS * ROWS);
        post({ type: 'state', state: 'loading' });
        post({ type: 'adapter', name: 'fake adapter', isSoftware: true });
        post({ type: 'progress', phase: 'factoring', done: 1, total: 2, message: 'factoring 12 matrices' });
        post({ type: 'model', summary: { name: request.model.name, modelType: 'bert', input: 'tokens', layers: LAYERS, hidden: 128, totalParameters: 4_400_000, trainableParameters: 5_000, numLabels: 2, vectorRows: VECTOR_ROWS, gpuBytes: 37_100_000 }, totalSteps: total });
        post({ type: 'state', state: 'ready' });
        break;
      }
      case 'start':
      case 'resume':
        post({ type: 'state', state: 'training' });
        // As on a GPU: the first step's products are timed before it (the step clears this line).
        if (request.type === 'start') post({ type: 'progress', phase: 'tuning', done: 3, total: 18, message: 'timing matmul kernels on this GPU (once per shape): 3 of 18 products' });
        timer = setInterval(tick, 50);
        break;
      case 'pause':
      case 'stop':
        clearInterval(timer);
        post({ type: 'state', state: request.type === 'pause' ? 'paused' : 'stopped' });
        break;
      case 'export':
        post({ type: 'export', kind: request.kind, which: request.which, files: request.kind === 'vectors'
          ? [{ name: 'vectorfit.safetensors', bytes: new Uint8Array(16).buffer }, { name: 'adapter_config.json', bytes: new TextEncoder().encode('{}').buffer }]
          : request.kind === 'lora'
            ? [{ name: 'lora_report.json', bytes: new TextEncoder().encode(JSON.stringify({ r: request.rank ?? 128, step, overall_truncation_error: 0.25, validation_logits: { examples: 4, max_abs_change: 0.01, relative_change: 0.02 }, modules: [{ path: 'bert.encoder.layer.0.attention.self.query', rank: 128, kept: request.rank ?? 128, truncation_error: 0.3, delta_frobenius: 1 }] })).buffer }]
            : [{ name: `${request.kind}.json`, bytes: new TextEncoder().encode('{}').buffer }] });
        break;
      case 'predict':
        post({ type: 'prediction', id: request.id, base: { scores: [0.5, 0.5], label: '0' }, tuned: { scores: [0.1, 0.9], label: '1' } });
        break;
    }
  };
}

/** Serve the fake engine wherever the page asks for the worker script. */
export async function useFakeEngine(context: BrowserContext) {
  await context.route('**/src/worker/engine.worker.ts*', (route) =>
    route.fulfill({ contentType: 'text/javascript', body: `(${fakeEngine.toString()})();` }),
  );
}
