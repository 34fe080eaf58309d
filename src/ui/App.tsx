import { useEffect, useState } from 'react';
import { acquireGpu, adapterName } from '../gpu/device.ts';

type GpuStatus = { kind: 'checking' } | { kind: 'ready'; name: string; software: boolean } | { kind: 'missing'; message: string };

export function App() {
  const [gpu, setGpu] = useState<GpuStatus>({ kind: 'checking' });
  useEffect(() => {
    acquireGpu(navigator.gpu)
      .then((g) => {
        setGpu({ kind: 'ready', name: adapterName(g.adapter), software: g.adapter.isSoftware });
        g.device.destroy();
      })
      .catch((error: Error) => setGpu({ kind: 'missing', message: error.message }));
  }, []);
  return (
    <main>
      <h1>VectorFit Studio</h1>
      {gpu.kind === 'checking' && <p>Looking for a WebGPU adapter…</p>}
      {gpu.kind === 'ready' && (
        <p data-testid="adapter">
          WebGPU adapter: {gpu.name}
          {gpu.software && ' (software rendering: training will be slow)'}
        </p>
      )}
      {gpu.kind === 'missing' && (
        <p role="alert" data-testid="adapter-error">
          {gpu.message}
        </p>
      )}
    </main>
  );
}
