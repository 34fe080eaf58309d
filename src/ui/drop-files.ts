// Reading what the user dropped or picked: DataTransfer entries (folders walked recursively),
// or an <input>'s FileList (webkitRelativePath keeps the folder structure).
import type { DroppedFile } from '../store/files.ts';

/** Entries must be taken synchronously inside the drop handler: the DataTransfer dies after it. */
export function entriesOfDrop(data: DataTransfer): { entries: FileSystemEntry[]; files: File[] } {
  const entries: FileSystemEntry[] = [];
  for (const item of data.items) {
    const entry = item.kind === 'file' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
  }
  return { entries, files: [...data.files] };
}

export async function filesOfDrop({ entries, files }: { entries: FileSystemEntry[]; files: File[] }): Promise<DroppedFile[]> {
  if (entries.length === 0) return files.map((file) => ({ path: file.name, file }));
  const out: DroppedFile[] = [];
  for (const entry of entries) await walk(entry, out);
  return out;
}

export function filesOfInput(list: FileList | null): DroppedFile[] {
  return [...(list ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

async function walk(entry: FileSystemEntry, out: DroppedFile[]): Promise<void> {
  const path = entry.fullPath.replace(/^\//, '');
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns the listing in chunks (100 in Chrome) until an empty one.
  for (;;) {
    const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (chunk.length === 0) break;
    for (const child of chunk) await walk(child, out);
  }
}
