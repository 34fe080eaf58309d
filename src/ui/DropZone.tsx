import { useState, type ReactNode } from 'react';
import type { DroppedFile } from '../store/files.ts';
import { entriesOfDrop, filesOfDrop, filesOfInput } from './drop-files.ts';

interface Props {
  title: string;
  hint: string;
  accept: string;
  /** Offer a folder picker beside the file picker. */
  folder?: boolean;
  multiple?: boolean;
  busy?: boolean;
  testId: string;
  onFiles(files: DroppedFile[]): void;
  children?: ReactNode;
}

/** A drop target with pickers for keyboard and screen-reader users. */
export function DropZone({ title, hint, accept, folder, multiple, busy, testId, onFiles, children }: Props) {
  const [over, setOver] = useState(false);
  return (
    <section
      className={`drop-zone${over ? ' over' : ''}`}
      data-testid={testId}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const taken = entriesOfDrop(e.dataTransfer);
        void filesOfDrop(taken).then((files) => files.length > 0 && onFiles(files));
      }}
    >
      <h3>{title}</h3>
      <p className="hint">{busy ? 'Reading…' : hint}</p>
      <div className="pickers">
        <label className="button">
          {multiple ? 'Choose files' : 'Choose a file'}
          <input
            type="file"
            accept={accept}
            multiple={multiple}
            data-testid={`${testId}-files`}
            onChange={(e) => {
              const files = filesOfInput(e.currentTarget.files);
              e.currentTarget.value = '';
              if (files.length > 0) onFiles(files);
            }}
          />
        </label>
        {folder && (
          <label className="button">
            Choose a folder
            <input
              type="file"
              data-testid={`${testId}-folder`}
              ref={(el) => el?.setAttribute('webkitdirectory', '')}
              onChange={(e) => {
                const files = filesOfInput(e.currentTarget.files);
                e.currentTarget.value = '';
                if (files.length > 0) onFiles(files);
              }}
            />
          </label>
        )}
      </div>
      {children}
    </section>
  );
}
