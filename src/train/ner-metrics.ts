// Entity-level precision, recall and F1 for token classification, as seqeval computes them by
// default (the conlleval-compatible mode HF's run_ner.py reports): chunks are read from IOB2,
// IOB1 (an I- after O or after another type starts a chunk) and BIOES tags alike, an entity is
// (type, first token, last token), and it counts only when its type and both ends match.

export interface Entity {
  type: string;
  start: number;
  /** Inclusive, as seqeval reports it. */
  end: number;
}

/** A tag's prefix letter and type: "B-PER" → B, PER; "O" → O, "_"; a bare "B" → B, "_". */
function splitTag(tag: string): [string, string] {
  const rest = tag.slice(1);
  const dash = rest.indexOf('-');
  return [tag.slice(0, 1), (dash === -1 ? rest : rest.slice(dash + 1)) || '_'];
}

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if ((prevTag === 'B' || prevTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/** seqeval's get_entities over sentences: each sentence is followed by an implicit "O", and offsets run over the concatenation. */
export function getEntities(sentences: readonly (readonly string[])[]): Entity[] {
  const flat: string[] = [];
  for (const s of sentences) flat.push(...s, 'O');
  const entities: Entity[] = [];
  let prevTag = 'O';
  let prevType = '';
  let begin = 0;
  [...flat, 'O'].forEach((chunk, i) => {
    const [tag, type] = splitTag(chunk);
    if (endOfChunk(prevTag, tag, prevType, type)) entities.push({ type: prevType, start: begin, end: i - 1 });
    if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  });
  return entities;
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
  /** Gold entities of this kind. */
  support: number;
}

export interface EntityScores extends PrecisionRecallF1 {
  /** Token accuracy over all tags (seqeval's accuracy_score). */
  accuracy: number;
  perType: Record<string, PrecisionRecallF1>;
}

/** With nothing predicted (or nothing gold) the ratio is 0, as seqeval's zero_division default gives. */
function prf(correct: number, predicted: number, gold: number): PrecisionRecallF1 {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = gold === 0 ? 0 : correct / gold;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support: gold };
}

/** Micro-averaged entity precision/recall/F1 (seqeval's precision_score, recall_score, f1_score) and per type. */
export function entityScores(gold: readonly (readonly string[])[], pred: readonly (readonly string[])[]): EntityScores {
  if (gold.length !== pred.length) throw new Error(`entity scores: ${pred.length} predicted sentences for ${gold.length} gold ones`);
  let tokens = 0;
  let same = 0;
  gold.forEach((g, i) => {
    if (g.length !== pred[i].length) throw new Error(`entity scores: sentence ${i} has ${pred[i].length} predicted tags for ${g.length} gold tags`);
    tokens += g.length;
    g.forEach((tag, j) => tag === pred[i][j] && same++);
  });
  const key = (e: Entity) => `${e.type}\u0000${e.start}\u0000${e.end}`;
  const goldEntities = getEntities(gold);
  const predEntities = getEntities(pred);
  const goldKeys = new Set(goldEntities.map(key));
  const types = new Set([...goldEntities, ...predEntities].map((e) => e.type));
  const perType: Record<string, PrecisionRecallF1> = {};
  for (const type of [...types].sort()) {
    const p = predEntities.filter((e) => e.type === type);
    perType[type] = prf(p.filter((e) => goldKeys.has(key(e))).length, p.length, goldEntities.filter((e) => e.type === type).length);
  }
  const correct = predEntities.filter((e) => goldKeys.has(key(e))).length;
  return { ...prf(correct, predEntities.length, goldEntities.length), accuracy: tokens === 0 ? NaN : same / tokens, perType };
}

/**
 * Word-level tag names from per-token predictions, keeping the positions whose label is not
 * −100 (the first sub-token of each word), as run_ner.py's compute_metrics does.
 */
export function wordTags(predictions: ArrayLike<number>, labels: ArrayLike<number>, names: readonly string[]): { gold: string[]; pred: string[] } {
  if (predictions.length !== labels.length) throw new Error(`word tags: ${predictions.length} predictions for ${labels.length} labels`);
  const gold: string[] = [];
  const pred: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === -100) continue;
    const g = names[labels[i]];
    const p = names[predictions[i]];
    if (g === undefined || p === undefined) throw new Error(`word tags: label ${g === undefined ? labels[i] : predictions[i]} at position ${i} has no name (${names.length} labels)`);
    gold.push(g);
    pred.push(p);
  }
  return { gold, pred };
}
