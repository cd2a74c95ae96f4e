import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Outbox } from '../../src/delivery/outbox.js';
import { SmtpHop } from '../../src/delivery/smtp-hop.js';
import { DeliveryEvents } from '../../src/delivery/events.js';
import { DeliveryPipeline } from '../../src/delivery/pipeline.js';
import { type HoldInput, HoldService, type HoldServiceOptions } from '../../src/hold/service.js';
import type { DeadlineAction } from '../../src/hold/types.js';
import { createLogger } from '../../src/log.js';
import { MessageModel } from '../../src/message/model.js';
import { DEFAULT_ENCRYPTION } from '../../src/policy/encryption.js';
import type { Finding } from '../../src/policy/verdict.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteHoldStore } from '../../src/store/sqlite-holds.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import type { Received, Sink } from '../support/sink.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

export const PUBLIC_URL = 'https://outguard.example.co.jp';
export const SENDER = 'taro@example.co.jp';
export const isInternal = (d: string) => d === 'example.co.jp' || d.endsWith('.example.co.jp');

export function dataDir(prefix = 'outguard-hold-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON log lines as the gateway's logger writes them. */
export function capture() {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The database file and its WAL, as bytes on disk. */
export function dbBytes(dir: string): Buffer {
  return Buffer.concat(['outguard.db', 'outguard.db-wal'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

export const FILES: Record<string, Buffer> = {
  '見積書.txt': Buffer.from('お見積もり\n合計 1,234,000 円\n'.repeat(20)),
  'data.bin': randomBytes(20_000),
};

/** A message with a body marker (must never be on disk in clear) and attachments. */
export async function compose(opts: { to: string[]; subject?: string; marker?: string; files?: Record<string, Buffer> }): Promise<{ raw: Buffer; marker: string }> {
  const marker = opts.marker ?? `BODYMARK${randomBytes(6).toString('hex')}`;
  const files = opts.files ?? FILES;
  const mail = new MailComposer({
    from: `山田 太郎 <${SENDER}>`,
    to: opts.to,
    subject: opts.subject ?? '【ご確認】見積書の送付',
    text: `いつもお世話になっております。\n見積書を添付いたします。\n${marker}\n`,
    attachments: Object.entries(files).map(([filename, content]) => ({ filename, content })),
  }).compile();
  const raw = await new Promise<Buffer>((resolve, reject) => mail.build((err, m) => (err ? reject(err) : resolve(m))));
  return { raw, marker };
}

export const externalAttachment = (to: string): Finding => ({
  rule: 'external-attachment',
  clause: '遵守事項 第6-1',
  severity: 'hold',
  message: '社外宛のメールに添付ファイルがあります。 / attachments to an external recipient, confirm before sending',
  reason: 'attachments to an external recipient, confirm before sending',
  value: to,
});

export const firstTime = (domain: string): Finding => ({
  rule: 'first-time-domain',
  clause: '遵守事項 第6-1',
  severity: 'hold',
  message: 'これまで送信したことのない社外ドメインへの送信です。 / first message to this external domain',
  reason: 'first message to this external domain',
  value: domain,
  detail: `first message to ${domain}`,
  detailJa: `${domain} への初めての送信`,
});

export const lookalike = (address: string, of: string): Finding => ({
  rule: 'lookalike-domain',
  clause: '遵守事項 第6-1',
  severity: 'hold',
  message: '宛先のドメインが社内または取引先のドメインに似ています。 / recipient domain looks like an internal or partner domain',
  reason: 'recipient domain looks like an internal or partner domain',
  value: address,
  detail: `looks like ${of} (edit distance 1)`,
  detailJa: `${of} に似ています（1文字違い）`,
});

let counter = 0;
export const holdId = () => `h${Date.now().toString(36)}-${(counter++).toString(36)}${randomBytes(3).toString('hex')}`;

export function holdInput(raw: Buffer, to: string[], extra: { findings?: Finding[]; hours?: number; onDeadline?: DeadlineAction; approvers?: string[]; from?: string } = {}): HoldInput {
  return {
    id: holdId(),
    message: MessageModel.parse(raw),
    envelope: { from: extra.from ?? SENDER, to },
    verdict: {
      findings: extra.findings ?? [externalAttachment(to[0]!)],
      hold: { deadlineHours: extra.hours ?? 24, onDeadline: extra.onDeadline ?? { action: 'discard' }, approvers: extra.approvers ?? [] },
    },
    encryption: DEFAULT_ENCRYPTION,
  };
}

export interface Harness {
  dir: string;
  key: Buffer;
  service: HoldService;
  holds: SqliteHoldStore;
  outboxStore: SqliteOutboxStore;
  outbox: Outbox;
  logs: ReturnType<typeof capture>;
  close(): Promise<void>;
}

/** The hold service as the gateway builds it: real SQLite stores, a real outbox and pipeline, the next hop a real SMTP sink. */
export async function openHarness(
  dir: string,
  sink: Sink,
  options: Partial<HoldServiceOptions> & { start?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Harness> {
  const { start = true, env = {}, ...rest } = options;
  const key = loadSecretKey(dir, env).key;
  const outboxStore = SqliteOutboxStore.open(dir, key);
  const holds = SqliteHoldStore.open(dir, key);
  const hop = new SmtpHop(
    { kind: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, url: `smtp://127.0.0.1:${sink.port}` },
    { maxConnections: 2, timeoutMs: 5000, tls: 'off', auth: null },
    'gw.example.co.jp',
  );
  const logs = capture();
  const outbox = new Outbox({ store: outboxStore, hop, logger: logs.logger, retryBaseMs: 100, retryCapMs: 400, retryJitter: 0, pollMs: 100 });
  const releaser = new DeliveryPipeline({ nextHop: hop, store: outboxStore, outbox, events: new DeliveryEvents(), logger: logs.logger, digestKey: key, hostname: 'gw.example.co.jp' });
  const service = new HoldService({
    store: holds,
    outboxStore,
    outbox,
    releaser,
    logger: logs.logger,
    key,
    publicUrl: PUBLIC_URL,
    noticeFrom: defaultNoticeFrom('gw.example.co.jp'),
    isInternal,
    ...rest,
  });
  await outbox.start();
  if (start) await service.start();
  return {
    dir,
    key,
    service,
    holds,
    outboxStore,
    outbox,
    logs,
    async close() {
      await service.stop();
      await outbox.stop();
      await holds.close();
      await outboxStore.close();
      await hop.close();
    },
  };
}

export function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('latin1').split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  return new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim();
}

export const noticeKind = (m: Received) => header(m.raw, 'X-Outguard-Notice');
export const textOf = (m: Received) => MessageModel.parse(m.raw).textParts.join('\n');

/** The token in a confirmation notice's link. */
export function tokenOf(m: Received): string {
  const match = new RegExp(`${PUBLIC_URL.replace(/[.]/g, '\\.')}/hold/(\\S+)`).exec(textOf(m));
  if (!match) throw new Error('no release link in the notice');
  return match[1]!;
}

/** The encryption flag (bit 0 of the general purpose flags) of every entry in a ZIP's central directory. */
export function zipEntriesEncrypted(zip: Buffer): boolean[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a ZIP file');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out: boolean[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory');
    out.push((zip.readUInt16LE(at + 8) & 1) === 1);
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}
