// Image rows as the trainer takes them: a Dataset's Examples whose `image` carries the encoded
// bytes (decoded and preprocessed per batch by the trainer) and whose `text` is the image's path
// (what previews and messages show). The CLI and the studio build image datasets through this.
import type { Example } from '../types.ts';
import type { ImageExample } from './dataset.ts';

/** `labelOf` maps a row's class id (a validation set read apart names its own classes). */
export function imageRows(examples: readonly ImageExample[], labelOf: (e: ImageExample) => number = (e) => e.label): Example[] {
  return examples.map((e) => ({ text: e.path, label: labelOf(e), image: { path: e.path, bytes: e.bytes } }));
}
