// GPU wrapper for shaders/causal_lm_loss.wgsl; the float64 reference of the same name is
// causal_lm_loss.ref.ts.
import code from '../../shaders/causal_lm_loss.wgsl?raw';
import { isSoftwareDevice } from '../gpu/device.ts';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, type Tensor } from '../gpu/tensor.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { rowGrid } from './grid.ts';

/** Logits rows firstRow … of the batch, [rows, vocab]: a batch whose logits exceed one storage
 * binding is passed as consecutive blocks. */
export interface LogitsBlock {
  logits: Tensor;
  firstRow: number;
}

export interface CausalLmLossArgs {
  /** [batch·seq, vocab] f32, or consecutive blocks of its rows; overwritten by dLogits when
   * `gradient` (the default). */
  logits: Tensor | readonly LogitsBlock[];
  /** [batch·seq] i32: the input ids, IGNORE_INDEX where no loss applies (unshifted). */
  labels: Tensor;
  /** [batch·seq] scratch: each position's −log p(target), 0 where it predicts nothing. */
  rowLoss: Tensor;
  /** [2]: the mean over the positions that predict a token (0 when none does; transformers gives
   * NaN), and their number (to weight batch means into a validation perplexity). */
  loss: Tensor;
  batch: number;
  seq: number;
  vocab: number;
  /** false for evaluation: the logits are left as they are. */
  gradient?: boolean;
  /** false: position t is scored against label t (token classification); default true, the
   * causal LM's next token. */
  shift?: boolean;
  variant?: CausalLmLossVariant;
}

/** 'workgroup': a workgroup per row with tree reductions (GPUs); 'rows': an invocation per row,
 * no barriers (software adapters). Chosen from the device when absent; tests run both. */
export type CausalLmLossVariant = 'workgroup' | 'rows';

/** The loss, and dLogits in place of the logits: a count, a dispatch per logits block, a mean. */
export function causalLmLoss(device: GPUDevice, args: CausalLmLossArgs): Dispatch[] {
  const { batch, seq, vocab } = args;
  const rows = batch * seq;
  const label = `causal-LM loss ${batch}×${seq}×${vocab}`;
  const expect = (name: string, t: Tensor, size: number) => {
    if (numel(t.shape) !== size) throw new Error(`${label}: ${name} has ${numel(t.shape)} elements, expected ${size}`);
  };
  expect('labels', args.labels, rows);
  expect('rowLoss', args.rowLoss, rows);
  expect('loss', args.loss, 2);
  if (args.labels.dtype !== 'i32') throw new Error(`${label}: labels are ${args.labels.dtype}, expected i32 (−100 is ignored)`);
  const blocks = 'buffer' in args.logits ? [{ logits: args.logits, firstRow: 0 }] : args.logits;
  let next = 0;
  for (const b of blocks) {
    if (b.firstRow !== next) throw new Error(`${label}: a logits block starts at row ${b.firstRow}, expected ${next}`);
    if (numel(b.logits.shape) % vocab !== 0) throw new Error(`${label}: a logits block of ${numel(b.logits.shape)} elements is not whole rows of ${vocab}`);
    next += numel(b.logits.shape) / vocab;
  }
  if (next !== rows) throw new Error(`${label}: the logits blocks cover ${next} rows, expected ${rows}`);
  const params = (firstRow: number, blockRows: number) =>
    createParams(device, [['u32', rows], ['u32', seq], ['u32', vocab], ['u32', firstRow], ['u32', blockRows]]);
  const whole = params(0, rows);
  const shift = { SHIFT: Number(args.shift ?? true) };
  const perRow = (args.variant ?? (isSoftwareDevice(device) ? 'rows' : 'workgroup')) === 'rows';
  return [
    makeDispatch(device, { label: `${label} count`, code, entryPoint: 'count_targets', constants: shift, bindings: [args.loss, args.labels, whole], workgroups: [1] }),
    ...blocks.map((b) => {
      const blockRows = numel(b.logits.shape) / vocab;
      return makeDispatch(device, {
        label: `${label} rows ${b.firstRow}…${b.firstRow + blockRows - 1}`,
        code,
        entryPoint: perRow ? 'forward_rows' : 'forward',
        constants: { GRADIENT: Number(args.gradient ?? true), ...shift },
        bindings: [b.logits, args.labels, params(b.firstRow, blockRows), args.rowLoss, args.loss],
        workgroups: perRow ? [Math.min(Math.max(1, ceilDiv(blockRows, 64)), 1024)] : rowGrid(blockRows),
      });
    }),
    makeDispatch(device, { label: `${label} mean`, code, entryPoint: 'mean_loss', bindings: [args.loss, args.rowLoss, whole], workgroups: [1] }),
  ];
}

/** Throws unless every label is a vocabulary index or IGNORE_INDEX (the kernel would skip it). */
export function checkCausalLmLabels(labels: ArrayLike<number>, vocab: number, source: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v !== IGNORE_INDEX && !(Number.isInteger(v) && v >= 0 && v < vocab)) {
      throw new Error(`${source}: label ${v} at position ${i} is neither a token id below the vocabulary size ${vocab} nor ${IGNORE_INDEX}`);
    }
  }
}
