// One colour per entity type, the same in the NER preview and the playground: the type's place
// among the label set's types (so a type keeps its colour across sentences).
const PALETTE = ['#ffd166', '#8ecae6', '#b5e48c', '#f4a3c0', '#cdb4db', '#ffb38a', '#a0e7e5', '#e0e0a0'];

/** The entity types of a label set, in order: "B-person", "I-person", "B-location" → person, location. */
export function entityTypes(labelNames: readonly string[]): string[] {
  const types: string[] = [];
  for (const name of labelNames) {
    const dash = name.indexOf('-');
    if (name === 'O' || dash === -1) continue;
    const type = name.slice(dash + 1);
    if (!types.includes(type)) types.push(type);
  }
  return types;
}

export function entityColor(types: readonly string[], type: string): string {
  const i = types.indexOf(type);
  return PALETTE[(i === -1 ? types.length : i) % PALETTE.length];
}
