import { useEffect, useState } from 'react';
import { countPerClass, type ImageDataset } from '../io/images/dataset.ts';
import { useFiles } from '../store/files.ts';
import { formatCount } from './labels.ts';
import { ValidationSource } from './ValidationSource.tsx';

/** Thumbnails shown per class (the first training images of each). */
const THUMBNAILS = 8;

/** Object URLs of the first training images of each class, made and revoked with the dataset
 * (in an effect, so React's development double-mount gets fresh ones). */
function useThumbnails(data: ImageDataset): { path: string; url: string }[][] {
  const [thumbnails, setThumbnails] = useState<{ path: string; url: string }[][]>([]);
  useEffect(() => {
    const made = data.labelNames.map((_, label) =>
      data.splits.train
        .filter((e) => e.label === label)
        .slice(0, THUMBNAILS)
        .map((e) => ({ path: e.path, url: URL.createObjectURL(new Blob([e.bytes as Uint8Array<ArrayBuffer>])) })),
    );
    setThumbnails(made);
    return () => made.flat().forEach((t) => URL.revokeObjectURL(t.url));
  }, [data]);
  return thumbnails;
}

/** An image dataset: its classes with counts and thumbnails, the check of its images, and the validation choice. */
export function ImagePreview() {
  const images = useFiles((s) => s.images)!;
  const dataset = useFiles((s) => s.dataset);
  const { data, check, broken } = images;
  const thumbnails = useThumbnails(data);
  const trainCounts = countPerClass(data.splits.train, data.labelNames);
  const validationCounts = data.splits.validation && countPerClass(data.splits.validation, data.labelNames);
  const checking = !broken && check.done < check.total;
  return (
    <section className="panel" data-testid="dataset-preview">
      <h3>Preview: {images.name}</h3>
      <p className="mapping" data-testid="image-summary">
        {data.labelNames.length} classes, {formatCount(data.splits.train.length)} training
        {data.splits.validation ? ` and ${formatCount(data.splits.validation.length)} validation` : ''} images
        {data.layout === 'imagefolder' ? ' (one folder per class)' : data.layout === 'parquet' ? ' (Parquet)' : ' (a table of image paths)'}.
      </p>
      <table className="image-classes">
        <tbody>
          {data.labelNames.map((name, label) => (
            <tr key={name} data-testid="image-class">
              <th>
                <span data-testid="image-class-name">{name}</span>
                <small data-testid="image-class-count">
                  {formatCount(trainCounts[label])} train
                  {validationCounts ? ` · ${formatCount(validationCounts[label])} validation` : ''}
                </small>
              </th>
              <td className="thumbnails">
                {(thumbnails[label] ?? []).map((t) => (
                  <img key={t.path} src={t.url} alt={t.path} title={t.path} data-testid="thumbnail" />
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className={broken ? 'warning' : 'note'} role="status" data-testid="image-check">
        {broken
          ? `⚠ ${broken}`
          : checking
            ? `Checking the images: ${formatCount(check.done)} of ${formatCount(check.total)} decoded…`
            : `All ${formatCount(check.total)} images decode${check.grayscale ? ' (grayscale: the playground offers a canvas to draw on)' : ''}.`}
      </p>
      <ValidationSource fileLabel={data.splits.validation ? `the validation split (${formatCount(data.splits.validation.length)} images)` : 'a validation/ folder (none in this dataset)'} hasFile={!!data.splits.validation} unit="images" />
      {dataset && (
        <p className="dataset-summary" data-testid="dataset-summary">
          Image classification into {dataset.labelNames.length} classes ({dataset.labelNames.join(', ')}): {formatCount(dataset.train.length)} training and{' '}
          {formatCount(dataset.validation.length)} validation images.
        </p>
      )}
    </section>
  );
}
