// Dropped JSONL rows → causal-LM training examples (input ids, attention mask, labels with −100
// where no loss applies), as TRL's SFTTrainer builds them from the three dataset shapes:
//   {"text"}                  loss on every token, EOS appended;
//   {"prompt", "completion"}  loss on the completion (and its EOS) only;
//   {"messages": [{role, content}]}  rendered with the tokenizer's chat_template
//                             (@huggingface/jinja), loss on the assistant turns only.
// Labels are not shifted: the model shifts them (position t predicts token t+1), as Hugging Face's
// causal-LM loss does. Rows are cut to maxLength keeping the start (TRL's keep_start).
//
// Finding the assistant tokens: @huggingface/jinja drops `{% generation %}` tags and our tokenizer
// gives no character offsets, so we render the conversation prefix by prefix (TRL's approach for
// prompt-completion data): turn i's text is what render(messages[..i]) adds after
// render(messages[..i−1], add_generation_prompt), trailing whitespace excluded; its tokens are
// those the full encoding shares with the encoding of the text up to each end. This works for
// any tokenizer and any template that renders a conversation prefix-stably (Llama 3, Qwen2.5,
// SmolLM2 do); a template that rewrites earlier turns is refused with a clear error.

import { Template } from '@huggingface/jinja';
import { DatasetError, type Table } from './dataset.ts';
import type { TextTokenizer } from './tokenizer.ts';
import { packTokenRows, tokenRow } from './token-row.ts';
import type { Example } from './types.ts';
import { configToken, type TokenizerConfig } from './tokenizerJson.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';

export type CausalLmFormat = 'text' | 'prompt-completion' | 'messages';

export interface CausalLmExample {
  inputIds: number[];
  /** −100 where the token is not predicted (prompt, user turns, template text). */
  labels: number[];
  /** 1-based line (or row) of the file the example came from. */
  line: number;
  /** The row as text (the text, prompt + completion, or the rendered conversation): for previews. */
  text: string;
}

export interface CausalLmExamples {
  format: CausalLmFormat;
  examples: CausalLmExample[];
  /** Rows longer than maxLength, cut to it. */
  truncated: number;
  /** Lines whose every trained token fell past maxLength: dropped, as they would carry no loss. */
  droppedNoLoss: number[];
}

export interface CausalLmOptions {
  maxLength: number;
  /** tokenizer_config.json (and special_tokens_map.json) merged: the chat template, bos/eos tokens. */
  tokenizerConfig?: object;
  /** Its name in the dropped folder, for error messages. */
  tokenizerConfigName?: string;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Which of the three shapes a table has, from its columns. */
export function detectCausalLmFormat(table: Table, fileName: string): CausalLmFormat {
  const has = (column: string) => table.columns.includes(column);
  if (has('messages')) return 'messages';
  if (has('prompt') || has('completion')) return 'prompt-completion';
  if (has('text')) return 'text';
  throw new DatasetError(
    fileName,
    `no causal-LM columns: expected "text", "prompt" + "completion", or "messages" (found ${table.columns.map((c) => `"${c}"`).join(', ') || 'none'})`,
  );
}

export function buildCausalLmExamples(table: Table, fileName: string, tokenizer: TextTokenizer, options: CausalLmOptions): CausalLmExamples {
  const { maxLength } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new DatasetError(fileName, `maxLength must be an integer ≥ 2, got ${maxLength}`);
  const format = detectCausalLmFormat(table, fileName);
  const config = (options.tokenizerConfig ?? {}) as TokenizerConfig;
  const configName = options.tokenizerConfigName ?? 'tokenizer_config.json';
  const eosId = tokenizer.eosId;
  if (eosId === undefined && format !== 'messages') {
    throw new DatasetError(configName, 'the tokenizer has no end-of-sequence token (eos_token), which text and prompt/completion rows need');
  }
  const column = (name: string) => table.columns.indexOf(name);
  const fail = (index: number, problem: string): never => {
    throw new DatasetError(fileName, problem, table.rowLines[index], table.rowUnit);
  };
  const stringCell = (index: number, name: string, allowEmpty: boolean): string => {
    const value = table.rows[index][column(name)];
    if (value === undefined || value === null) fail(index, `missing "${name}"`);
    if (typeof value !== 'string') fail(index, `"${name}" must be a string, got ${JSON.stringify(value)}`);
    if (!allowEmpty && (value as string).trim() === '') fail(index, `"${name}" is empty`);
    return value as string;
  };

  let chat: ChatRenderer | undefined;
  if (format === 'messages') chat = new ChatRenderer(config, configName, fileName);

  const examples: CausalLmExample[] = [];
  const droppedNoLoss: number[] = [];
  let truncated = 0;
  table.rows.forEach((_, index) => {
    let ids: number[];
    let trained: [number, number][];
    let text: string;
    if (format === 'text') {
      text = stringCell(index, 'text', false);
      ids = withEos(tokenizer.encodeIds(text, { addSpecialTokens: true }), eosId as number);
      trained = [[0, ids.length]];
    } else if (format === 'prompt-completion') {
      const prompt = stringCell(index, 'prompt', true);
      const completion = stringCell(index, 'completion', false);
      text = prompt + completion;
      ids = withEos(tokenizer.encodeIds(text, { addSpecialTokens: true }), eosId as number);
      trained = [[sharedPrefix(tokenizer.encodeIds(prompt, { addSpecialTokens: true }), ids), ids.length]];
    } else {
      const messages = readMessages(table.rows[index][column('messages')], (problem) => fail(index, problem));
      const rendered = (chat as ChatRenderer).assistantSpans(messages, (problem) => fail(index, problem));
      text = rendered.text;
      ids = tokenizer.encodeIds(text, { addSpecialTokens: false });
      const tokensUpTo = (end: number) => sharedPrefix(tokenizer.encodeIds(rendered.text.slice(0, end), { addSpecialTokens: false }), ids);
      trained = rendered.spans.map(([start, end]) => [tokensUpTo(start), tokensUpTo(end)]);
    }
    if (ids.length > maxLength) {
      ids = ids.slice(0, maxLength);
      truncated++;
    }
    const labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
    for (const [start, end] of trained) for (let t = start; t < Math.min(end, ids.length); t++) labels[t] = ids[t];
    // The model predicts label t from position t−1, so label 0 never counts (it is kept as
    // Hugging Face keeps it: labels = input ids where trained).
    if (labels.every((label, t) => t === 0 || label === IGNORE_INDEX)) {
      droppedNoLoss.push(table.rowLines[index]);
      return;
    }
    examples.push({ inputIds: ids, labels, line: table.rowLines[index], text });
  });
  if (examples.length === 0) {
    throw new DatasetError(fileName, `no row has a token to train on within maxLength ${maxLength}`);
  }
  return { format, examples, truncated, droppedNoLoss };
}

/** Rows of a causal-LM Dataset (see types.ts `Example.tokens`). */
export function causalLmDatasetExamples(built: CausalLmExamples): Example[] {
  return packTokenRows(built.examples.map(({ inputIds, labels, text }): Example => ({ text, label: 0, tokens: tokenRow(inputIds, labels) }))).rows;
}

/** Row-major batch × seq, right-padded with the pad id (mask 0, label −100 there). */
export interface CausalLmBatch {
  batch: number;
  seq: number;
  inputIds: Uint32Array;
  attentionMask: Uint32Array;
  labels: Int32Array;
}

export function collateCausalLm(examples: readonly { inputIds: ArrayLike<number>; labels: ArrayLike<number> }[], padId: number, padToMultipleOf = 1): CausalLmBatch {
  const batch = examples.length;
  const longest = examples.reduce((m, e) => Math.max(m, e.inputIds.length), 0);
  const seq = Math.ceil(longest / padToMultipleOf) * padToMultipleOf;
  const inputIds = new Uint32Array(batch * seq).fill(padId);
  const attentionMask = new Uint32Array(batch * seq);
  const labels = new Int32Array(batch * seq).fill(IGNORE_INDEX);
  examples.forEach((example, b) => {
    inputIds.set(example.inputIds, b * seq);
    attentionMask.fill(1, b * seq, b * seq + example.inputIds.length);
    labels.set(example.labels, b * seq);
  });
  return { batch, seq, inputIds, attentionMask, labels };
}

/** EOS appended, unless the text already ends with it (as TRL appends it). */
function withEos(ids: number[], eosId: number): number[] {
  return ids[ids.length - 1] === eosId ? ids : [...ids, eosId];
}

/** Length of the common prefix of two id sequences. */
function sharedPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

function readMessages(value: unknown, fail: (problem: string) => never): ChatMessage[] {
  if (!Array.isArray(value)) fail(`"messages" must be a list of {"role", "content"} objects, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
  const messages = value as unknown[];
  if (messages.length === 0) fail('"messages" is empty');
  messages.forEach((message, i) => {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) fail(`message ${i + 1} is not a {"role", "content"} object`);
    const { role, content } = message as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      fail(`message ${i + 1} has role ${JSON.stringify(role)}: expected "system", "user" or "assistant"`);
    }
    if (typeof content !== 'string') fail(`message ${i + 1} has no string "content"`);
    if (role === 'assistant' && (content as string).trim() === '') fail(`message ${i + 1} (assistant) is empty`);
  });
  if (!messages.some((m) => (m as ChatMessage).role === 'assistant')) fail('no assistant message: nothing to train on');
  return messages as ChatMessage[];
}

/** The tokenizer's chat template, and where its assistant turns fall in a rendered conversation. */
class ChatRenderer {
  private readonly template: Template;
  private readonly specials: Record<string, string>;

  constructor(config: TokenizerConfig, configName: string, private readonly fileName: string) {
    const source = chatTemplateSource(config);
    if (source === undefined) {
      throw new DatasetError(configName, `has no "chat_template", which ${fileName}'s "messages" rows need to be rendered`);
    }
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new DatasetError(configName, `its chat_template does not parse: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.specials = {};
    for (const key of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
      const token = configToken(config, key);
      if (token !== undefined) this.specials[key] = token;
    }
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean, fail: (problem: string) => never): string {
    try {
      return this.template.render({ messages, add_generation_prompt: addGenerationPrompt, ...this.specials });
    } catch (error) {
      return fail(`the chat_template failed on this conversation: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The rendered conversation and the character span [start, end) of each assistant turn. */
  assistantSpans(messages: readonly ChatMessage[], fail: (problem: string) => never): { text: string; spans: [number, number][] } {
    const text = this.render(messages, false, fail);
    const spans: [number, number][] = [];
    messages.forEach((message, i) => {
      if (message.role !== 'assistant') return;
      const before = this.render(messages.slice(0, i), true, fail);
      const through = this.render(messages.slice(0, i + 1), false, fail);
      if (!through.startsWith(before) || !text.startsWith(through)) {
        fail(
          `the chat_template does not render this conversation prefix by prefix (message ${i + 1} changes the text before it), so its assistant turns cannot be located in ${this.fileName}`,
        );
      }
      const end = through.trimEnd().length;
      if (end > before.length) spans.push([before.length, end]);
    });
    return { text, spans };
  }
}

/** tokenizer_config's chat_template: a string, or a list of named templates (the "default" one). */
function chatTemplateSource(config: TokenizerConfig): string | undefined {
  const value = (config as { chat_template?: unknown }).chat_template;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => t && typeof t === 'object' && (t as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
    if (named && typeof named.template === 'string') return named.template;
  }
  return undefined;
}
