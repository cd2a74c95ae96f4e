/** A configuration problem, reported as one line that names where, which key, and what was expected. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly key: string,
    readonly expected: string,
    readonly got?: unknown,
    /** Why the value was refused, when `got` alone does not say (e.g. "no such file"). */
    readonly reason?: string,
  ) {
    super(
      `${source}: ${key}: expected ${expected}` +
        (got === undefined ? '' : `, got ${describe(got)}`) +
        (reason === undefined ? '' : ` (${reason})`),
    );
    this.name = 'ConfigError';
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
