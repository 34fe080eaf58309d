import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCausalLmExamples, collateCausalLm, type CausalLmExample, type CausalLmOptions } from './causal-lm-data.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { parseTable } from './dataset.ts';
import { createTokenizer } from './tokenizer.ts';

const LLAMA = new URL('../../../shared/fixtures/hf-tiny/llama/', import.meta.url).pathname;
const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));
const tokenizerConfig = json(`${LLAMA}tokenizer_config.json`);
const tokenizer = createTokenizer({ tokenizerJson: json(`${LLAMA}tokenizer.json`), tokenizerConfig });
const BOS = 0;
const EOS = 1;
const PAD = 2;

// A chat template in the style of Llama 3 / Qwen2.5: a header per turn, EOS closing each turn.
const CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}Assistant: {{ m['content'] }}{{ eos_token }}\n" +
  "{% else %}{{ m['role'] }}: {{ m['content'] }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";
const chatConfig = { ...tokenizerConfig, chat_template: CHAT_TEMPLATE };

async function build(lines: object[], options: Partial<CausalLmOptions> = {}, fileName = 'train.jsonl') {
  const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
  const table = await parseTable(new TextEncoder().encode(text).buffer as ArrayBuffer, fileName);
  return buildCausalLmExamples(table, fileName, tokenizer, { maxLength: 64, tokenizerConfig: chatConfig, ...options });
}

/** The text of the tokens an example trains on (labels ≠ −100 from position 1, as the shift uses them). */
const trainedText = (example: CausalLmExample) =>
  tokenizer.decode(example.labels.filter((label, t) => t > 0 && label !== IGNORE_INDEX));

describe('causal-LM data', () => {
  it('text rows: the ids transformers produced for the llama fixture, EOS appended, every token a label', async () => {
    const rows = readFileSync(`${LLAMA}data.jsonl`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as object);
    const ref = json(`${LLAMA}ref-batch.json`) as { input_ids: number[][]; attention_mask: number[][] };
    const { format, examples, truncated } = await build(rows);
    expect(format).toBe('text');
    expect(truncated).toBe(0);
    expect(examples).toHaveLength(12);
    examples.forEach((example, i) => {
      const length = ref.attention_mask[i].reduce((a, b) => a + b, 0);
      expect(example.inputIds).toEqual([...ref.input_ids[i].slice(0, length), EOS]);
      expect(example.inputIds[0]).toBe(BOS);
      expect(example.labels).toEqual(example.inputIds);
      expect(example.line).toBe(i + 1);
    });
    // Batched: right-padded with the pad id, mask 0 and label −100 there.
    const batch = collateCausalLm(examples, tokenizer.padId);
    expect(tokenizer.padId).toBe(PAD);
    expect([batch.batch, batch.seq]).toEqual([12, ref.input_ids[0].length + 1]);
    for (let b = 0; b < 12; b++) {
      const n = examples[b].inputIds.length;
      const row = (data: ArrayLike<number>) => Array.from(data).slice(b * batch.seq, (b + 1) * batch.seq);
      expect(row(batch.inputIds)).toEqual([...examples[b].inputIds, ...new Array(batch.seq - n).fill(PAD)]);
      expect(row(batch.attentionMask)).toEqual([...new Array(n).fill(1), ...new Array(batch.seq - n).fill(0)]);
      expect(row(batch.labels)).toEqual([...examples[b].labels, ...new Array(batch.seq - n).fill(IGNORE_INDEX)]);
    }
    expect(collateCausalLm(examples.slice(0, 1), PAD, 8).seq).toBe(8);
  });

  it('prompt + completion: loss on the completion and its EOS only', async () => {
    const { format, examples } = await build([
      { prompt: 'milo neru suru:', completion: ' taka zita' },
      { prompt: '', completion: 'vodo lolo' },
    ]);
    expect(format).toBe('prompt-completion');
    const [withPrompt, noPrompt] = examples;
    const promptIds = tokenizer.encodeIds('milo neru suru:', { addSpecialTokens: true });
    expect(withPrompt.inputIds).toEqual([...tokenizer.encodeIds('milo neru suru: taka zita', { addSpecialTokens: true }), EOS]);
    expect(withPrompt.labels.slice(0, promptIds.length)).toEqual(new Array(promptIds.length).fill(IGNORE_INDEX));
    expect(withPrompt.labels.slice(promptIds.length)).toEqual(withPrompt.inputIds.slice(promptIds.length));
    expect(trainedText(withPrompt)).toBe(' taka zita<|end_of_text|>');
    // An empty prompt leaves BOS as the prompt.
    expect(noPrompt.labels[0]).toBe(IGNORE_INDEX);
    expect(trainedText(noPrompt)).toBe('vodo lolo<|end_of_text|>');
  });

  it('messages: rendered by the chat template, loss on each assistant turn (content and EOS), none on the rest', async () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'milo neru' },
      { role: 'assistant', content: 'taka zita' },
      { role: 'user', content: 'vodo' },
      { role: 'assistant', content: 'lolo suru' },
    ];
    const { format, examples } = await build([{ messages }]);
    expect(format).toBe('messages');
    const [example] = examples;
    const rendered =
      '<|begin_of_text|>system: be brief\nuser: milo neru\nAssistant: taka zita<|end_of_text|>\nuser: vodo\nAssistant: lolo suru<|end_of_text|>\n';
    expect(tokenizer.decode(example.inputIds)).toBe(rendered);
    expect(example.inputIds).toEqual(tokenizer.encodeIds(rendered, { addSpecialTokens: false }));
    expect(example.inputIds.filter((id) => id === BOS)).toHaveLength(1); // the template's BOS, none added
    expect(trainedText(example)).toBe(' taka zita<|end_of_text|> lolo suru<|end_of_text|>');
    // The trained tokens are two contiguous runs, each ending at an EOS.
    const trained = example.labels.map((label) => label !== IGNORE_INDEX);
    const runs = trained.filter((on, t) => on && !trained[t - 1]).length;
    expect(runs).toBe(2);
    example.labels.forEach((label, t) => expect(label === IGNORE_INDEX || label === example.inputIds[t]).toBe(true));
  });

  it('truncates to maxLength keeping the start, and drops rows whose trained tokens all fall past it', async () => {
    const long = 'milo neru suru taka kami loba vosu zita';
    const text = await build([{ text: long }, { text: 'milo' }], { maxLength: 5 });
    expect(text.truncated).toBe(1);
    expect(text.examples[0].inputIds).toEqual(tokenizer.encodeIds(long, { addSpecialTokens: true }).slice(0, 5));
    expect(text.examples[0].labels).toEqual(text.examples[0].inputIds);
    expect(text.examples[1].inputIds).toEqual([BOS, ...tokenizer.encodeIds('milo', { addSpecialTokens: false }), EOS]);
    // A text that already ends with EOS gets no second one.
    const ended = await build([{ text: 'milo<|end_of_text|>' }]);
    expect(ended.examples[0].inputIds).toEqual(text.examples[1].inputIds);
    const { examples, truncated, droppedNoLoss } = await build(
      [{ prompt: long, completion: ' zita' }, { prompt: 'milo', completion: ' neru suru' }],
      { maxLength: 5 },
    );
    expect(truncated).toBe(2);
    expect(droppedNoLoss).toEqual([1]);
    expect(examples.map((e) => e.line)).toEqual([2]);
    expect(examples[0].inputIds).toEqual(tokenizer.encodeIds('milo neru suru', { addSpecialTokens: true }).slice(0, 5));
    await expect(build([{ prompt: long, completion: ' zita' }], { maxLength: 5 })).rejects.toThrow(
      'train.jsonl: no row has a token to train on within maxLength 5',
    );
  });

  it('bad rows get an error naming the file and the line', async () => {
    const ok = { prompt: 'milo', completion: ' neru' };
    await expect(build([ok, { prompt: 'milo' }], {}, 'sft.jsonl')).rejects.toThrow('sft.jsonl, line 2: missing "completion"');
    await expect(build([ok, { prompt: 'milo', completion: '  ' }])).rejects.toThrow('train.jsonl, line 2: "completion" is empty');
    await expect(build([{ text: 'milo' }, { text: 3 }])).rejects.toThrow('train.jsonl, line 2: "text" must be a string, got 3');
    await expect(build([{ text: 'milo' }, { other: 'x' }])).rejects.toThrow('train.jsonl, line 2: missing "text"');
    await expect(build([{ label: 1 }])).rejects.toThrow('train.jsonl: no causal-LM columns: expected "text", "prompt" + "completion", or "messages" (found "label")');
    const chat = (messages: unknown) => build([{ messages }]);
    await expect(chat([{ role: 'human', content: 'hi' }])).rejects.toThrow(
      'train.jsonl, line 1: message 1 has role "human": expected "system", "user" or "assistant"',
    );
    await expect(chat([{ role: 'user', content: 'hi' }])).rejects.toThrow('line 1: no assistant message: nothing to train on');
    await expect(chat([{ role: 'user', content: 'hi' }, { role: 'assistant', content: '' }])).rejects.toThrow('message 2 (assistant) is empty');
    await expect(chat([{ role: 'user' }])).rejects.toThrow('message 1 has no string "content"');
    await expect(chat('hi')).rejects.toThrow('"messages" must be a list');
    await expect(build([{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }], { tokenizerConfig })).rejects.toThrow(
      'tokenizer_config.json: has no "chat_template", which train.jsonl\'s "messages" rows need to be rendered',
    );
  });

  it('refuses a chat template that rewrites earlier turns, as its assistant turns cannot be located', async () => {
    // Marks the last message differently from the others: a prefix renders differently from the whole.
    const template = "{% for m in messages %}{% if loop.last %}[{{ m['content'] }}]{% else %}{{ m['content'] }} {% endif %}{% endfor %}";
    await expect(
      build([{ messages: [{ role: 'user', content: 'milo' }, { role: 'assistant', content: 'neru' }, { role: 'user', content: 'suru' }] }], {
        tokenizerConfig: { ...tokenizerConfig, chat_template: template },
      }),
    ).rejects.toThrow('line 1: the chat_template does not render this conversation prefix by prefix (message 2 changes the text before it)');
    await expect(
      build([{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }], {
        tokenizerConfig: { ...tokenizerConfig, chat_template: '{% for m in messages %}' },
      }),
    ).rejects.toThrow(/tokenizer_config.json: its chat_template does not parse/);
  });
});
