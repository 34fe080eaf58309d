// A model folder dropped as a .zip. fflate lists the entries first (central directory only), so
// OS junk, directories and — when safetensors are there — pickled checkpoints, which may be
// gigabytes of optimizer state, are never inflated.

import { unzipSync, type UnzipFileInfo } from 'fflate';
import type { ModelFiles } from './types.ts';
import { ModelFolderError } from './model-folder.ts';

const JUNK = /(^|\/)(__MACOSX\/|\._|\.DS_Store$|Thumbs\.db$)/;
const NOT_SAFETENSORS_WEIGHTS = /\.(bin|pt|pth|ckpt|h5|msgpack|onnx|gguf)$/i;

/** Unzips a dropped model folder; throws ModelFolderError naming `fileName` when the zip is corrupt. */
export function unzipModel(bytes: ArrayBuffer, fileName: string): ModelFiles {
  const data = new Uint8Array(bytes);
  const corrupt = (error: unknown): never => {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ModelFolderError(`${fileName} is not a readable zip file (${detail}); it may be damaged or truncated.`, fileName);
  };

  const entries: UnzipFileInfo[] = [];
  try {
    unzipSync(data, {
      filter: (info) => {
        entries.push(info);
        return false;
      },
    });
  } catch (error) {
    corrupt(error);
  }
  const files = entries.filter((info) => !info.name.endsWith('/') && !JUNK.test(info.name));
  const hasSafetensors = files.some((info) => info.name.endsWith('.safetensors'));
  // Without safetensors the other weights are kept (unread later), so the folder reader can say
  // what they are and how to convert them.
  const wanted = new Map(files.filter((info) => !(hasSafetensors && NOT_SAFETENSORS_WEIGHTS.test(info.name))).map((info) => [info.name, info]));
  if (wanted.size === 0) throw new ModelFolderError(`${fileName} contains no files.`, fileName);

  let unzipped: Record<string, Uint8Array> = {};
  try {
    unzipped = unzipSync(data, { filter: (info) => wanted.has(info.name) });
  } catch (error) {
    corrupt(error);
  }
  const out: Record<string, ArrayBuffer> = {};
  for (const [name, content] of Object.entries(unzipped)) {
    // fflate checks no CRC and cuts a stored entry short at the end of the data without a word.
    if (content.length !== wanted.get(name)!.originalSize) corrupt(new Error(`${name} is ${content.length} bytes, the zip says ${wanted.get(name)!.originalSize}`));
    const whole = content.byteOffset === 0 && content.byteLength === content.buffer.byteLength;
    out[name] = (whole ? content.buffer : content.slice().buffer) as ArrayBuffer;
  }
  return { name: fileName.replace(/\.zip$/i, ''), files: out };
}
