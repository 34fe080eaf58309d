import { useState } from 'react';
import { generate, predict, stopGenerating } from '../store/engine.ts';
import { isCausalLm, useFiles } from '../store/files.ts';
import { SIDES, useGeneration, type GenerationColumn } from '../store/generation.ts';
import { hasModel, useRun } from '../store/run.ts';
import type { Prediction } from '../worker/protocol.ts';
import { ImagePlayground } from './ImagePlayground.tsx';
import { NumberField } from './NumberField.tsx';
import { PredictionsTable } from './PredictionsTable.tsx';
import { TokenTaskPlayground } from './TokenTaskPlayground.tsx';

export function Playground() {
  const causalLm = useFiles(isCausalLm);
  // A QA or NER file keeps its playground while its Dataset is rebuilt in the background.
  const task = useFiles((s) => s.dataset?.task ?? s.train?.tokenTask?.task);
  const images = useFiles((s) => s.images !== null);
  if (images) return <ImagePlayground />;
  if (task === 'question-answering' || task === 'token-classification') return <TokenTaskPlayground task={task} />;
  return causalLm ? <GenerationPlayground /> : <ClassifierPlayground />;
}

/** A causal LM continues a prompt: the base model and the fine-tuned one side by side. */
function GenerationPlayground() {
  const [prompt, setPrompt] = useState('');
  const canGenerate = useRun((s) => hasModel(s.state));
  const { generations, running, settings, setSettings } = useGeneration();
  const sampling = settings.temperature > 0;
  return (
    <section className="panel" data-testid="playground">
      <h3>Playground</h3>
      <form
        className="generation-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (prompt && running === null) generate(prompt);
        }}
      >
        <textarea data-testid="generation-prompt" placeholder="Type a prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <div className="generation-settings">
          <label className="field">
            <span>Decoding</span>
            <select
              data-testid="generation-mode"
              value={sampling ? 'sample' : 'greedy'}
              onChange={(e) => setSettings({ temperature: e.target.value === 'sample' ? 0.8 : 0 })}
            >
              <option value="greedy">Greedy</option>
              <option value="sample">Sampling</option>
            </select>
          </label>
          {sampling && (
            <>
              <NumberField label="Temperature" value={settings.temperature} min={0} onChange={(temperature) => setSettings({ temperature })} testId="generation-temperature" />
              <NumberField label="Top-p" value={settings.topP} min={0} onChange={(topP) => topP > 0 && topP <= 1 && setSettings({ topP })} title="Nucleus mass in (0, 1]" testId="generation-top-p" />
              <NumberField label="Seed" value={settings.seed} integer onChange={(seed) => setSettings({ seed })} />
            </>
          )}
          <NumberField label="Max tokens" value={settings.maxNewTokens} integer min={1} onChange={(maxNewTokens) => setSettings({ maxNewTokens })} testId="generation-max-tokens" />
          {running === null ? (
            <button type="submit" data-testid="generate" disabled={!canGenerate || !prompt}>
              Generate
            </button>
          ) : (
            <button type="button" data-testid="stop-generation" onClick={stopGenerating}>
              Stop
            </button>
          )}
        </div>
      </form>
      {generations.map((g) => (
        <div key={g.id} className="generation" data-testid="generation">
          <div className="generation-prompt">{g.prompt}</div>
          <div className="generation-columns">
            {SIDES.map((side) => (
              <Column key={side} title={side === 'base' ? 'Base model' : 'Fine-tuned'} side={side} column={g[side]} />
            ))}
          </div>
        </div>
      ))}
    </section>
  );
}

function Column({ title, side, column }: { title: string; side: string; column: GenerationColumn }) {
  const status = column.stop
    ? `${column.tokens} token${column.tokens === 1 ? '' : 's'}, ${column.stop === 'eos' ? 'end of text' : column.stop === 'length' ? 'max tokens' : 'stopped'}` +
      (column.tokensPerSecond ? `, ${column.tokensPerSecond.toFixed(1)} tokens/s` : '')
    : `${column.tokens} token${column.tokens === 1 ? '' : 's'}…`;
  return (
    <div className="generation-column" data-testid={`generation-${side}`} data-done={column.stop ? 'true' : 'false'}>
      <h4>{title}</h4>
      <p className="generation-text">{column.text}</p>
      <small>{status}</small>
    </div>
  );
}

/** A classifier: base and fine-tuned predictions for a sentence (or pair). */
function ClassifierPlayground() {
  const [text, setText] = useState('');
  const [pair, setPair] = useState('');
  const paired = useFiles((s) => s.columns.textPair !== undefined);
  const canPredict = useRun((s) => hasModel(s.state));
  const predictions = useRun((s) => s.predictions);
  return (
    <section className="panel" data-testid="playground">
      <h3>Playground</h3>
      <form
        className="playground-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) predict(text, paired ? pair : undefined);
        }}
      >
        <input data-testid="playground-text" placeholder="Type a sentence" value={text} onChange={(e) => setText(e.target.value)} />
        {paired && <input placeholder="Second sentence" value={pair} onChange={(e) => setPair(e.target.value)} />}
        <button type="submit" disabled={!canPredict || !text.trim()}>
          Predict
        </button>
      </form>
      <PredictionsTable
        predictions={predictions}
        input={(p) => (
          <>
            {p.text}
            {p.textPair && <> / {p.textPair}</>}
          </>
        )}
        result={describe}
      />
    </section>
  );
}

function describe(p: Prediction | undefined): string {
  if (!p) return '…';
  if (p.scores.length <= 1) return p.label;
  return `${p.label} (${(100 * Math.max(...p.scores)).toFixed(1)}%)`;
}
