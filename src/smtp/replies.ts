/** An SMTP answer carried as an Error, the way smtp-server expects it (responseCode + text). */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    /** Text after the code, beginning with the enhanced status code. */
    text: string,
  ) {
    super(text);
    this.name = 'SmtpReply';
  }
}

export const REPLIES = {
  authRequired: () => new SmtpReply(530, '5.7.0 Authentication required: this client may not relay without AUTH'),
  authFailed: () => new SmtpReply(535, '5.7.8 Authentication credentials invalid'),
  authLocked: () => new SmtpReply(454, '4.7.0 Too many failed logins, try again later'),
  senderNotYours: (sender: string) => new SmtpReply(553, `5.7.1 Sender address <${sender}> is not allowed for this login`),
  authMethod: () => new SmtpReply(504, '5.5.4 Unrecognized authentication type'),
  tooManyRecipients: (max: number) => new SmtpReply(452, `4.5.3 Too many recipients (at most ${max} per message)`),
  tooBig: (max: number) => new SmtpReply(552, `5.3.4 Message size exceeds fixed maximum message size (${max} bytes)`),
  busy: () => new SmtpReply(452, '4.3.1 Too much mail in progress, try again later'),
  tooManyFromAddress: () => new SmtpReply(421, '4.7.0 Too many connections from your address, try again later'),
  noRoom: () => new SmtpReply(421, '4.7.0 Too many connected clients, try again later'),
  tooSlow: () => new SmtpReply(421, '4.4.2 Took too long, closing'),
  shuttingDown: () => new SmtpReply(421, '4.3.2 Service shutting down, try again later'),
};
