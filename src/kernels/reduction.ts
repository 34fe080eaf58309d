// The workgroup reductions of the row kernels (layernorm, rmsnorm, the attention softmax and its
// backward): a kernel's shader is composed with one of two WGSL libraries of one interface,
// shaders/reduce_subgroup.wgsl or shaders/reduce_workgroup.wgsl.
import subgroupCode from '../../shaders/reduce_subgroup.wgsl?raw';
import treeCode from '../../shaders/reduce_workgroup.wgsl?raw';
import { hasSubgroups, isSoftwareDevice } from '../gpu/device.ts';

/** How a row kernel reduces its rows: 'subgroup' (a workgroup per row, subgroupAdd/subgroupMax
 * then one step across subgroups; devices with subgroups), 'workgroup' (a workgroup per row, a
 * tree in workgroup memory; any GPU), 'rows' (an invocation per row and no barriers; software
 * adapters). Chosen from the device when absent; tests run all three. */
export type RowVariant = 'subgroup' | 'workgroup' | 'rows';

export function rowVariant(device: GPUDevice, variant?: RowVariant): RowVariant {
  return variant ?? (isSoftwareDevice(device) ? 'rows' : workgroupVariant(device));
}

/** The device's variant among those with a workgroup per row. */
export function workgroupVariant(device: GPUDevice): 'subgroup' | 'workgroup' {
  return hasSubgroups(device) ? 'subgroup' : 'workgroup';
}

/** The shader with its reduction library in front (`enable subgroups;` must open the module). */
export function withReductions(variant: RowVariant, code: string): string {
  return (variant === 'subgroup' ? subgroupCode : treeCode) + code;
}
