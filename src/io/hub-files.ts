// What the studio takes from a Hub repository, without the Hub client (io/hub.ts loads on demand):
// the files a model folder needs and the revision holding a dataset's Parquet conversion.

export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const PARQUET_REVISION = 'refs/convert/parquet';

/** Files a model folder needs: config, safetensors weights and index, tokenizer files. */
const MODEL_FILE = /(^|\/)(config\.json|[^/]*\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|vocab\.txt|vocab\.json|merges\.txt|spm\.model|sentencepiece\.bpe\.model)$/;

export function isModelFile(path: string): boolean {
  return MODEL_FILE.test(path);
}

