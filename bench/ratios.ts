// Ratios of a finished run's figures (npm run bench -- --json FILE) against PyTorch's
// (bench/torch/step_bench.py --out FILE), for bench/gpu.sh, which times ours first (the scarce
// figures) and PyTorch after.
// Standalone: node --import ./scripts/register-raw.mjs bench/ratios.ts OURS.json TORCH.json
import { readFileSync } from 'node:fs';
import { figures, torchRatioLines, writeFigures } from './figures.ts';

const [oursFile, torchFile] = process.argv.slice(2);
if (!oursFile || !torchFile) throw new Error('usage: ratios OURS.json TORCH.json');
try {
  Object.assign(figures, JSON.parse(readFileSync(oursFile, 'utf8')));
} catch (error) {
  throw new Error(`${oursFile}: not a figures file (${(error as Error).message})`);
}
for (const line of torchRatioLines(torchFile)) console.log(line);
writeFigures(oursFile); // now with the ratio_vs_torch.* entries
process.exit(0);
