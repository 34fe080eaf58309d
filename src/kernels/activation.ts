// GPU wrapper for shaders/activation.wgsl; the float64 reference of the same name is
// activation.ref.ts.
import code from '../../shaders/activation.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, placeholder, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

/** Hugging Face's `hidden_act` names: 'gelu' is the exact erf form, 'gelu_new' the tanh form. */
export type ActivationKind = 'gelu' | 'gelu_new' | 'tanh' | 'relu' | 'silu';

const KIND_CODE: Record<ActivationKind, number> = { gelu: 0, gelu_new: 1, tanh: 2, relu: 3, silu: 4 };

export interface ActivationForwardArgs {
  x: Tensor;
  /** May not be x (WebGPU forbids aliasing a written binding). */
  y: Tensor;
  n: number;
  kind: ActivationKind;
}

export interface ActivationBackwardArgs {
  dy: Tensor;
  /** The forward's input. */
  x: Tensor;
  dx: Tensor;
  n: number;
  kind: ActivationKind;
}

/** y = f(x). */
export function activationForward(device: GPUDevice, args: ActivationForwardArgs): Dispatch {
  return activation(device, `${args.kind} forward ${args.n}`, args.kind, false, [args.x, placeholder(device), args.y], args.n);
}

/** dx = dy·f′(x). */
export function activationBackward(device: GPUDevice, args: ActivationBackwardArgs): Dispatch {
  return activation(device, `${args.kind} backward ${args.n}`, args.kind, true, [args.x, args.dy, args.dx], args.n);
}

export interface GatedForwardArgs {
  /** The gate and up projections, [n] each. */
  gate: Tensor;
  up: Tensor;
  /** May not be gate or up. */
  h: Tensor;
  n: number;
  /** The gate's activation: 'silu' for Llama and Qwen2. */
  kind: ActivationKind;
}

export interface GatedBackwardArgs {
  dh: Tensor;
  /** The forward's inputs. */
  gate: Tensor;
  up: Tensor;
  /** Written, not accumulated. */
  dGate: Tensor;
  dUp: Tensor;
  n: number;
  kind: ActivationKind;
}

/** h = f(gate) ⊙ up (a gated MLP). */
export function gatedForward(device: GPUDevice, args: GatedForwardArgs): Dispatch {
  return activation(device, `gated ${args.kind} forward ${args.n}`, args.kind, false, [args.gate, args.up, args.h], args.n, 'gated_forward');
}

/** dGate = dh·up·f′(gate), dUp = dh·f(gate). */
export function gatedBackward(device: GPUDevice, args: GatedBackwardArgs): Dispatch {
  return activation(device, `gated ${args.kind} backward ${args.n}`, args.kind, true, [args.gate, args.up, args.dh, args.dGate, args.dUp], args.n, 'gated_backward');
}

function activation(device: GPUDevice, label: string, kind: ActivationKind, backward: boolean, buffers: Tensor[], n: number, entryPoint = 'main'): Dispatch {
  return makeDispatch(device, {
    label,
    code,
    entryPoint,
    constants: { KIND: KIND_CODE[kind], BACKWARD: Number(backward) },
    bindings: [...buffers, createParams(device, [['u32', n]])],
    workgroups: gridStride(n),
  });
}
