import { domainOf } from '../policy/check.js';
import { type EncryptionSettings, type ZipProfile, profileFor } from '../policy/encryption.js';

/** One delivery of a message: its recipients, and for external ones the profile their ZIP follows. */
export type RecipientGroup = { internal: true; to: string[] } | { internal: false; to: string[]; profile: ZipProfile };

/**
 * Splits the envelope recipients: internal ones get the original untouched, external ones are
 * grouped by ZIP profile (cipher, name encoding, where the password goes), each group one delivery.
 */
export function groupRecipients(to: string[], isInternal: (domain: string) => boolean, settings: EncryptionSettings): RecipientGroup[] {
  const internal: string[] = [];
  const external = new Map<ZipProfile, string[]>();
  for (const address of to) {
    const domain = domainOf(address);
    if (domain !== '' && isInternal(domain)) {
      internal.push(address);
      continue;
    }
    const profile = profileFor(settings, domain);
    external.set(profile, [...(external.get(profile) ?? []), address]);
  }
  return [
    ...(internal.length > 0 ? [{ internal: true as const, to: internal }] : []),
    ...[...external].map(([profile, list]) => ({ internal: false as const, to: list, profile })),
  ];
}
