// Text generation from a prompt with a KV-cached decoder: the prompt tokenized as the model's
// tokenizer does for a single text (BOS where its post-processor adds one), tokens chosen by
// sampling.ts, and each token's text streamed as soon as it decodes to whole characters
// (byte-level BPE splits a multi-byte character across tokens). Shared by the engine and the CLI.
import type { TextTokenizer } from '../io/tokenizer.ts';
import { GpuDecoder, playgroundDecoders } from '../model/gpu-decode.ts';
import type { GpuModel } from '../model/gpu-model.ts';
import { generate, type SamplingOptions, type StopReason } from '../train/sampling.ts';
import type { EngineEvent, GenerateSettings, GenerationSide } from './protocol.ts';

export interface TextGenerationOptions extends SamplingOptions {
  maxNewTokens: number;
  seed: number;
}

export interface GeneratedPiece {
  /** The token; null for the last piece when generation ended inside a character (its rest). */
  id: number | null;
  /** The text this token completes (empty while a character is still partial). */
  text: string;
}

/** The ids that end a generation: config.json's eos_token_id (a number or a list) and the
 * tokenizer's EOS token. */
export function eosIds(rawConfig: Record<string, unknown>, tokenizer: TextTokenizer): number[] {
  const ids = new Set<number>();
  const configured = rawConfig.eos_token_id;
  for (const id of Array.isArray(configured) ? configured : [configured]) if (typeof id === 'number') ids.add(id);
  if (tokenizer.eosId !== undefined) ids.add(tokenizer.eosId);
  return [...ids];
}

/** The prompt's ids; a prompt that tokenizes to nothing is an error. */
export function promptIds(tokenizer: TextTokenizer, prompt: string): number[] {
  const ids = tokenizer.encodeIds(prompt, { addSpecialTokens: true });
  if (ids.length === 0) throw new Error('the prompt is empty (and the tokenizer adds no BOS token)');
  return ids;
}

export async function* generateText(
  decoder: GpuDecoder,
  tokenizer: TextTokenizer,
  prompt: readonly number[],
  options: TextGenerationOptions,
  eos: readonly number[],
  shouldStop: () => boolean = () => false,
): AsyncGenerator<GeneratedPiece, StopReason | 'stopped'> {
  if (prompt.length + options.maxNewTokens > decoder.options.capacity) {
    throw new Error(`${prompt.length} prompt tokens + ${options.maxNewTokens} new ones exceed the decoder's ${decoder.options.capacity}`);
  }
  decoder.reset();
  const generated: number[] = [];
  let shown = '';
  const tokens = generate(prompt, (t) => decoder.nextLogits(t), { ...options, eosIds: eos });
  const rest = () => tokenizer.decode(generated, { skipSpecialTokens: true }).slice(shown.length);
  for (;;) {
    const stopped = shouldStop();
    const next = stopped ? undefined : await tokens.next();
    if (!next || next.done) {
      const tail = rest();
      if (tail) yield { id: null, text: tail };
      return next ? next.value : 'stopped';
    }
    generated.push(next.value);
    const text = tokenizer.decode(generated, { skipSpecialTokens: true });
    // U+FFFD at the end: the last token ends inside a character; wait for the rest.
    const piece = text.endsWith('\uFFFD') ? '' : text.slice(shown.length);
    if (piece) shown = text;
    yield { id: next.value, text: piece };
  }
}

/**
 * The playground's generation for a loaded causal LM: one decoder on the initial Σ (base) and one
 * on the live trained Σ (tuned) over the same weights, stepped in turn so both columns stream
 * together.
 */
export class PlaygroundGenerator {
  private readonly decoders: Record<GenerationSide, GpuDecoder>;
  private readonly eos: number[];

  constructor(model: GpuModel, private readonly tokenizer: TextTokenizer, rawConfig: Record<string, unknown>) {
    const { capacity, chunk } = playgroundDecoders(model.layout);
    this.decoders = { base: new GpuDecoder(model, { capacity, chunk, weights: 'base' }), tuned: new GpuDecoder(model, { capacity, chunk, weights: 'tuned' }) };
    this.eos = eosIds(rawConfig, tokenizer);
  }

  async run(id: number, prompt: string, settings: GenerateSettings, post: (event: EngineEvent) => void, shouldStop: () => boolean): Promise<void> {
    const ids = promptIds(this.tokenizer, prompt);
    const sides: GenerationSide[] = ['base', 'tuned'];
    const streams = sides.map((side) => ({ side, stream: generateText(this.decoders[side], this.tokenizer, ids, settings, this.eos, shouldStop), tokens: 0, started: 0, done: false }));
    while (streams.some((s) => !s.done)) {
      for (const s of streams) {
        if (s.done) continue;
        const next = await s.stream.next();
        if (next.done) {
          s.done = true;
          const seconds = (performance.now() - s.started) / 1000;
          post({ type: 'generated', id, side: s.side, stop: next.value, tokens: s.tokens, tokensPerSecond: s.tokens > 1 && seconds > 0 ? (s.tokens - 1) / seconds : 0 });
          continue;
        }
        // The rate counts tokens after the first, which carries the prompt's prefill.
        if (next.value.id !== null && ++s.tokens === 1) s.started = performance.now();
        post({ type: 'token', id, side: s.side, text: next.value.text });
      }
    }
  }

  destroy(): void {
    this.decoders.base.destroy();
    this.decoders.tuned.destroy();
  }
}
