// Pixel values of image rows, as an image model reads them: each image decoded (createImageBitmap
// in the browser, pure JS in Node: the caller's ImageDecoder) and preprocessed as the model's
// image processor does it, batch by batch. Preprocessed images are kept up to a memory budget, so
// a small dataset is decoded once per run and a large one never holds all its pixels at once.
import type { ImageDecoder } from '../io/images/decode.ts';
import { preprocessImage, type ImageProcessorConfig } from '../io/images/image-processor.ts';
import type { EncodedImage, Example } from '../io/types.ts';

/** 256 MiB of float32 pixel values: MNIST's 60,000 digits at 28×28×3, or 1,300 images at 224². */
const DEFAULT_BUDGET_BYTES = 256 * 2 ** 20;

export class ImagePixels {
  private readonly cache = new Map<EncodedImage, Float32Array>();
  private cachedBytes = 0;

  constructor(
    private readonly decode: ImageDecoder,
    private readonly processor: ImageProcessorConfig,
    private readonly budgetBytes = DEFAULT_BUDGET_BYTES,
  ) {}

  /** One image's pixel values [3, height, width]. */
  async one(image: EncodedImage): Promise<Float32Array> {
    const kept = this.cache.get(image);
    if (kept) return kept;
    const pixels = preprocessImage(await this.decode(image.bytes, image.path), this.processor, image.path);
    if (this.cachedBytes + pixels.byteLength <= this.budgetBytes) {
      this.cache.set(image, pixels);
      this.cachedBytes += pixels.byteLength;
    }
    return pixels;
  }

  /** The rows' pixel values [rows, 3, height, width]; a row without an image is named. */
  async batch(examples: readonly Example[], datasetName: string): Promise<Float32Array> {
    const { height, width } = this.processor.size;
    const per = 3 * height * width;
    const out = new Float32Array(examples.length * per);
    for (const [i, e] of examples.entries()) {
      if (!e.image) throw new Error(`${datasetName}: row "${e.text}" has no image; an image model trains on image datasets (an image folder, or a table of image paths)`);
      out.set(await this.one(e.image), i * per);
    }
    return out;
  }
}
