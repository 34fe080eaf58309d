import { lazy, Suspense } from 'react';
import { loadDemo } from '../store/demo.ts';
import { useGpu } from '../store/gpu.ts';
import { isRunning, useRun } from '../store/run.ts';
import { useRuns } from '../store/runs.ts';
import { AvfTimeline } from './AvfTimeline.tsx';
import { LossChart, MetricChart } from './Charts.tsx';
import { Controls } from './Controls.tsx';
import { DatasetDrop } from './DatasetDrop.tsx';
import { DatasetPreview } from './DatasetPreview.tsx';
import { ErrorBoundary, Errors } from './Errors.tsx';
import { Exports } from './Exports.tsx';
import { Heatmap } from './Heatmap.tsx';
import { HubPanel } from './HubPanel.tsx';
import { LiveDeltaView } from './DeltaView.tsx';
import { ModelDrop } from './ModelDrop.tsx';
import { Playground } from './Playground.tsx';
import { Progress } from './Progress.tsx';
import { ContinueOffer, Runs } from './Runs.tsx';
import { SetupPanel } from './SetupPanel.tsx';

// Recharts is most of the page's script and only the comparison draws with it: load it on demand.
const Compare = lazy(() => import('./Compare.tsx'));

function AdapterStatus() {
  const gpu = useGpu((s) => s.status);
  const engineAdapter = useRun((s) => s.adapter);
  if (gpu.kind === 'checking') return <p className="adapter">Looking for a WebGPU adapter…</p>;
  if (gpu.kind === 'missing') {
    return (
      <p role="alert" className="adapter missing" data-testid="adapter-error">
        {gpu.message}
      </p>
    );
  }
  const software = engineAdapter?.isSoftware ?? gpu.software;
  return (
    <p className="adapter" data-testid="adapter">
      WebGPU adapter: {engineAdapter?.name ?? gpu.name}
      {software && ' (software rendering: training will be slow)'}
    </p>
  );
}

export function App() {
  const running = useRun((s) => isRunning(s.state));
  const comparing = useRuns((s) => s.selected.length >= 2);
  return (
    <main>
      <header>
        <h1>VectorFit Studio</h1>
        <AdapterStatus />
        <button className="link" onClick={() => void loadDemo('text')} disabled={running} data-testid="load-demo" title="BERT (tiny) on SST-2 sentences">
          Load the demo
        </button>
        <button className="link" onClick={() => void loadDemo('vit')} disabled={running} data-testid="load-demo-vit" title="A tiny ViT pre-trained on digits 0–4, fine-tuned on digits 5–9">
          ViT digits
        </button>
      </header>
      <p className="tagline">
        Fine-tune a transformer by training only its singular values and biases, with Adaptive Vector Freezing. Everything runs
        on your GPU; no file leaves this machine.
      </p>
      <Errors />
      <ErrorBoundary name="continue">
        <ContinueOffer />
      </ErrorBoundary>
      <div className="columns">
        <div className="column">
          <ErrorBoundary name="data">
            <h2>Model and data</h2>
            <ModelDrop />
            <DatasetDrop />
            <HubPanel />
            <DatasetPreview />
          </ErrorBoundary>
        </div>
        <div className="column">
          <ErrorBoundary name="setup">
            <SetupPanel />
            <Controls />
            <Progress />
          </ErrorBoundary>
        </div>
      </div>
      <h2>Training</h2>
      <div className="live">
        <ErrorBoundary name="heatmap">
          <Heatmap />
        </ErrorBoundary>
        <ErrorBoundary name="timeline">
          <AvfTimeline />
        </ErrorBoundary>
      </div>
      <div className="charts">
        <ErrorBoundary name="loss chart">
          <LossChart />
        </ErrorBoundary>
        <ErrorBoundary name="metric chart">
          <MetricChart />
        </ErrorBoundary>
      </div>
      <ErrorBoundary name="delta">
        <LiveDeltaView />
      </ErrorBoundary>
      <div className="columns">
        <ErrorBoundary name="export">
          <Exports />
        </ErrorBoundary>
        <ErrorBoundary name="playground">
          <Playground />
        </ErrorBoundary>
      </div>
      <h2>Runs</h2>
      <ErrorBoundary name="runs">
        <Runs />
      </ErrorBoundary>
      {comparing ? (
        <Suspense fallback={<section className="panel" />}>
          <ErrorBoundary name="compare">
            <Compare />
          </ErrorBoundary>
        </Suspense>
      ) : (
        <section className="panel" data-testid="compare">
          <h3>Compare runs</h3>
          <p className="hint">Tick two or more runs in the list to see them side by side.</p>
        </section>
      )}
    </main>
  );
}
