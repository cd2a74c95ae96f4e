/**
 * Remembers a function of a string: the same few hundred domains and client addresses recur in
 * mail. The bound keeps hostile input (a flood of made-up names) from growing it without limit.
 */
export function memoize<V>(compute: (key: string) => V, bound = 10000): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    if (known.has(key)) return known.get(key)!;
    const value = compute(key);
    if (known.size >= bound) known.clear();
    known.set(key, value);
    return value;
  };
}
