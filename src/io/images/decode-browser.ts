// Image decoding in the browser (studio, worker): the browser's own PNG/JPEG decoders through
// createImageBitmap, read back through an OffscreenCanvas. The bitmap is asked not to
// premultiply alpha and not to convert colour spaces (embedded ICC profiles and gAMA are ignored,
// as PIL ignores them), and EXIF metadata is cut out first, since browsers turn images by its
// orientation tag and PIL does not; so opaque pixels come out as stored. The canvas keeps pixels
// premultiplied internally, so the colour of a partly transparent pixel may move by a level and
// a fully transparent one reads as black, where PIL keeps its stored colour.

import { checkDimensions, ImageDecodeError, sniffImageFormat, withoutExif, type ImageDecoder } from './decode.ts';

export const decodeImageBrowser: ImageDecoder = async (bytes, path) => {
  const format = sniffImageFormat(bytes, path);
  let bitmap: ImageBitmap;
  try {
    const blob = new Blob([withoutExif(bytes, format) as Uint8Array<ArrayBuffer>], { type: format === 'png' ? 'image/png' : 'image/jpeg' });
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (error) {
    throw new ImageDecodeError(path, `a damaged ${format === 'png' ? 'PNG' : 'JPEG'} (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    const { width, height } = bitmap;
    checkDimensions(width, height, path);
    const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!context) throw new ImageDecodeError(path, 'this browser gives no 2D canvas to read the image with');
    context.drawImage(bitmap, 0, 0);
    const data = new Uint8Array(context.getImageData(0, 0, width, height).data.buffer);
    return { width, height, channels: 4, data };
  } finally {
    bitmap.close();
  }
};
