/**
 * A store was given the digest of a message it holds already (under `ref`): the same message sent
 * again by its client. The outbox (a message's copies) and the holds both recognise it this way.
 */
export class KnownMessageError extends Error {
  constructor(readonly ref: string) {
    super(`this message is stored already, as ${ref}`);
    this.name = 'KnownMessageError';
  }
}
