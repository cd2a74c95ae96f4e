/** A file that does not parse as the format it claims to be: it is not provably encrypted. */
export class Malformed extends Error {}

/** The answer of a format check, false when the file turned out malformed on the way. */
export function falseIfMalformed(check: () => boolean): boolean {
  try {
    return check();
  } catch (e) {
    if (e instanceof Malformed) return false;
    throw e;
  }
}
