import type { Check } from '../check.js';
import { attachmentType } from './attachment-type.js';
import { externalAttachment } from './external-attachment.js';
import { fileTransferLink } from './file-transfer-link.js';
import { firstTimeDomain } from './first-time-domain.js';
import { anonymousRecipient, onlineServiceRecipient } from './listed-recipient.js';
import { lookalikeDomain } from './lookalike-domain.js';
import { passwordInBody } from './password-in-body.js';
import { recipientExposure } from './recipient-exposure.js';
import { senderBurst } from './sender-burst.js';

/** The checks a policy rule can name with `check:`. */
export const BUILTIN_CHECKS: ReadonlyMap<string, Check<never>> = new Map(
  [
    anonymousRecipient,
    onlineServiceRecipient,
    fileTransferLink,
    lookalikeDomain,
    firstTimeDomain,
    recipientExposure,
    passwordInBody,
    attachmentType,
    externalAttachment,
    senderBurst,
  ].map((c) => [c.name, c as Check<never>]),
);
