// Choosing the next token from a causal LM's logits, as Hugging Face's generate() does: greedy
// (argmax), or sampling from softmax(logits / temperature) restricted to the nucleus (top-p: the
// most probable tokens whose probabilities sum to at least p; the token that crosses p is kept).
// Pure functions over a Float32Array of vocabulary logits; randomness comes from a seeded
// generator so a generation can be repeated. The KV-cached forward pass is the engine's job:
// `generate` only asks it for the next logits.

import { seededRandom } from '../util/random.ts';

export interface SamplingOptions {
  /** 0 means greedy; otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 keeps every token. */
  topP: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topP: 1 };

function checkOptions({ temperature, topP }: SamplingOptions): void {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`temperature must be a finite number ≥ 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${topP}`);
}

/** The index of the largest logit (the lowest index among equal ones). */
export function greedyToken(logits: Float32Array): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i];
    if (Number.isNaN(value)) throw new Error(`logit ${i} is NaN`);
    if (value > bestValue) {
      best = i;
      bestValue = value;
    }
  }
  if (best < 0) throw new Error(logits.length === 0 ? 'no logits to choose from' : 'every logit is −∞: no token can be chosen');
  return best;
}

/**
 * The tokens sampling may pick and their probabilities (summing to 1), most probable first (ties:
 * lower id first): softmax(logits / temperature) cut to the top-p nucleus, computed in float64.
 */
export function nucleus(logits: Float32Array, options: SamplingOptions): { ids: number[]; probs: number[] } {
  checkOptions(options);
  if (options.temperature === 0) return { ids: [greedyToken(logits)], probs: [1] };
  const max = logits[greedyToken(logits)];
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    weights[i] = Math.exp((logits[i] - max) / options.temperature);
    total += weights[i];
  }
  const order = Array.from({ length: logits.length }, (_, i) => i).filter((i) => weights[i] > 0);
  order.sort((a, b) => weights[b] - weights[a] || a - b);
  const ids: number[] = [];
  let kept = 0;
  for (const id of order) {
    if (ids.length > 0 && kept / total >= options.topP) break;
    ids.push(id);
    kept += weights[id];
  }
  return { ids, probs: ids.map((id) => weights[id] / kept) };
}

/** One token drawn from the nucleus with a uniform number u ∈ [0, 1) from `random`. */
export function sampleToken(logits: Float32Array, options: SamplingOptions, random: () => number): number {
  if (options.temperature === 0) {
    checkOptions(options);
    return greedyToken(logits);
  }
  const { ids, probs } = nucleus(logits, options);
  const u = random();
  let cumulative = 0;
  for (let i = 0; i < ids.length; i++) {
    cumulative += probs[i];
    if (u < cumulative) return ids[i];
  }
  return ids[ids.length - 1]; // u within rounding of 1
}

export type StopReason = 'eos' | 'length';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Token ids that end the generation (emitted, then stop), e.g. config.json's eos_token_id list. */
  eosIds: readonly number[];
  seed: number;
}

/**
 * Generates up to maxNewTokens tokens after `prompt`: `nextLogits(tokens)` returns the logits
 * for the token after `tokens` (prompt plus everything generated so far; a KV-cached model only
 * needs the last one). Yields each token as it is chosen, so the page can stream it; returns why
 * it stopped. An EOS token is yielded, then generation ends.
 */
export async function* generate(
  prompt: readonly number[],
  nextLogits: (tokens: readonly number[]) => Float32Array | Promise<Float32Array>,
  options: GenerateOptions,
): AsyncGenerator<number, StopReason> {
  checkOptions(options);
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) {
    throw new Error(`maxNewTokens must be an integer ≥ 0, got ${options.maxNewTokens}`);
  }
  if (prompt.length === 0) throw new Error('generation needs at least one prompt token (e.g. BOS)');
  const random = seededRandom(options.seed);
  const tokens = [...prompt];
  for (let n = 0; n < options.maxNewTokens; n++) {
    const token = sampleToken(await nextLogits(tokens), options, random);
    tokens.push(token);
    yield token;
    if (options.eosIds.includes(token)) return 'eos';
  }
  return 'length';
}
