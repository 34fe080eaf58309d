// The tokenizing worker's script fails to load (a blocked or broken bundle): the build in flight
// is reported as failed, naming the file and why, and the studio goes on without a Dataset.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';
import { dropped, modelFolder } from './test-drops.ts';

class UnloadableWorker {
  onmessage: unknown = null;
  onerror: ((event: { message: string; preventDefault(): void }) => void) | null = null;
  postMessage() {
    // As a browser does when the script cannot be fetched: an error event, no message.
    setTimeout(() => this.onerror?.({ message: '', preventDefault() {} }));
  }
  terminate() {}
}

beforeAll(() => vi.stubGlobal('Worker', UnloadableWorker));
afterAll(() => vi.unstubAllGlobals());

it('a worker that cannot load fails the build by the file, with the reason', async () => {
  const squad = JSON.stringify({ version: '1.1', data: [{ title: 't', paragraphs: [{ context: 'Paris is in France.', qas: [{ id: 'q', question: 'Where is Paris?', answers: [{ text: 'France', answer_start: 12 }] }] }] }] });
  const files = useFiles.getState();
  await files.dropModel(modelFolder('bert'));
  await files.dropDataset('train', dropped('squad.json', squad));
  await files.datasetSettled();
  expect(useFiles.getState().dataset).toBeNull();
  expect(useFiles.getState().tokenizing).toBeFalsy();
  expect(useErrors.getState().errors).toEqual([expect.objectContaining({ slot: 'dataset', message: 'squad.json: The tokenizing worker stopped: its script could not be loaded.' })]);
});
