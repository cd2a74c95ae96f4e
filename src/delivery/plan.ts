import type { Envelope } from '../message/envelope.js';
import { ID_HEADER, prependHeader } from '../message/headers.js';
import { longLineReplacements, substitute } from '../message/long-lines.js';
import { assemble } from '../message/rewrite.js';
import { newMessageId } from '../message/id.js';
import type { MessageModel } from '../message/model.js';
import type { ByteSource, ByteStream } from '../message/source.js';
import type { EncryptionSettings } from '../policy/encryption.js';
import type { JobMeta } from '../store/outbox-store.js';
import { composePasswordNotice } from '../zip/password-notice.js';
import { groupRecipients } from '../zip/recipients.js';
import { packAttachments, packWhole } from '../zip/transform.js';
import type { Mailbox } from '../message/mailbox.js';

/** One copy of the message for one group of recipients, ready to send (X-Outguard-Id included). */
export interface PlannedCopy {
  id: string;
  envelope: Envelope;
  /** The original read by offsets, or a copy with a ZIP made as it is read (into the outbox, once). */
  raw: ByteSource | ByteStream;
  /** Set when the copy carries the files in an encrypted ZIP. */
  encrypted?: JobMeta['encrypted'];
}

/** The password of one encrypted copy, sent separately once that copy was accepted (第6-2). */
export interface PlannedNotice {
  id: string;
  /** The copy it unlocks: it may leave only once that copy was accepted, never before. */
  after: string;
  envelope: Envelope;
  raw: Buffer;
  /** How long after its copy was accepted it may leave (a profile's `password.delayMinutes`). */
  delayMs: number;
}

/**
 * Everything one accepted message produces, worked out in one place for direct mail and released
 * holds alike: the copies (internal recipients: the original; outside recipients: one copy per
 * ZIP profile) and the password notices with the time each may leave.
 */
export interface DeliveryPlan {
  /** The gateway's id of the message (its first copy's id). */
  messageId: string;
  /** The decoded subject, for notices about the message. */
  subject: string;
  copies: PlannedCopy[];
  notices: PlannedNotice[];
  /** Already password-protected files that travel as they are. */
  passedAsIs: string[];
}

export interface PlanInput {
  id: string;
  message: MessageModel;
  envelope: Envelope;
  settings: EncryptionSettings;
  isInternal: (domain: string) => boolean;
  /** notices.from: password notices to the sender come from it. */
  noticeFrom: Mailbox;
}

/**
 * 第6-2 for one message the policy lets through. For outside recipients, what a client could show
 * as a file leaves only inside an encrypted ZIP:
 * - a message that cannot be taken apart as it is (ambiguous, files under a signature, files
 *   inside the body text) goes whole, as one .eml, into the ZIP — the policy held or rejected the
 *   ambiguous and signed ones unless a person released them;
 * - otherwise its files are replaced by the ZIP, bodies and inline images byte for byte;
 * - files that are provably password-protected already travel as they are.
 * Internal recipients get the original. A message with nothing to pack is one copy for everyone.
 */
export async function planDelivery(input: PlanInput): Promise<DeliveryPlan> {
  const { id, message, envelope, settings } = input;
  // parts with lines a strict next hop refuses go out re-encoded, in every copy that carries them
  const replacements = longLineReplacements(message);
  const original = (copyId: string) =>
    replacements.length === 0 ? prependHeader(message.source, ID_HEADER, copyId) : prependHeader(assemble(message.source, substitute([{ from: 0, to: message.source.length }], replacements)), ID_HEADER, copyId);
  const unchanged = (passedAsIs: string[]): DeliveryPlan => ({
    messageId: id,
    subject: message.subject,
    copies: [{ id, envelope, raw: original(id) }],
    notices: [],
    passedAsIs,
  });
  if (!settings.enabled) return unchanged([]);
  const files = message.files;
  const whole = !message.separable;
  const passed = whole ? [] : files.filter((f) => f.encryption !== undefined);
  const toPack = whole ? files : files.filter((f) => f.encryption === undefined);
  if (!whole && toPack.length === 0) return unchanged(passed.map((f) => f.filename));

  const groups = groupRecipients(envelope.to, input.isInternal, settings);
  if (groups.every((g) => g.internal)) return unchanged([]);
  const copies: PlannedCopy[] = [];
  const notices: PlannedNotice[] = [];
  for (const group of groups) {
    const copyId = copies.length === 0 ? id : `${id}-${copies.length + 1}`;
    const groupEnvelope = { from: envelope.from, to: group.to };
    if (group.internal) {
      copies.push({ id: copyId, envelope: groupEnvelope, raw: original(copyId) });
      continue;
    }
    const packing = whole ? packWhole(message, settings, group.profile) : packAttachments(message, toPack, settings, group.profile, replacements);
    copies.push({
      id: copyId,
      envelope: groupEnvelope,
      raw: prependHeader(packing.raw, ID_HEADER, copyId),
      // the digests are read when the copy is stored, after making it measured the files
      encrypted: {
        zip: packing.zipName,
        form: packing.form,
        files: packing.files.map((f) => ({
          name: f.name,
          get sha256() {
            return f.sha256;
          },
        })),
      },
    });
    // By default the password goes to the sender, who passes it on by another route; a
    // profile may send it to the recipients themselves, after a delay.
    const password = group.profile.password;
    const toSender = password.to === 'sender' && envelope.from !== '';
    const noticeEnvelope = toSender ? { from: '', to: [envelope.from] } : groupEnvelope;
    const noticeId = newMessageId();
    const raw = await composePasswordNotice({
      ref: copyId,
      subject: message.subject,
      zipName: packing.zipName,
      recipients: group.to,
      password: packing.password,
      envelope: noticeEnvelope,
      from: toSender ? input.noticeFrom : (message.from[0]?.address ?? envelope.from),
    });
    notices.push({
      id: noticeId,
      after: copyId,
      envelope: noticeEnvelope,
      raw: prependHeader(raw, ID_HEADER, noticeId),
      delayMs: password.to === 'recipients' ? Math.round(password.delayMinutes * 60_000) : 0,
    });
  }
  return { messageId: id, subject: message.subject, copies, notices, passedAsIs: passed.map((f) => f.filename) };
}
