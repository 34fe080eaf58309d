// ΔΣ of every module read from a run's checkpoint (trained parameters and their initial values in
// the trainer's flat layout), for the ΔW spectra of saved runs and of the live run at each
// checkpoint. The layout is the engine's own (model/gpu-model.ts trainableSpecs), imported with the
// page rather than lazily: evaluating that module mid-run was a main-thread long task.
import { ARCHITECTURES, describeModel } from '../model/architectures.ts';
import { parseModelConfig } from '../model/config.ts';
import { trainableSpecs } from '../model/gpu-model.ts';
import { buildParameterLayout } from '../model/parameter-layout.ts';
import { decodeCheckpoint } from '../train/checkpoint.ts';
import type { ModuleDelta } from './spectrum.ts';

/** The model's config.json: the shallowest one, as the model check picks it. */
function configOf(files: Record<string, ArrayBuffer>): [string, ArrayBuffer] {
  const path = Object.keys(files)
    .filter((p) => p === 'config.json' || p.endsWith('/config.json'))
    .sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (!path) throw new Error('the model has no config.json');
  return [path, files[path]];
}

/** `numLabels` is the run's (the dataset's), which sizes the head after the modules. */
export function checkpointDeltas(checkpoint: Uint8Array, modelFiles: Record<string, ArrayBuffer>, numLabels: number): ModuleDelta[] {
  const { snapshot } = decodeCheckpoint(checkpoint);
  const [path, bytes] = configOf(modelFiles);
  const config = { ...parseModelConfig(JSON.parse(new TextDecoder().decode(bytes)), path), numLabels };
  const arch = ARCHITECTURES[config.modelType];
  if (!arch) throw new Error(`${path}: unsupported model type ${config.modelType}`);
  const layout = buildParameterLayout(trainableSpecs(describeModel(arch, config)));
  if (layout.size !== snapshot.params.length) throw new Error(`the checkpoint holds ${snapshot.params.length} parameters where ${path} makes ${layout.size}`);
  return layout.entries
    .filter((e) => e.role === 'sigma')
    .map((e) => ({
      layer: e.layer!,
      module: e.module!,
      delta: Array.from({ length: e.length }, (_, i) => snapshot.params[e.offset + i] - snapshot.initial[e.offset + i]),
    }));
}
