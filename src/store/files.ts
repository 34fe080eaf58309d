// The user's choice of model and data: the dropped files, the parsed tables, the picked columns
// and the validation source, and the Dataset they make. Parsing happens here, never in components,
// and every failure becomes a message naming the file (store/errors.ts).
import { create } from 'zustand';
import { buildExamples, guessColumns, parseTable, splitValidation } from '../io/dataset.ts';
import type { ColumnChoice, Table } from '../io/dataset.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
import { causalLmReader, type CausalLmReader } from '../train/load.ts';
import { useErrors } from './errors.ts';
import { inspectModel, modelFromFiles } from './model-check.ts';
import type { DroppedFile, ModelInfo } from './model-check.ts';

export type { DroppedFile, ModelInfo };

/** Column names for the text, the optional text pair and the label. */
export type Columns = ColumnChoice;

export interface TableFile {
  fileName: string;
  table: Table;
  /** The file as dropped: a saved run keeps it to rebuild the same dataset later. */
  source: File;
}

export type ValidationSource = 'file' | 'fraction';

interface FilesState {
  model: ModelFiles | null;
  modelInfo: ModelInfo | null;
  modelBusy: boolean;
  train: TableFile | null;
  validation: TableFile | null;
  columns: Columns;
  validationSource: ValidationSource;
  validationFraction: number;
  /** The Dataset the current choices make, or null while they make none. */
  dataset: Dataset | null;
  dropModel(files: DroppedFile[]): Promise<void>;
  dropDataset(role: 'train' | 'validation', file: DroppedFile): Promise<void>;
  setColumn(key: keyof Columns, column: string | undefined): void;
  setValidationSource(source: ValidationSource): void;
  setValidationFraction(fraction: number): void;
}

/** The causal-LM reader of the last model asked about (reading its folder once). */
let lastReader: { model: ModelFiles; reader: CausalLmReader | undefined } | undefined;
function causalLmOf(model: ModelFiles): CausalLmReader | undefined {
  if (lastReader?.model !== model) lastReader = { model, reader: causalLmReader(model) };
  return lastReader.reader;
}

/** Seed of the held-out split: fixed so the same file always gives the same split. */
const SPLIT_SEED = 1234;

export const useFiles = create<FilesState>()((set, get) => {
  /**
   * Rebuild the Dataset after `change`, applying both in one update so subscribers never see the
   * new files with the old Dataset; a failure names the file that caused it.
   */
  function update(change: Partial<FilesState>) {
    const { model, train, validation, columns, validationSource, validationFraction } = { ...get(), ...change };
    const errors = useErrors.getState();
    errors.clear('dataset');
    let dataset: Dataset | null = null;
    let file = train?.fileName;
    try {
      const lm = model ? causalLmOf(model) : undefined;
      if (train && lm) {
        // A causal LM trains on text, prompt/completion or messages rows, tokenized here.
        const rows = lm(train.table, train.fileName).examples;
        let split;
        if (validationSource === 'file' && validation) {
          file = validation.fileName;
          split = { train: rows, validation: lm(validation.table, validation.fileName).examples };
        } else split = splitValidation(rows, validationFraction, SPLIT_SEED);
        const name = validationSource === 'file' && validation ? `${train.fileName} + ${validation.fileName}` : train.fileName;
        dataset = { task: 'causal-lm', labelNames: [], ...split, name };
      } else if (train) {
        const built = buildExamples(train.table, columns, train.fileName);
        let trainExamples = built.examples;
        let validationExamples;
        if (validationSource === 'file' && validation) {
          file = validation.fileName;
          validationExamples = buildExamples(validation.table, columns, validation.fileName, {
            task: built.task,
            labelNames: built.labelNames,
          }).examples;
        } else {
          const split = splitValidation(built.examples, validationFraction, SPLIT_SEED);
          trainExamples = split.train;
          validationExamples = split.validation;
        }
        const name = validationSource === 'file' && validation ? `${train.fileName} + ${validation.fileName}` : train.fileName;
        dataset = { task: built.task, labelNames: built.labelNames, train: trainExamples, validation: validationExamples, name };
      }
    } catch (error) {
      errors.report('dataset', error, file);
    }
    set({ ...change, dataset });
  }

  return {
    model: null,
    modelInfo: null,
    modelBusy: false,
    train: null,
    validation: null,
    columns: {},
    validationSource: 'fraction',
    validationFraction: 0.1,
    dataset: null,
    async dropModel(files) {
      const errors = useErrors.getState();
      errors.clear('model');
      set({ modelBusy: true });
      try {
        const model = await modelFromFiles(files);
        const modelInfo = inspectModel(model);
        update({ model, modelInfo });
      } catch (error) {
        errors.report('model', error, files.length === 1 ? files[0].path : undefined);
      } finally {
        set({ modelBusy: false });
      }
    },
    async dropDataset(role, file) {
      const errors = useErrors.getState();
      errors.clear(role);
      try {
        const table = await parseTable(await file.file.arrayBuffer(), file.path);
        update(
          role === 'train'
            ? { train: { fileName: file.path, table, source: file.file }, columns: guessColumns(table) }
            : { validation: { fileName: file.path, table, source: file.file }, validationSource: 'file' },
        );
      } catch (error) {
        errors.report(role, error, file.path);
      }
    },
    setColumn(key, column) {
      update({ columns: { ...get().columns, [key]: column } });
    },
    setValidationSource(validationSource) {
      update({ validationSource });
    },
    setValidationFraction(validationFraction) {
      update({ validationFraction });
    },
  };
});
