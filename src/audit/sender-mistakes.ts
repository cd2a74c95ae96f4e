import type { Config } from '../config/schema.js';

/**
 * What the sender's 間違いだった (a mistake caught on the release page, before anything was sent)
 * leads to besides the discard and its audit event: by default nothing more, since nothing was
 * mis-sent; with compliance.reportSenderMistakes, an incident, reported to the client contact.
 */
export interface SenderMistakes {
  /** An incident is opened (and its clock started). */
  incident: boolean;
  /** The incident's report is mailed to compliance.clientContact. */
  clientNotice: boolean;
}

export const NO_MISTAKE_REPORTS: SenderMistakes = { incident: false, clientNotice: false };

export function senderMistakes(compliance: Pick<Config['compliance'], 'reportSenderMistakes' | 'clientContact'>): SenderMistakes {
  if (!compliance.reportSenderMistakes) return NO_MISTAKE_REPORTS;
  return { incident: true, clientNotice: compliance.clientContact.length > 0 };
}
