/// <reference lib="webworker" />
// The engine worker: all training runs here, off the page's thread. Messages are the typed
// EngineRequest / EngineEvent of ./protocol.ts; big arrays travel as transferables.
import { acquireGpu } from '../gpu/device.ts';
import { browserCheckpointStore } from '../train/browser-store.ts';
import { decodeImageBrowser } from '../io/images/decode-browser.ts';
import { Engine } from './engine.ts';
import { eventTransferables, type EngineEvent, type EngineRequest } from './protocol.ts';

declare const self: DedicatedWorkerGlobalScope;

function post(event: EngineEvent): void {
  self.postMessage(event, eventTransferables(event));
}

const engine = browserCheckpointStore().then((store) => new Engine({ acquireGpu: () => acquireGpu(navigator.gpu), store, post, decodeImage: decodeImageBrowser }));

// Requests run one after another, except those that must reach a running loop (pause, stop)
// or may run between its steps (predict, predictImage, export, generate) or reach a generation
// (stopGenerate).
let queue: Promise<void> = Promise.resolve();
self.onmessage = (message: MessageEvent<EngineRequest>) => {
  const request = message.data;
  if (request.type === 'pause' || request.type === 'stop' || request.type === 'predict' || request.type === 'predictImage' || request.type === 'export' || request.type === 'generate' || request.type === 'stopGenerate') {
    void engine.then((e) => e.handle(request));
    return;
  }
  queue = queue.then(async () => (await engine).handle(request));
};
