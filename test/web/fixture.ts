import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { expect } from 'vitest';
import { type NextHop, NextHopError } from '../../src/delivery/next-hop.js';
import { Outbox } from '../../src/delivery/outbox.js';
import { SmtpHop } from '../../src/delivery/smtp-hop.js';
import { DeliveryEvents } from '../../src/delivery/events.js';
import { DeliveryPipeline } from '../../src/delivery/pipeline.js';
import { NOTICE_HEADER, REF_HEADER } from '../../src/hold/notices.js';
import { HoldService } from '../../src/hold/service.js';
import type { DeadlineAction, Hold, HoldActions, HoldAttachment, HoldRecipient, HoldState } from '../../src/hold/types.js';
import { type Logger, createLogger } from '../../src/log.js';
import { ID_HEADER } from '../../src/message/headers.js';
import { newMessageId } from '../../src/message/id.js';
import { MessageModel } from '../../src/message/model.js';
import { DEFAULT_ENCRYPTION } from '../../src/policy/encryption.js';
import { registrableDomain } from '../../src/policy/lists.js';
import type { Finding } from '../../src/policy/verdict.js';
import type { StoredHold } from '../../src/store/hold-store.js';
import type { JobInfo } from '../../src/store/outbox-store.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteHoldStore } from '../../src/store/sqlite-holds.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { WebServer, type WebServerOptions } from '../../src/web/server.js';
import { firstTime, lookalike } from '../hold/fixtures.js';
import { SEVEN_ZIP, sevenZipExtract } from '../support/archives.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { hasCommand, requireTool } from '../support/tools.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

/**
 * The hold backend the web tests run against, behind ONE factory: createHoldBackend().
 *
 * It is the real one, built the way src/service.ts builds it, in a temp data dir: the data-at-rest
 * key (loadSecretKey), SqliteOutboxStore and SqliteHoldStore, an Outbox whose next hop is a real
 * SMTP server (the sink, via SmtpHop), a DeliveryPipeline and the HoldService, started. Holds are made
 * the way the gateway makes them: a real MIME message, held with holds.hold() and a verdict's
 * findings and hold rule; the release link is the one in the confirmation notice that reached the
 * sink. The tests assert through this interface: the hold's state as stored, and what reached
 * the next hop (sent()), never through a double. The only wrapper is the call counter around the
 * real service, for the checks that the web layer did not call the backend at all.
 */
export interface HoldBackend {
  /** What the web server is given: the real HoldService, wrapped only to count the calls in `calls`. */
  actions: HoldActions;
  /** For "the backend was not called" checks; what a call did is asserted by state() and sent(). */
  calls: { open: number; release: number; discard: { mistake: boolean }[] };
  /** The temp data dir (secret.key, outguard.db). */
  dataDir: string;
  /** The next hop: a real SMTP server that records what the outbox delivers. */
  sink: Sink;
  /** Holds a message and returns the release-link token of its confirmation notice. */
  create(spec?: HoldSpec): Promise<{ token: string; id: string }>;
  /** The same token with its MAC altered. */
  forge(token: string): string;
  /** A well-signed token (the service's own key) for a hold that does not exist. */
  unknownToken(): string;
  /**
   * Moves the backend's clock to the hold's deadline and runs the deadline pass there, as a
   * gateway restarted after the deadline does: the hold (and any other hold due by then) expires,
   * and its links with it.
   */
  expire(id: string): Promise<void>;
  /**
   * Decides the hold outside this link, in another process on the same data dir: released or
   * discarded as `outguard held release|discard` does (by "cli"), expired by the deadline pass of
   * another gateway process whose clock is at the deadline already (while this one's is not, so
   * the link itself has not expired; any other hold due by then expires too). The link stays unused.
   */
  decideElsewhere(id: string, state: Exclude<HoldState, 'held'>): Promise<void>;
  /** The state as stored. */
  state(id: string): Promise<HoldState>;
  /** Whether a mistake is recorded, as stored. */
  mistake(id: string): Promise<boolean>;
  /** Waits until everything queued for this hold has left the outbox, then tells what reached the sink for it. */
  sent(id: string): Promise<Sent>;
  /**
   * Closes the hold store's database under the running service, so every later call fails.
   * Returns the text of the error the backend now throws (no page may show it).
   */
  breakDown(): Promise<string>;
  close(): Promise<void>;
}

export interface HoldSpec {
  /** The envelope sender (and the From address). */
  from?: string;
  /**
   * The recipients with the flags they should show. External is worked out by the service from
   * the internal domains (example.co.jp); lookalikeOf and firstTimeDomain from the findings, so
   * for a flag the given findings do not explain, the finding the real check makes is added.
   */
  recipients?: HoldRecipient[];
  subject?: string;
  body?: string;
  attachments?: { name: string; content: Buffer }[];
  findings?: Finding[];
  deadlineInMs?: number;
  onDeadline?: DeadlineAction;
  approvers?: string[];
}

/** What reached the next hop for one hold. */
export interface Sent {
  /** The hold's notices (confirm, hold-waiting, hold-released, hold-discarded, …) in the order they arrived. */
  notices: { kind: string; to: string[] }[];
  /** The copies of the message itself, by X-Outguard-Id (the hold id, then id-2, …). */
  copies: SentCopy[];
}

export interface SentCopy {
  id: string;
  to: string[];
  subject: string;
  /** Byte for byte the held message behind the X-Outguard-Id line. */
  untouched: boolean;
  /** Its attachments as they travelled. */
  attachments: HoldAttachment[];
  /**
   * For a copy carrying the encrypted ZIP: whether every entry is encrypted, who got the
   * password notice for it, and the files inside, unpacked with that notice's password.
   */
  zip?: { encrypted: boolean; passwordTo: string[]; files: HoldAttachment[] };
}

/** Whether released ZIPs can be opened here (with 7-Zip); the tests that check them skip without it. */
export const CAN_UNZIP = requireTool(SEVEN_ZIP, '7zip');

export const INTERNAL_DOMAIN = 'example.co.jp';
const isInternal = (domain: string) => domain === INTERNAL_DOMAIN || domain.endsWith(`.${INTERNAL_DOMAIN}`);
const PUBLIC_URL = 'https://outguard.example.co.jp';
const HOSTNAME = 'outguard.example.co.jp';
const HOUR = 3_600_000;

export const SAMPLE: Required<Omit<HoldSpec, 'approvers'>> = {
  from: 'taro.yamada@example.co.jp',
  recipients: [
    { address: 'suzuki@partner.example', external: true, firstTimeDomain: false },
    { address: 'sato@examp1e.co.jp', external: true, firstTimeDomain: true, lookalikeOf: 'example.co.jp' },
    { address: 'hanako@example.co.jp', external: false, firstTimeDomain: false },
  ],
  subject: '【要確認】第3四半期 作業報告書の送付',
  body: [
    '鈴木様',
    '',
    'いつもお世話になっております。山田です。',
    '第3四半期の作業報告書をお送りします。ご確認のほどよろしくお願いいたします。',
    '',
    'Dear Mr Suzuki,',
    'Please find attached the Q3 work report.',
    '',
    '-- ',
    '山田 太郎 / Taro Yamada',
  ].join('\n'),
  attachments: [
    { name: '作業報告書_2025Q3.xlsx', content: Buffer.alloc(48_213, 7) },
    { name: 'notes.txt', content: Buffer.from('meeting notes\n') },
  ],
  // what the real checks find for this message (value and detail as they write them)
  findings: [
    lookalike('sato@examp1e.co.jp', 'example.co.jp'),
    firstTime('examp1e.co.jp'),
    {
      rule: 'external-attachment',
      clause: '遵守事項 第6-1',
      severity: 'hold',
      message: '社外宛のメールに添付ファイルがあります。 / attachments to an external recipient, confirm before sending',
      reason: 'attachments to an external recipient, confirm before sending',
      value: '作業報告書_2025Q3.xlsx, notes.txt',
      detail: '2 attachment(s) to suzuki@partner.example, sato@examp1e.co.jp',
      detailJa: '社外の宛先 suzuki@partner.example, sato@examp1e.co.jp へ添付ファイル2件',
    },
  ],
  deadlineInMs: 24 * HOUR,
  onDeadline: { action: 'discard' },
};

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fileOf = (f: { name: string; content: Buffer }): HoldAttachment => ({ name: f.name, size: f.content.length, sha256: sha256(f.content) });

/**
 * What reaches the next hop when the SAMPLE hold is released (第6-2, as direct mail): the internal
 * recipient gets the message untouched; the external ones a copy with the attachments in an
 * encrypted ZIP, whose password goes to the sender in a notice of its own; the sender is told.
 */
export function sampleRelease(id: string): Sent {
  const files = SAMPLE.attachments.map(fileOf);
  const sender = SAMPLE.from;
  return {
    notices: [
      { kind: 'confirm', to: [sender] },
      { kind: 'hold-released', to: [sender] },
    ],
    copies: [
      { id, to: ['hanako@example.co.jp'], subject: SAMPLE.subject, untouched: true, attachments: files },
      {
        id: `${id}-2`,
        to: ['suzuki@partner.example', 'sato@examp1e.co.jp'],
        subject: SAMPLE.subject,
        untouched: false,
        attachments: [{ name: DEFAULT_ENCRYPTION.zipName, size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }],
        zip: { encrypted: true, passwordTo: [sender], files },
      },
    ],
  };
}

/** What reaches the next hop for a hold that was discarded through its link: the sender is told, nothing else. */
export function discardedOnly(sender = SAMPLE.from): Sent {
  return {
    notices: [
      { kind: 'confirm', to: [sender] },
      { kind: 'hold-discarded', to: [sender] },
    ],
    copies: [],
  };
}

/** THE factory: the real hold backend on a fresh temp data dir. */
export async function createHoldBackend(): Promise<HoldBackend> {
  return RealHoldBackend.start();
}

/** The message the sender submitted: real MIME, as nodemailer builds it. */
async function compose(s: Required<Omit<HoldSpec, 'approvers'>>): Promise<Buffer> {
  const mail = new MailComposer({
    from: { name: '山田 太郎', address: s.from },
    to: s.recipients.map((r) => ({ name: '', address: r.address })),
    subject: s.subject,
    text: s.body,
    attachments: s.attachments.map((a) => ({ filename: a.name, content: a.content })),
  }).compile();
  return new Promise<Buffer>((resolve, reject) => mail.build((err, raw) => (err ? reject(err) : resolve(raw))));
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

/** The findings plus, for each recipient flag they do not explain, the finding the real check makes. */
function withRecipientFindings(findings: Finding[], recipients: HoldRecipient[]): Finding[] {
  const out = [...findings];
  for (const r of recipients) {
    const domain = domainOf(r.address);
    if (r.lookalikeOf !== undefined && !out.some((f) => f.rule === 'lookalike-domain' && domainOf(f.value) === domain)) out.push(lookalike(r.address, r.lookalikeOf));
    const base = registrableDomain(domain);
    if (r.firstTimeDomain && !out.some((f) => f.rule === 'first-time-domain' && f.value === base)) out.push(firstTime(base));
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINAL: readonly JobInfo['state'][] = ['sent', 'failed', 'cancelled'];

/** A header of a received message (parsed once). */
const parsed = new WeakMap<Received, MessageModel>();
function headerOf(m: Received, name: string): string | undefined {
  let p = parsed.get(m);
  if (!p) parsed.set(m, (p = MessageModel.parse(m.raw)));
  return p.header(name)?.trim();
}

class RealHoldBackend implements HoldBackend {
  readonly calls: HoldBackend['calls'] = { open: 0, release: 0, discard: [] };
  readonly actions: HoldActions;
  /** The backend's clock: real time, moved on by expire(). */
  private skew = 0;
  private readonly now = () => Date.now() + this.skew;
  /** The messages as held, by hold id, to compare with what was delivered. */
  private readonly originals = new Map<string, Buffer>();
  private readonly holds: HoldService;

  private constructor(
    readonly dataDir: string,
    readonly sink: Sink,
    private readonly key: Buffer,
    private readonly holdStore: SqliteHoldStore,
    private readonly outboxStore: SqliteOutboxStore,
    private readonly hop: SmtpHop,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    private readonly logs: string[],
  ) {
    const releaser = new DeliveryPipeline({ nextHop: hop, store: outboxStore, outbox, events: new DeliveryEvents(), logger, digestKey: key, hostname: HOSTNAME });
    this.holds = this.service({ store: holdStore, outboxStore, outbox, releaser, now: this.now });
    const holds = this.holds;
    // counts the calls, and passes them on to the real service unchanged
    this.actions = {
      open: (token) => {
        this.calls.open++;
        return holds.open(token);
      },
      release: (token) => {
        this.calls.release++;
        return holds.release(token);
      },
      discard: (token, options) => {
        this.calls.discard.push({ ...options });
        return holds.discard(token, options);
      },
    };
  }

  /** As src/service.ts builds it, with the sink as the next hop and a quick outbox. */
  static async start(): Promise<RealHoldBackend> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-web-'));
    const sink = await startSink();
    const logs: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void logs.push(line) });
    const key = loadSecretKey(dir, {}).key;
    const outboxStore = SqliteOutboxStore.open(dir, key);
    const holdStore = SqliteHoldStore.open(dir, key);
    const hop = new SmtpHop(
      { kind: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, url: `smtp://127.0.0.1:${sink.port}` },
      { maxConnections: 2, timeoutMs: 5000, tls: 'off', auth: null },
      HOSTNAME,
    );
    // polls often, so what another process queued (decideElsewhere, expire) goes out soon
    const outbox = new Outbox({ store: outboxStore, hop, logger, retryBaseMs: 100, retryCapMs: 400, retryJitter: 0, pollMs: 100 });
    await outbox.start();
    const backend = new RealHoldBackend(dir, sink, key, holdStore, outboxStore, hop, outbox, logger, logs);
    await backend.holds.start();
    return backend;
  }

  private service(parts: Pick<ConstructorParameters<typeof HoldService>[0], 'store' | 'outboxStore' | 'outbox' | 'releaser' | 'now'>): HoldService {
    return new HoldService({ ...parts, logger: this.logger, key: this.key, publicUrl: PUBLIC_URL, noticeFrom: defaultNoticeFrom(HOSTNAME), isInternal });
  }

  async create(spec: HoldSpec = {}): Promise<{ token: string; id: string }> {
    const s = { ...SAMPLE, ...spec };
    const approvers = spec.approvers ?? [];
    const id = newMessageId();
    const raw = await compose(s);
    this.originals.set(id, raw);
    const { hold } = await this.holds.hold({
      id,
      message: MessageModel.parse(raw),
      envelope: { from: s.from, to: s.recipients.map((r) => r.address) },
      verdict: {
        findings: withRecipientFindings(s.findings, s.recipients),
        hold: { deadlineHours: s.deadlineInMs / HOUR, onDeadline: s.onDeadline, approvers },
      },
      encryption: DEFAULT_ENCRYPTION,
    });
    // the service worked the flags out from the envelope and the findings, as for a real verdict
    expect(hold.recipients, 'recipients as the service sees them').toEqual(s.recipients);
    const token = await this.confirmationToken(hold, approvers[0] ?? s.from, approvers.length > 0 ? 'a0' : 's');
    return { token, id };
  }

  /**
   * The token in the link of the confirmation notice that reached the sink for `to`. Only when
   * the next hop refused the notice for good (an address SMTP cannot carry, as the escaping test
   * uses) is it the link the service made for that notice (linkFor, the same call).
   */
  private async confirmationToken(hold: Hold, to: string, audience: string): Promise<string> {
    let refused = false;
    let notice: Received | undefined;
    await this.until(async () => {
      notice = this.sink.messages.find((m) => headerOf(m, NOTICE_HEADER) === 'confirm' && headerOf(m, REF_HEADER) === hold.id && m.to.includes(to));
      if (notice) return true;
      const jobs = await this.outboxStore.list({ ref: hold.id, state: 'failed' });
      refused = jobs.some((j) => j.kind === 'notice' && j.envelope.to.includes(to));
      return refused;
    }, `the confirmation notice of ${hold.id} to reach the sink`);
    const link = notice ? MessageModel.parse(notice.raw).textParts.join('\n') : this.holds.linkFor(hold, audience);
    const token = new RegExp(`${PUBLIC_URL.replace(/\./g, '\\.')}/hold/([A-Za-z0-9_.-]+)`).exec(link)?.[1];
    if (!token) throw new Error(`no release link in the confirmation notice of ${hold.id}`);
    return token;
  }

  forge(token: string): string {
    const dot = token.lastIndexOf('.');
    const mac = token.slice(dot + 1);
    return `${token.slice(0, dot + 1)}${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
  }

  unknownToken(): string {
    const link = this.holds.linkFor({ id: newMessageId(), deadline: this.now() + HOUR });
    return link.slice(link.lastIndexOf('/') + 1);
  }

  async expire(id: string): Promise<void> {
    const hold = await this.get(id);
    this.skew += Math.max(0, hold.deadline - this.now());
    await this.elsewhere(this.now, async (service) => {
      await service.start(); // the deadline pass of a start: what is overdue is decided first
    });
    await this.expectState(id, 'expired');
  }

  async decideElsewhere(id: string, state: Exclude<HoldState, 'held'>): Promise<void> {
    const hold = await this.get(id);
    await this.elsewhere(state === 'expired' ? () => hold.deadline : this.now, async (service) => {
      if (state === 'expired') return service.start();
      const r = state === 'released' ? await service.releaseById(id, 'cli') : await service.discardById(id, 'cli');
      if ('problem' in r) throw new Error(`cannot ${state} ${id} elsewhere: ${r.problem}`);
    });
    await this.expectState(id, state);
  }

  async state(id: string): Promise<HoldState> {
    return (await this.get(id)).state;
  }

  async mistake(id: string): Promise<boolean> {
    return (await this.get(id)).mistake === true;
  }

  async sent(id: string): Promise<Sent> {
    await this.until(async () => {
      const jobs = await this.outboxStore.list({ ref: id, limit: 1000 });
      const copies = jobs.filter((j) => j.kind === 'message' && j.id !== id);
      // a copy's password notice is queued with the copy's id as its ref
      for (const c of copies) jobs.push(...(await this.outboxStore.list({ ref: c.id, limit: 1000 })));
      return jobs.every((j) => FINAL.includes(j.state));
    }, `everything queued for ${id} to leave the outbox`);
    const isCopyId = (v: string | undefined) => v !== undefined && (v === id || v.startsWith(`${id}-`));
    const notices = this.sink.messages
      .filter((m) => headerOf(m, REF_HEADER) === id && headerOf(m, NOTICE_HEADER) !== 'password')
      .map((m) => ({ kind: headerOf(m, NOTICE_HEADER) ?? '', to: m.to }));
    const copies = this.sink.messages
      .filter((m) => headerOf(m, NOTICE_HEADER) === undefined && isCopyId(headerOf(m, ID_HEADER)))
      .map((m) => this.copy(id, m))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { notices, copies };
  }

  private copy(holdId: string, m: Received): SentCopy {
    const id = headerOf(m, ID_HEADER)!;
    const message = MessageModel.parse(m.raw);
    const original = this.originals.get(holdId);
    const idLine = Buffer.from(`${ID_HEADER}: ${id}\r\n`, 'latin1');
    const copy: SentCopy = {
      id,
      to: m.to,
      subject: message.subject,
      untouched: original !== undefined && m.raw.equals(Buffer.concat([idLine, original])),
      attachments: message.files.map((f) => ({ name: f.filename, size: f.size, sha256: f.sha256 })),
    };
    const zip = message.attachments.find((a) => a.filename === DEFAULT_ENCRYPTION.zipName);
    if (zip) {
      const notice = this.sink.messages.find((n) => headerOf(n, NOTICE_HEADER) === 'password' && headerOf(n, REF_HEADER) === id);
      const password = notice && /^Password: (\S+)$/m.exec(MessageModel.parse(notice.raw).textParts.join('\n'))?.[1];
      const bytes = zip.content();
      copy.zip = {
        encrypted: zipEntries(bytes).every((e) => e.encrypted),
        passwordTo: notice?.to ?? [],
        files: password ? this.unzip(bytes, password) : [],
      };
    }
    return copy;
  }

  /** The files in an encrypted ZIP, unpacked by 7-Zip with the password, in the ZIP's order. */
  private unzip(zip: Buffer, password: string): HoldAttachment[] {
    if (!hasCommand(SEVEN_ZIP)) throw new Error('checking a released ZIP needs 7-Zip: apt-get install -y 7zip');
    const extracted = sevenZipExtract(zip, password);
    return zipEntries(zip).map((e) => {
      const content = extracted.get(e.name);
      if (content === undefined) throw new Error(`7-Zip did not extract ${e.name}`);
      return fileOf({ name: e.name, content });
    });
  }

  async breakDown(): Promise<string> {
    await this.holdStore.close();
    try {
      await this.holdStore.get('probe');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('the hold store still answers after it was closed');
  }

  async close(): Promise<void> {
    await this.holds.stop();
    await this.outbox.stop();
    await this.holdStore.close();
    await this.outboxStore.close();
    await this.hop.close();
    await this.sink.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async get(id: string): Promise<StoredHold> {
    const hold = await this.holdStore.get(id);
    if (!hold) throw new Error(`no hold ${id}`);
    return hold;
  }

  private async expectState(id: string, state: HoldState): Promise<void> {
    const now = await this.state(id);
    if (now !== state) throw new Error(`hold ${id} is ${now}, expected ${state}; log:\n${this.logs.slice(-5).join('')}`);
  }

  /**
   * Another process on the same data dir, as `outguard held` opens it: its own connections, a
   * hold service with its own clock, and an outbox that only queues (the running one sends).
   */
  private async elsewhere(now: () => number, work: (service: HoldService) => Promise<void>): Promise<void> {
    const store = SqliteHoldStore.open(this.dataDir, this.key);
    const outboxStore = SqliteOutboxStore.open(this.dataDir, this.key);
    const idle: NextHop = {
      description: 'none (queues only)',
      deliver: () => Promise.reject(new NextHopError('this process does not send; the gateway does')),
      close: async () => {},
    };
    const outbox = new Outbox({ store: outboxStore, hop: idle, logger: this.logger });
    const releaser = new DeliveryPipeline({ nextHop: idle, store: outboxStore, outbox, events: new DeliveryEvents(), logger: this.logger, digestKey: this.key, hostname: HOSTNAME });
    const service = this.service({ store, outboxStore, outbox, releaser, now });
    try {
      await work(service);
    } finally {
      await service.stop();
      await store.close();
      await outboxStore.close();
    }
  }

  private async until(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${this.logs.slice(-5).join('')}`);
      await sleep(20);
    }
  }
}

/** The entries of a ZIP's central directory: name (UTF-8 flag set, as outguard writes them) and the encryption flag. */
function zipEntries(zip: Buffer): { name: string; encrypted: boolean }[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a ZIP file');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out: { name: string; encrypted: boolean }[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory');
    const flags = zip.readUInt16LE(at + 8);
    const nameLength = zip.readUInt16LE(at + 28);
    out.push({ name: zip.subarray(at + 46, at + 46 + nameLength).toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1'), encrypted: (flags & 1) === 1 });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}

export interface RunningWeb {
  server: WebServer;
  address: AddressInfo;
  /** http://127.0.0.1:PORT */
  base: string;
  /** base + /hold/<token> */
  pageUrl(token: string, action?: 'release' | 'discard'): string;
  apiUrl(token: string, action?: 'release' | 'discard'): string;
  close(): Promise<void>;
}

/** The real web server on 127.0.0.1, any free port. */
export async function startWeb(actions: HoldActions | undefined, options: WebServerOptions = {}): Promise<RunningWeb> {
  const server = new WebServer({ host: '127.0.0.1', port: 0 }, () => ({ test: true }), actions, options);
  const address = await server.listen();
  const base = `http://127.0.0.1:${address.port}`;
  const suffix = (action?: string) => (action ? `/${action}` : '');
  return {
    server,
    address,
    base,
    pageUrl: (token, action) => `${base}/hold/${encodeURIComponent(token)}${suffix(action)}`,
    apiUrl: (token, action) => `${base}/api/holds/${encodeURIComponent(token)}${suffix(action)}`,
    close: () => server.close(),
  };
}

/** What a browser would do by hand: GET the page, keep its cookie and the form's hidden CSRF field. */
export async function openPage(web: RunningWeb, token: string): Promise<{ cookie: string; csrf: string; html: string; res: Response }> {
  const res = await fetch(web.pageUrl(token));
  const html = await res.text();
  const setCookie = res.headers.getSetCookie()[0] ?? '';
  const cookie = setCookie.split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { cookie, csrf, html, res };
}

/** POSTs a urlencoded form like the page does. */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

export const ALL_TICKED = { confirm_recipients: '1', confirm_body: '1', confirm_attachments: '1' };
