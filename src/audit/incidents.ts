import type { Config } from '../config/schema.js';
import type { Accepted } from '../delivery/next-hop.js';
import type { Hold } from '../hold/types.js';
import type { Logger } from '../log.js';
import type { Envelope } from '../message/envelope.js';
import { ID_HEADER, prependHeader } from '../message/headers.js';
import { newMessageId } from '../message/id.js';
import type { MessageModel } from '../message/model.js';
import { ruleName } from '../policy/rule-names.js';
import { type Finding, findingMessage } from '../policy/verdict.js';
import type { JobInfo, OutboxStore } from '../store/outbox-store.js';
import { InFlight } from '../util/in-flight.js';
import { jstStamp } from '../util/japan-time.js';
import { type NewAuditEvent, findingFields } from './events.js';
import { type MessageLookup, messageOfHold, passwordState } from './incident-message.js';
import { composeIncidentNotice, incidentReportText } from './incident-report.js';
import {
  DuplicateIncidentError,
  type Incident,
  type IncidentActions,
  type IncidentFilter,
  type IncidentMessage,
  type IncidentProblem,
  type IncidentStatus,
  type IncidentStore,
  type IncidentTrigger,
  type OpenRequest,
  incidentStatus,
  isIncidentId,
  newIncidentId,
} from './incident-types.js';

/** How long the same report of the same message by the same person counts as a repeat of it. */
const REPEAT_WINDOW_MS = 60_000;

export interface IncidentServiceOptions {
  store: IncidentStore;
  /** The outbox's store: the notification is queued here (kind 'notice', ref = incident id). */
  outboxStore: Pick<OutboxStore, 'enqueue' | 'list'>;
  /** The outbox runner, kicked after the notification was queued (the CLI passes an idle one). */
  outbox: { kick(): void };
  /** The audit log: incident-opened, incident-reported, incident-overdue. */
  audit: { record(event: NewAuditEvent): void };
  logger: Logger;
  /** Finds the message of a manual incident (messageLookup in incident-message.ts). */
  lookup: MessageLookup;
  compliance: Pick<Config['compliance'], 'clientContact' | 'incidentMinutes' | 'from'>;
  now?: () => number;
  /** Time zone of the Japanese times in the report. Default Asia/Tokyo. */
  timeZone?: string;
  /**
   * Besides at the next deadline it knows of, the overdue check looks at the store this often,
   * for incidents other processes (the CLI) opened. Default 60 s.
   */
  pollMs?: number;
}

/** What the gateway knows of a message whose findings include a rule marked `incident: true`. */
export interface RuleIncidentInput {
  messageId: string;
  /** The message model the verdict was reached on: its subject and files go into the report. */
  message: Pick<MessageModel, 'subject' | 'files'>;
  envelope: Envelope;
  findings: Finding[];
  /** What became of the message: sent (deliver, monitor), held, or refused. */
  action: 'deliver' | 'hold' | 'reject';
}

const MAX_TIMER = 2 ** 31 - 1;

/**
 * Incidents (遵守事項 第2: report to the client's contact within 60 minutes of recognising one).
 *
 * Opening one — by a person (pages, CLI), by the sender's 間違いだった, or by a rule marked
 * `incident: true` — records it with its deadline, writes 'incident-opened', and at once queues
 * the prefilled report to compliance.clientContact in the durable outbox. When the next hop
 * accepts that report, noticeSent() marks the incident reported by `outguard (for <opener>)`.
 * Without a client contact, or when the report cannot be sent, a person reports another way and
 * records it with markReported().
 *
 * An unreported incident past its deadline is overdue: a timer writes one warning and one
 * 'incident-overdue' event for it (once, even with several processes: a conditional UPDATE).
 */
export class IncidentService implements IncidentActions {
  private readonly store: IncidentStore;
  private readonly outboxStore: IncidentServiceOptions['outboxStore'];
  private readonly outbox: { kick(): void };
  private readonly audit: IncidentServiceOptions['audit'];
  private readonly logger: Logger;
  private readonly lookup: MessageLookup;
  private readonly compliance: IncidentServiceOptions['compliance'];
  private readonly format: { timeZone?: string };
  private readonly now: () => number;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly runs = new InFlight();

  constructor(options: IncidentServiceOptions) {
    this.store = options.store;
    this.outboxStore = options.outboxStore;
    this.outbox = options.outbox;
    this.audit = options.audit;
    this.logger = options.logger;
    this.lookup = options.lookup;
    this.compliance = options.compliance;
    this.format = options.timeZone ? { timeZone: options.timeZone } : {};
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 60_000;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Warns about what became overdue while outguard was down, then arms the overdue timer. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.checkOverdue();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.runs.drain();
  }

  // ---- IncidentActions (pages, CLI) -----------------------------------------------------------

  list(filter?: IncidentFilter): Promise<Incident[]> {
    return this.store.list(filter);
  }

  get(id: string): Promise<Incident | null> {
    return this.store.get(id);
  }

  status(incident: Incident, now = this.now()): IncidentStatus {
    return incidentStatus(incident, now);
  }

  reportText(incident: Incident): string {
    return incidentReportText(incident, this.format);
  }

  get mailsReports(): boolean {
    return this.compliance.clientContact.length > 0;
  }

  async open(request: OpenRequest): Promise<{ incident: Incident } | { problem: IncidentProblem; detail: string }> {
    const reason = request.reason.trim();
    const by = request.by.trim();
    const messageId = request.messageId.trim();
    if (reason === '' || by === '' || messageId === '') return { problem: 'invalid', detail: 'an incident needs a message id, a reason and who opens it' };
    // the same person sending the same report again at once (a double click, a reload) is one incident
    const [latest] = await this.store.list({ messageId, limit: 1 });
    if (latest && latest.openedBy === by && latest.summary === reason && this.now() - latest.openedAt < REPEAT_WINDOW_MS) return { incident: latest };
    const found = await this.lookup(messageId);
    if (!found) return { problem: 'unknown-message', detail: `no message with id ${messageId} in the audit log or the holds` };
    const { encrypted, ...message } = found;
    const password = message.state === 'sent' ? await passwordState(this.outboxStore, messageId, message.recipients.length, encrypted) : 'not-applicable';
    return { incident: await this.create('manual', by, reason, messageId, { ...message, password }) };
  }

  async markReported(id: string, by: string, note?: string): Promise<{ incident: Incident } | { problem: IncidentProblem; detail: string }> {
    const who = by.trim();
    if (who === '') return { problem: 'invalid', detail: 'say who reported it' };
    const incident = await this.store.get(id);
    if (!incident) return { problem: 'unknown-incident', detail: `no incident with id ${id}` };
    const text = note?.trim();
    if (!(await this.record(incident, this.now(), who, 'recorded', text || undefined))) {
      const now = (await this.store.get(id))!;
      return { problem: 'already-reported', detail: `incident ${id} was already reported at ${jstStamp(now.reportedAt!)} by ${now.reportedBy}` };
    }
    return { incident: (await this.store.get(id))! };
  }

  // ---- triggers -------------------------------------------------------------------------------

  /** The sender (or an approver) pressed 間違いだった on the release page: the message was discarded, not sent. */
  async openForMistake(hold: Hold, actor: string): Promise<Incident> {
    const summary = '送信者が送信前の確認画面で「間違いだった」と報告し、メールを破棄しました。 / The sender reported the message as a mistake on the confirmation page and discarded it.';
    return this.runs.track(this.create('mistake', actor, summary, hold.id, { ...messageOfHold(hold), password: 'not-applicable' }));
  }

  /**
   * A rule marked `incident: true` found something. Returns at once: the incident is opened
   * afterwards (the attachments are hashed off the SMTP path), and a failure is only logged —
   * it must never fail or slow the SMTP transaction.
   */
  ruleFired(input: RuleIncidentInput): void {
    const fired = input.findings.filter((f) => f.incident === true);
    if (fired.length === 0 || this.stopped) return;
    // read from the message now: a spooled message's bytes are gone once it has been answered
    const subject = input.message.subject;
    const attachments = input.message.files.map((a) => ({ name: a.filename, sha256: a.sha256 }));
    const run = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const rules = [...new Set(fired.map((f) => f.rule))];
      const summary = ruleSummary(fired);
      const state = input.action === 'deliver' ? 'sent' : input.action === 'hold' ? 'held' : 'not-sent';
      const message: IncidentMessage = {
        sender: input.envelope.from,
        recipients: [...input.envelope.to],
        subject,
        attachments,
        ...findingFields(input.findings),
        state,
        password: state === 'sent' ? await passwordState(this.outboxStore, input.messageId, input.envelope.to.length, false) : 'not-applicable',
      };
      await this.create('rule', `policy:${rules[0]}`, summary, input.messageId, message);
    });
    void this.runs.track(run).catch((err: unknown) => this.logger.error({ ref: input.messageId, err: errorText(err) }, 'cannot open the incident for a rule; open it by hand'));
  }

  // ---- the outbox tells what became of the notification ---------------------------------------

  /** Outbox onSent: the client's contact got the report, so the incident is reported. */
  async noticeSent(job: JobInfo, accepted: Accepted): Promise<void> {
    if (job.kind !== 'notice' || !isIncidentId(job.ref)) return;
    const incident = await this.store.get(job.ref);
    if (!incident) return;
    const at = job.sentAt ?? this.now();
    const to = accepted.accepted.length > 0 ? accepted.accepted : job.envelope.to;
    await this.store.markNotified(incident.id, at, to);
    this.logger.info({ incident: incident.id, notice: job.id, to }, 'incident report sent to the client contact');
    await this.record(incident, at, `outguard (for ${incident.openedBy})`, 'notified');
  }

  /** Outbox onFailed: the report could not be sent; a person must report another way. */
  async noticeFailed(job: JobInfo, error: string): Promise<void> {
    if (job.kind !== 'notice' || !isIncidentId(job.ref)) return;
    await this.store.markNoticeFailed(job.ref, error);
    this.logger.error(
      { incident: job.ref, notice: job.id, err: error },
      'the incident report could not be sent to the client contact: report it another way, then record it (outguard incident reported ID --by NAME)',
    );
  }

  // ---- overdue --------------------------------------------------------------------------------

  /** Writes the overdue warning (once) for every unreported incident past its deadline, then re-arms the timer. */
  checkOverdue(): Promise<void> {
    return this.runs.track(this.overduePass());
  }

  private async overduePass(): Promise<void> {
    let next: number | null = null;
    try {
      const now = this.now();
      for (const incident of await this.store.overdueUnwarned(now, 100)) {
        if (!(await this.store.markOverdueWarned(incident.id, now))) continue;
        this.logger.warn(
          { incident: incident.id, messageId: incident.messageId, deadline: new Date(incident.deadline).toISOString(), openedBy: incident.openedBy },
          'incident overdue: not reported to the client within the limit (遵守事項 第2)',
        );
        this.audit.record({ type: 'incident-overdue', ...(incident.messageId ? { messageId: incident.messageId } : {}), action: 'overdue', actor: 'outguard', detail: incident.id, time: now });
      }
      next = await this.store.nextDeadline();
    } catch (err) {
      this.logger.error({ err: errorText(err) }, 'incident overdue check failed; trying again later');
    }
    this.schedule(next === null ? this.pollMs : Math.min(this.pollMs, next - this.now() + 1));
  }

  private schedule(delayMs: number): void {
    if (!this.started || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.checkOverdue(), Math.min(Math.max(0, delayMs), MAX_TIMER));
    this.timer.unref();
  }

  // ---- internals ------------------------------------------------------------------------------

  private async create(trigger: IncidentTrigger, openedBy: string, summary: string, messageId: string | undefined, message: IncidentMessage): Promise<Incident> {
    const openedAt = this.now();
    const base = {
      openedAt,
      deadline: openedAt + this.compliance.incidentMinutes * 60_000,
      trigger,
      openedBy,
      summary,
      message,
      ...(messageId !== undefined ? { messageId } : {}),
    };
    let incident: Incident | undefined;
    for (let attempt = 0; !incident; attempt++) {
      const candidate = { id: newIncidentId(openedAt), ...base };
      try {
        await this.store.create(candidate);
        incident = candidate;
      } catch (err) {
        if (!(err instanceof DuplicateIncidentError) || attempt >= 5) throw err;
      }
    }
    this.audit.record({
      type: 'incident-opened',
      time: openedAt,
      ...(messageId !== undefined ? { messageId } : {}),
      sender: message.sender,
      recipients: message.recipients,
      subject: message.subject,
      attachments: message.attachments,
      rules: message.rules,
      clauses: message.clauses,
      action: trigger,
      actor: openedBy,
      detail: incident.id,
    });
    this.logger.warn(
      { incident: incident.id, messageId, trigger, openedBy, deadline: new Date(incident.deadline).toISOString() },
      'incident opened (遵守事項 第2: report to the client within the limit)',
    );
    await this.notify(incident);
    return (await this.store.get(incident.id)) ?? incident;
  }

  /** Queues the report to the client's contact; the incident stays recorded whatever happens here. */
  private async notify(incident: Incident): Promise<void> {
    const to = this.compliance.clientContact;
    if (to.length === 0) {
      this.logger.warn({ incident: incident.id }, 'no compliance.clientContact: report the incident another way, then record it (outguard incident reported ID --by NAME)');
      return;
    }
    const id = newMessageId();
    try {
      const raw = await composeIncidentNotice({ incident, from: this.compliance.from, to }, this.format);
      await this.outboxStore.enqueue({ id, kind: 'notice', ref: incident.id, envelope: { from: this.compliance.from, to: [...to] }, raw: prependHeader(raw, ID_HEADER, id) }, 'ready');
      await this.store.setNotice(incident.id, id);
      this.outbox.kick();
      this.logger.info({ id, incident: incident.id, to }, 'incident report queued for the client contact');
    } catch (err) {
      await this.store.markNoticeFailed(incident.id, `cannot queue the report: ${errorText(err)}`).catch(() => undefined);
      this.logger.error({ incident: incident.id, err: errorText(err) }, 'cannot queue the incident report: report it another way, then record it (outguard incident reported ID --by NAME)');
    }
  }

  private async record(incident: Incident, at: number, by: string, how: 'notified' | 'recorded', note?: string): Promise<boolean> {
    if (!(await this.store.markReported(incident.id, { at, by, how, ...(note !== undefined ? { note } : {}) }))) return false;
    this.audit.record({ type: 'incident-reported', time: at, ...(incident.messageId ? { messageId: incident.messageId } : {}), action: how, actor: by, detail: incident.id });
    this.logger.info({ incident: incident.id, by, how, late: at > incident.deadline }, 'incident reported');
    return true;
  }
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** What the rules found, for the client: each rule in words with what it says, Japanese, then English. */
function ruleSummary(fired: Finding[]): string {
  const say = (lang: 'ja' | 'en') => [...new Set(fired.map((f) => `${ruleName(f.rule)[lang]}: ${findingMessage(f)[lang]}`))];
  return `${say('ja').join('　')} / ${say('en').join('; ')}`;
}
