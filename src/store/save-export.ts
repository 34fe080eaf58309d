// An export leaves the studio in one piece: written as one folder into a directory the user picked
// (File System Access API, where the browser has it), otherwise downloaded as one .zip. The zip is
// stored (not deflated: safetensors barely compress) and built in slices with a yield between
// them, so a large model never blocks the page for long.
import { Zip, ZipPassThrough } from 'fflate';
import type { ExportKind, ExportWhich } from '../worker/protocol.ts';
import { useErrors } from './errors.ts';

export interface ExportedFile {
  name: string;
  bytes: ArrayBuffer;
}

/** Where the next export of each kind goes: a folder picked at the click, else a zip download. */
const destinations = new Map<ExportKind, FileSystemDirectoryHandle>();

const SLICE = 4 << 20;

type DirectoryPicker = (options?: { mode?: 'read' | 'readwrite'; id?: string }) => Promise<FileSystemDirectoryHandle>;

export function canPickFolder(): boolean {
  return typeof window !== 'undefined' && 'showDirectoryPicker' in window;
}

/** Ask for the folder while the click's user activation lasts; false when the user cancels. */
export async function pickFolder(kind: ExportKind): Promise<boolean> {
  const picker = (window as unknown as { showDirectoryPicker: DirectoryPicker }).showDirectoryPicker;
  try {
    destinations.set(kind, await picker({ mode: 'readwrite', id: 'vectorfit-export' }));
    return true;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') return false;
    throw error;
  }
}

/** The folder (or zip) name of an export: the model's name and what it holds. */
export function exportName(kind: ExportKind, modelName: string, which?: ExportWhich): string {
  const base = modelName.replace(/[^\w.-]+/g, '-').replace(/^[.-]+|[.-]+$/g, '') || 'model';
  return `${base}-vectorfit-${kind}${which === 'best' ? '-best' : ''}`;
}

export async function saveExport(kind: ExportKind, modelName: string, files: ExportedFile[], which?: ExportWhich): Promise<void> {
  const name = exportName(kind, modelName, which);
  const folder = destinations.get(kind);
  destinations.delete(kind);
  try {
    if (folder) await writeFolder(folder, name, files);
    else download(`${name}.zip`, await zipStored(name, files));
  } catch (error) {
    useErrors.getState().report('export', `${name}: the export could not be written (${error instanceof Error ? error.message : String(error)}).`);
  }
}

async function writeFolder(parent: FileSystemDirectoryHandle, name: string, files: ExportedFile[]): Promise<void> {
  const dir = await parent.getDirectoryHandle(name, { create: true });
  for (const file of files) {
    const writable = await (await dir.getFileHandle(file.name, { create: true })).createWritable();
    await writable.write(file.bytes);
    await writable.close();
  }
}

/** A zip with every file under `<name>/`, so unpacking it gives one folder. */
export async function zipStored(name: string, files: ExportedFile[]): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let failure: Error | null = null;
  const zip = new Zip((error, chunk) => {
    if (error) failure = error;
    else parts.push(chunk as Uint8Array<ArrayBuffer>);
  });
  for (const file of files) {
    const entry = new ZipPassThrough(`${name}/${file.name}`);
    zip.add(entry);
    const bytes = new Uint8Array(file.bytes);
    if (bytes.length === 0) entry.push(bytes, true);
    for (let at = 0; at < bytes.length; at += SLICE) {
      entry.push(bytes.subarray(at, at + SLICE), at + SLICE >= bytes.length);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  zip.end();
  if (failure) throw failure;
  return new Blob(parts, { type: 'application/zip' });
}

function download(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  // Revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
