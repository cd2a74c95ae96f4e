/** Stands for a remembered `undefined`, so that every hit costs one Map lookup. */
const NONE = Symbol('none');

/**
 * Remembers a function of a string: the same few hundred domains and client addresses recur in
 * mail. The bound keeps hostile input (a flood of made-up names) from growing it without limit.
 */
export function memoize<V>(compute: (key: string) => V, bound = 10000): (key: string) => V {
  const known = new Map<string, V | typeof NONE>();
  return (key) => {
    const hit = known.get(key);
    if (hit !== undefined) return hit === NONE ? (undefined as V) : hit;
    const value = compute(key);
    if (known.size >= bound) known.clear();
    known.set(key, value === undefined ? NONE : value);
    return value;
  };
}
