/** The exhaustive-switch guard: a new union member that no case handles fails to compile, and a
 * value from outside the type (an unchecked cast, a JSON file) fails loudly at run time. */
export function unreachable(value: never, what = 'value'): never {
  throw new Error(`unsupported ${what}: ${JSON.stringify(value)}`);
}
