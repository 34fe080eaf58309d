// JSON for files users drop in. JSON.parse words its errors differently in every engine (Safari
// gives no position at all) and silently keeps the last of two equal keys, which the safetensors
// format forbids. This checks the text with a small scanner that names the line and column of the
// first problem, then lets JSON.parse build the value.

export class JsonSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(
    text: string,
    readonly offset: number,
    problem: string,
  ) {
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const column = offset - lineStart + 1;
    super(`${problem} at line ${line}, column ${column}`);
    this.name = 'JsonSyntaxError';
    this.line = line;
    this.column = column;
  }
}

/** Parses `text` as JSON, throwing JsonSyntaxError (with line and column) when it is not JSON or,
 * with `rejectDuplicateKeys`, when an object anywhere in it repeats a key. */
export function parseJson(text: string, options: { rejectDuplicateKeys: boolean }): unknown {
  if (options.rejectDuplicateKeys) {
    checkJson(text, true);
    return JSON.parse(text);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // Only now pay for the scan, to say where the text is wrong.
    checkJson(text, false);
    throw error;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'];

/** Walks `text` by the RFC 8259 grammar (what JSON.parse accepts) without recursion, so hostile
 * nesting cannot overflow the stack; throws at the first problem. */
function checkJson(text: string, rejectDuplicateKeys: boolean): void {
  let i = 0;
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  const found = () => (i >= text.length ? 'end of text' : JSON.stringify(text[i]));
  const fail = (problem: string): never => {
    throw new JsonSyntaxError(text, i, problem);
  };
  const skipSpace = () => {
    for (let c = text[i]; c === ' ' || c === '\n' || c === '\r' || c === '\t'; c = text[++i]);
  };
  const readString = (): string => {
    const start = i++;
    let escaped = false;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('unescaped control character in a string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      escaped = true;
      const e = text[i + 1];
      if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
      else fail('invalid escape in a string');
    }
    i++;
    const raw = text.slice(start, i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const readKey = (keys: Set<string>) => {
    skipSpace();
    if (text[i] !== '"') fail(`expected a key in double quotes, found ${found()}`);
    const at = i;
    const key = readString();
    if (rejectDuplicateKeys && keys.has(key)) {
      i = at;
      fail(`duplicate key ${JSON.stringify(key)}`);
    }
    keys.add(key);
    skipSpace();
    if (text[i] !== ':') fail(`expected ':' after a key, found ${found()}`);
    i++;
  };

  for (;;) {
    // A value starts here.
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      skipSpace();
      if (text[i] === (c === '{' ? '}' : ']')) i++;
      else {
        const keys = c === '{' ? new Set<string>() : null;
        open.push(keys);
        if (keys) readKey(keys);
        continue;
      }
    } else if (c === '"') readString();
    else {
      const literal = LITERALS.find((word) => text.startsWith(word, i));
      NUMBER.lastIndex = i;
      if (literal) i += literal.length;
      else if (NUMBER.test(text)) i = NUMBER.lastIndex;
      else fail(`unexpected ${found()}`);
    }
    // After a value: close finished containers, or move on to the next member.
    for (;;) {
      skipSpace();
      if (open.length === 0) {
        if (i < text.length) fail(`unexpected ${found()} after the end of the JSON value`);
        return;
      }
      const keys = open[open.length - 1];
      const close = keys ? '}' : ']';
      if (text[i] === close) {
        i++;
        open.pop();
        continue;
      }
      if (text[i] !== ',') fail(`expected ',' or '${close}', found ${found()}`);
      i++;
      if (keys) readKey(keys);
      break;
    }
  }
}
