import { useEffect, useRef, useState, type PointerEvent } from 'react';
import { predictImage } from '../store/engine.ts';
import { useFiles } from '../store/files.ts';
import { hasModel, useRun } from '../store/run.ts';
import type { Prediction } from '../worker/protocol.ts';
import { placeDigit } from './digit-drawing.ts';
import { PredictionsTable } from './PredictionsTable.tsx';

/** The drawing canvas's side in pixels (ten times MNIST's 28, so the resize to the model averages). */
const PAD = 280;
const STROKE = 22;
/** Classes listed per prediction. */
const TOP = 3;
/** One empty list, so the selector's answer is stable while there is no dataset. */
const NO_LABELS: readonly string[] = [];

const isImage = (file: File) => /^image\/(png|jpeg)$/.test(file.type) || /\.(png|jpe?g)$/i.test(file.name);

async function predictFile(file: File) {
  predictImage(file.name || 'pasted image', new Uint8Array(await file.arrayBuffer()));
}

/** An image classifier: base and fine-tuned top classes for a dropped, pasted or drawn image. */
export function ImagePlayground() {
  // The canvas is for tasks like MNIST: every checked image grayscale.
  const drawable = useFiles((s) => !!s.images && !s.images.broken && s.images.check.grayscale && s.images.check.done === s.images.check.total);
  const labelNames = useFiles((s) => s.dataset?.labelNames ?? NO_LABELS);
  const canPredict = useRun((s) => hasModel(s.state));
  const predictions = useRun((s) => s.predictions);
  const [over, setOver] = useState(false);

  // A pasted image is predicted wherever the focus is, except in a text field.
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (!canPredict || target?.closest('input, textarea, [contenteditable]')) return;
      const file = [...(e.clipboardData?.files ?? [])].find(isImage);
      if (!file) return;
      e.preventDefault();
      void predictFile(file);
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [canPredict]);

  return (
    <section className="panel" data-testid="playground">
      <h3>Playground</h3>
      <div
        className={`image-drop${over ? ' over' : ''}`}
        data-testid="playground-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const file = [...e.dataTransfer.files].find(isImage);
          if (file && canPredict) void predictFile(file);
        }}
      >
        <p className="hint">Drop or paste a PNG or JPEG image here{drawable ? ', or draw a digit below' : ''}.</p>
        <label className="button">
          Choose an image
          <input
            type="file"
            accept=".png,.jpg,.jpeg"
            data-testid="playground-image"
            disabled={!canPredict}
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              e.currentTarget.value = '';
              if (file) void predictFile(file);
            }}
          />
        </label>
      </div>
      {drawable && <DrawingPad disabled={!canPredict} />}
      <PredictionsTable
        predictions={predictions}
        input={(p) => (
          <>
            {p.imageUrl && <img className="prediction-image" src={p.imageUrl} alt={p.text} />}
            <small>{p.text}</small>
          </>
        )}
        result={(prediction) => <TopClasses prediction={prediction} labelNames={labelNames} />}
      />
    </section>
  );
}

function TopClasses({ prediction, labelNames }: { prediction?: Prediction; labelNames: readonly string[] }) {
  if (!prediction) return <>…</>;
  const top = prediction.scores
    .map((score, label) => ({ score, name: labelNames[label] ?? String(label) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, TOP);
  return (
    <ol className="top-classes">
      {top.map((t, i) => (
        <li key={t.name} data-testid={i === 0 ? 'prediction-top' : undefined}>
          <strong>{t.name}</strong> {(100 * t.score).toFixed(1)}%
          <span className="bar" style={{ width: `${Math.round(60 * t.score)}px` }} />
        </li>
      ))}
    </ol>
  );
}

/** White strokes on black, as MNIST's digits are; the digit is placed as MNIST's were before it is sent. */
function DrawingPad({ disabled }: { disabled: boolean }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [empty, setEmpty] = useState(true);

  const context = () => canvas.current!.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    const c = context();
    c.fillStyle = 'black';
    c.fillRect(0, 0, PAD, PAD);
    setEmpty(true);
  };
  useEffect(clear, []);

  const point = (e: PointerEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - box.left) * PAD) / box.width, y: ((e.clientY - box.top) * PAD) / box.height };
  };
  const stroke = (to: { x: number; y: number }) => {
    const c = context();
    const from = last.current ?? to;
    c.strokeStyle = 'white';
    c.lineWidth = STROKE;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(from.x, from.y);
    c.lineTo(to.x, to.y);
    c.stroke();
    last.current = to;
    setEmpty(false);
  };

  const send = () => {
    const pixels = context().getImageData(0, 0, PAD, PAD).data;
    const ink = new Uint8Array(PAD * PAD);
    for (let i = 0; i < ink.length; i++) ink[i] = pixels[4 * i];
    const place = placeDigit(ink, PAD, PAD, PAD);
    if (!place) return;
    const framed = document.createElement('canvas');
    framed.width = framed.height = PAD;
    const f = framed.getContext('2d')!;
    f.fillStyle = 'black';
    f.fillRect(0, 0, PAD, PAD);
    f.imageSmoothingQuality = 'high';
    f.drawImage(canvas.current!, place.sx, place.sy, place.sw, place.sh, place.dx, place.dy, place.dw, place.dh);
    framed.toBlob((blob) => blob && void blob.arrayBuffer().then((b) => predictImage('drawing', new Uint8Array(b))), 'image/png');
  };

  return (
    <div className="drawing-pad">
      <canvas
        ref={canvas}
        width={PAD}
        height={PAD}
        data-testid="drawing-pad"
        aria-label="Draw a digit"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          last.current = null;
          stroke(point(e));
        }}
        onPointerMove={(e) => {
          if (last.current) stroke(point(e));
        }}
        onPointerUp={() => {
          last.current = null;
        }}
      />
      <div className="pickers">
        <button type="button" data-testid="drawing-predict" disabled={disabled || empty} onClick={send}>
          Predict the drawing
        </button>
        <button type="button" data-testid="drawing-clear" onClick={clear}>
          Clear
        </button>
      </div>
    </div>
  );
}
