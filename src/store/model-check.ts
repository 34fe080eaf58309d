// Turning dropped files into ModelFiles (folder, loose files or a .zip) and checking them early on
// the main thread: config.json and the safetensors headers only, so a bad folder is reported at
// once without parsing the weights twice (the engine reads them in full).
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { unzipModel } from '../io/zip.ts';
import { taskOf } from '../model/architectures.ts';
import { architectureFor, parseModelConfig } from '../model/config.ts';
import type { TaskLoss } from '../model/task.ts';
import type { ModelFiles } from '../io/types.ts';

/** A file as dropped or picked, with its path relative to the drop (folder name included). */
export interface DroppedFile {
  path: string;
  file: File;
}

export interface ModelInfo {
  modelType: string;
  layers: number;
  hidden: number;
  fileCount: number;
  bytes: number;
  /** What the architecture's head does (taskOf): a 'causal-lm' model generates text, with or
   * without data dropped yet; any other is never treated as one. */
  task: TaskLoss;
}

export async function modelFromFiles(dropped: DroppedFile[]): Promise<ModelFiles> {
  const files = dropped.filter((d) => !baseName(d.path).startsWith('.'));
  if (files.length === 0) throw new Error('No files were dropped for the model.');
  if (files.length === 1 && files[0].path.toLowerCase().endsWith('.zip')) {
    return unzipModel(await files[0].file.arrayBuffer(), files[0].path);
  }
  const folder = commonFolder(files.map((f) => f.path));
  const entries = await Promise.all(
    files.map(async (f) => [f.path.slice(folder ? folder.length + 1 : 0), await f.file.arrayBuffer()] as const),
  );
  return { name: folder || 'model', files: Object.fromEntries(entries) };
}

/** The top folder all paths share ('' when they are loose files). */
function commonFolder(paths: string[]): string {
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  return tops.size === 1 ? [...tops][0] : '';
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** config.json parsed and checked; the weights must be safetensors (pickles are never opened). */
export function inspectModel(model: ModelFiles): ModelInfo {
  const paths = Object.keys(model.files);
  // A zip may hold the folder under a top directory: the shallowest config.json marks the model.
  const configPath = paths
    .filter((p) => baseName(p) === 'config.json')
    .sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (!configPath) throw new Error(`${model.name}: no config.json (drop the whole model folder).`);
  const root = configPath.slice(0, configPath.length - 'config.json'.length);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(model.files[configPath]));
  } catch (error) {
    throw new Error(`${configPath}: not valid JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  const config = parseModelConfig(json, configPath);
  const weights = paths.filter((p) => p.startsWith(root) && p.endsWith('.safetensors'));
  if (weights.length === 0) {
    const pickled = paths.find((p) => /\.(bin|pt|pth|ckpt)$/i.test(p));
    throw new Error(
      pickled
        ? `${pickled}: pickled PyTorch weights are never opened (unpickling can run code); save the model as safetensors.`
        : `${model.name}: no .safetensors weights beside ${configPath}.`,
    );
  }
  for (const path of weights) readSafetensorsHeader(model.files[path], path);
  const bytes = paths.reduce((sum, p) => sum + model.files[p].byteLength, 0);
  const task = taskOf(architectureFor(config), config).loss;
  return { modelType: config.modelType, layers: config.layers, hidden: config.hidden, fileCount: paths.length, bytes, task };
}
