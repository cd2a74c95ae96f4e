import type { Envelope } from '../message/envelope.js';

export type Action = 'deliver' | 'hold' | 'reject';

/** One thing a check noticed, named by the rule that asked for it and the clause it serves. */
export interface Finding {
  rule: string;
  clause: string;
  severity: Action | 'monitor';
  message: string;
  value?: string;
}

export interface Verdict {
  action: Action;
  findings: Finding[];
}

/** The message as the engine sees it. */
export interface Subject {
  raw: Buffer;
  envelope: Envelope;
}
