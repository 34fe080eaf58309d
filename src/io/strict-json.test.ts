import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJson } from './strict-json.ts';

const VALID = [
  '{}', '[]', ' {"a" : [ ] , "b":{ } }\r\n\t', '0', '-0.5e+10', '1E-3', '"\\u00e9\\ud83d\\ude00\\"\\\\\\/\\b\\f\\n\\r\\t"',
  '{"k":[true,false,null,1,-2.25,"x",{"k":1}]}', '"é😀"', '{"":1,"\\u0000":2}', '[[[[[]]]]]',
];
const INVALID = [
  '', ' ', '{', '}', '[1,]', '{"a":1,}', '{a:1}', "{'a':1}", '01', '1.', '.5', '+1', '-', '1e', 'tru', 'nul', 'NaN',
  '"\\x"', '"\\u12g4"', '"a\nb"', '"open', '[1 2]', '{"a" 1}', '{"a":}', '1 2', '[]]', '{"a":1}x', '\u00a0{}',
];

describe('parseJson', () => {
  it('accepts what JSON.parse accepts, with the same value', () => {
    for (const text of VALID) {
      expect(parseJson(text, { rejectDuplicateKeys: true }), text).toEqual(JSON.parse(text));
      expect(parseJson(text, { rejectDuplicateKeys: false }), text).toEqual(JSON.parse(text));
    }
    const tokenizer = readFileSync(new URL('../../../shared/models/vectorfit-demo-bert-tiny/tokenizer.json', import.meta.url), 'utf8');
    expect(parseJson(tokenizer, { rejectDuplicateKeys: true })).toEqual(JSON.parse(tokenizer));
  });

  it('rejects what JSON.parse rejects, with a line and column', () => {
    for (const text of INVALID) {
      expect(() => JSON.parse(text), text).toThrow();
      for (const rejectDuplicateKeys of [true, false]) {
        expect(() => parseJson(text, { rejectDuplicateKeys }), text).toThrow(JsonSyntaxError);
        expect(() => parseJson(text, { rejectDuplicateKeys }), text).toThrow(/ at line \d+, column \d+$/);
      }
    }
  });

  it('places the problem by line and column', () => {
    const error = (() => {
      try {
        parseJson('{\r\n  "a": 1,\n  "b": tru\n}', { rejectDuplicateKeys: false });
      } catch (e) {
        return e as JsonSyntaxError;
      }
    })();
    expect(error).toMatchObject({ line: 3, column: 8, offset: 20 });
    expect(error!.message).toBe('unexpected "t" at line 3, column 8');
  });

  it('rejects duplicate keys at any depth only when asked, and keeps the last otherwise like JSON.parse', () => {
    expect(() => parseJson('{"a":{"b":1,"b":2}}', { rejectDuplicateKeys: true })).toThrow('duplicate key "b" at line 1, column 13');
    expect(() => parseJson('[{"a":1},{"a":1,"\\u0061":2}]', { rejectDuplicateKeys: true })).toThrow(/duplicate key "a"/);
    expect(parseJson('{"a":1,"a":2}', { rejectDuplicateKeys: false })).toEqual({ a: 2 });
    // Equal keys in different objects are not duplicates.
    expect(parseJson('{"a":{"a":1},"b":{"a":2}}', { rejectDuplicateKeys: true })).toEqual({ a: { a: 1 }, b: { a: 2 } });
  });

  it('survives hostile nesting without overflowing the stack', () => {
    expect(() => parseJson('['.repeat(1_000_000), { rejectDuplicateKeys: true })).toThrow(/unexpected end of text at line 1, column 1000001/);
  });
});
