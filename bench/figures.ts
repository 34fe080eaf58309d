// The figures one `npm run bench` measured, by name, so a run can write them as JSON (the GPU
// script, bench/gpu.sh, brings them back) and set them beside PyTorch's figures of the same
// names (bench/torch/step_bench.py writes those). Names are shared: `matmul.<N>x<dIn>x<dOut>.gflops`,
// `factored.<N>x<dIn>x<dOut>.gflops`, `train.vectorfit.steps_per_s`, `svd.72.seconds`; a name
// ending in `seconds` is better lower, every other one higher.
import { readFileSync, writeFileSync } from 'node:fs';

export const figures: Record<string, number | string> = {};

/** Where every figure is written as soon as it is recorded: a run cut short by a time limit
 * (the GPU script's) keeps what it measured. */
let figuresFile: string | undefined;

export function record(name: string, value: number | string): void {
  figures[name] = value;
  if (figuresFile) writeFigures(figuresFile);
}

export function writeFiguresAsRecorded(file: string): void {
  figuresFile = file;
  writeFigures(file);
}

export function writeFigures(file: string): void {
  writeFileSync(file, `${JSON.stringify(figures, null, 1)}\n`);
}

/** Extra pairs whose names differ: ours against PyTorch's full fine-tuning. */
const CROSS: [ours: string, torch: string][] = [['train.vectorfit.steps_per_s', 'train.full.steps_per_s']];

/** One "ratio vs PyTorch" line per figure both runs have (> 1: we are faster). */
export function torchRatioLines(torchFile: string): string[] {
  let torch: Record<string, unknown>;
  try {
    torch = JSON.parse(readFileSync(torchFile, 'utf8'));
  } catch (error) {
    throw new Error(`${torchFile}: not a PyTorch figures file (${(error as Error).message})`);
  }
  const lines: string[] = [];
  if (torch.device !== undefined) lines.push(`PyTorch figures from ${torchFile}: ${torch.device}, ${torch.torch ?? 'torch ?'}, scale ${torch.scale ?? '?'}`);
  if (torch.scale !== undefined && figures.scale !== undefined && torch.scale !== figures.scale) {
    lines.push(`WARNING: scales differ (ours ${figures.scale}, PyTorch ${torch.scale}): the unsized figures (train, svd.72) compare different models`);
  }
  const pairs = [...Object.keys(figures).filter((k) => k in torch).map((k) => [k, k] as const), ...CROSS];
  for (const [ours, theirs] of pairs) {
    const a = figures[ours];
    const b = torch[theirs];
    if (typeof a !== 'number' || typeof b !== 'number') continue;
    const lowerIsBetter = ours.endsWith('seconds');
    const ratio = lowerIsBetter ? b / a : a / b;
    const name = ours === theirs ? ours : `${ours} vs PyTorch ${theirs}`;
    figures[`ratio_vs_torch.${ours === theirs ? ours : `${ours}/${theirs}`}`] = ratio;
    lines.push(`ratio vs PyTorch: ${name}: ${ratio.toFixed(2)}× (ours ${a.toPrecision(4)}, PyTorch ${b.toPrecision(4)})`);
  }
  if (!lines.some((l) => l.startsWith('ratio'))) lines.push(`ratio vs PyTorch: ${torchFile} shares no figure with this run (different shapes?)`);
  return lines;
}
