import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { exportName, zipStored } from './save-export.ts';

describe('exports in one piece', () => {
  it('names the folder after the model and the export, without path characters', () => {
    expect(exportName('merged', 'vectorfit-demo-bert-tiny')).toBe('vectorfit-demo-bert-tiny-vectorfit-merged');
    expect(exportName('log', '../a b/c')).toBe('a-b-c-vectorfit-log');
    expect(exportName('vectors', '///')).toBe('model-vectorfit-vectors');
  });

  it('zips every file under one folder, byte for byte, across slices and empty files', async () => {
    const big = new Uint8Array((4 << 20) + 12345).map((_, i) => (i * 31 + 7) & 0xff);
    const files = [
      { name: 'model.safetensors', bytes: big.buffer },
      { name: 'config.json', bytes: new TextEncoder().encode('{"a": 1}').buffer },
      { name: 'empty.txt', bytes: new ArrayBuffer(0) },
    ];
    const zip = new Uint8Array(await (await zipStored('m-vectorfit-merged', files)).arrayBuffer());
    const back = unzipSync(zip);
    expect(Object.keys(back).sort()).toEqual(['m-vectorfit-merged/config.json', 'm-vectorfit-merged/empty.txt', 'm-vectorfit-merged/model.safetensors']);
    // Compared as bytes: a deep equality over 4 MiB of elements takes a minute.
    expect(Buffer.from(back['m-vectorfit-merged/model.safetensors']).equals(Buffer.from(big))).toBe(true);
    expect(new TextDecoder().decode(back['m-vectorfit-merged/config.json'])).toBe('{"a": 1}');
    expect(back['m-vectorfit-merged/empty.txt'].length).toBe(0);
  });
});
