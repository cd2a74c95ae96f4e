/**
 * A running gateway with realistic data behind every page: held mail with long addresses, a
 * lookalike domain, several recipients and long Japanese and ASCII file names; rejected,
 * delivered, released and discarded mail with long subjects and many rules; incidents open,
 * overdue and reported. For the layout tests (test/web/layout.test.ts) and `npm run screenshots`.
 * Free of vitest's hooks, so a script can use it.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { newIncidentId } from '../../src/audit/incident-types.js';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { client, sampleMessage, sendRaw } from './client.js';
import { type TestGateway, startGatewayWithWeb } from './gateway.js';
import { withAttachments } from './mime.js';
import { headerOf, releaseByApi, releaseLinkOf } from './notices.js';
import { type Sink, startSink } from './sink.js';
import { until } from './wait.js';
import { WebClient } from './web-client.js';

export const SAMPLE_LOGIN = { username: 'kansa', password: 'kansa-sample-pass' };
const CONTACT = 'security-madoguchi@client.example.lg.jp';
const SENDER = 'taro.yamada@example.co.jp';
/** One address longer than a phone is wide, with no place to break but its dots. */
const LONG_ADDRESS = 'very.long.recipient.address.for.the.quarterly.report@subsidiary.partner-company.example';

/** Everything a release page can show at once. */
const SHOWCASE = {
  to: ['suzuki.ichiro@partner-company.example', 'sato@examp1e.co.jp', LONG_ADDRESS],
  cc: ['hanako.tanaka@example.co.jp', 'info@another-partner.example'],
  subject: '【要確認】2026年度 第3四半期 業務委託契約に基づく作業報告書および関連資料一式の送付について（株式会社パートナー 鈴木様）',
  body:
    '鈴木様\r\n\r\nいつもお世話になっております。山田です。\r\n第3四半期の作業報告書と関連資料一式をお送りします。ご査収のほど、よろしくお願いいたします。\r\n' +
    'Please find attached the quarterly report and the related documents: https://www.example.co.jp/projects/2026/q3/report-and-appendices/index.html\r\n',
  files: [
    { name: '2026年度第3四半期_業務委託作業報告書_最終版_株式会社パートナー様向け_修正済み.xlsx', content: Buffer.alloc(48_213, 7) },
    { name: 'quarterly-report-2026-Q3-final-version-with-all-appendices-and-signatures.pdf', content: Buffer.from('%PDF-1.4\n'.repeat(900)) },
    { name: '議事録.docx', content: Buffer.from('minutes') },
  ],
};

export interface SampleGateway {
  gw: TestGateway;
  sink: Sink;
  /** http://127.0.0.1:PORT */
  base: string;
  /** The held showcase message (many rules): its id and its sender's release link. */
  showcase: { id: string; link: string };
  /** An incident about the showcase, opened on the reviewer pages. */
  incidentId: string;
  /** The month the data is in, YYYY-MM in Japan time. */
  month: string;
  /** Holds another copy of the showcase and returns its id and release link (for the pages that decide it). */
  hold(): Promise<{ id: string; link: string }>;
  /** Logs a WebClient in as the sample reviewer. */
  reviewer(): Promise<WebClient>;
  /** Stops the gateway and the sink and removes the data. */
  stop(): Promise<void>;
}

/** Starts the gateway (the shipped policy, a client contact, one reviewer login) and fills it with sample mail and incidents. */
export async function startSampleGateway(tree: Record<string, unknown> = {}): Promise<SampleGateway> {
  const sink = await startSink();
  const gw = await startGatewayWithWeb(sink, {
    organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner-company.example'] },
    compliance: { clientContact: [CONTACT], from: 'postmaster@example.co.jp' },
    ...tree,
    web: { users: [{ username: SAMPLE_LOGIN.username, password: await hashPassword(SAMPLE_LOGIN.password, { N: 1024, r: 8, p: 1 }), role: 'admin' }] },
  });
  const base = `http://127.0.0.1:${gw.web.port}`;
  const smtp = client(gw.smtp.port);
  const send = async (to: string[], raw: Buffer, from = SENDER) => (await sendRaw(smtp, from, to, raw)).response;
  const idOf = (response: string) => /as (\S+)$/.exec(response)?.[1] ?? '';

  const hold = async (): Promise<{ id: string; link: string }> => {
    const headers = [`From: 山田 太郎 <${SENDER}>`, `To: ${SHOWCASE.to.join(', ')}`, `Cc: ${SHOWCASE.cc.join(', ')}`, `Subject: ${SHOWCASE.subject}`, `Message-ID: <${randomUUID()}@example.co.jp>`];
    const response = await send([...SHOWCASE.to, ...SHOWCASE.cc], withAttachments({ headers, body: SHOWCASE.body, files: SHOWCASE.files }));
    const id = idOf(response);
    if (!id) throw new Error(`the showcase message was not held: ${response}`);
    const notice = await until(() => sink.messages.find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'confirm' && headerOf(m.raw, 'X-Outguard-Ref') === id), 15_000, `the confirmation of ${id}`);
    return { id, link: releaseLinkOf(notice.raw)! };
  };

  const reviewer = async (): Promise<WebClient> => {
    const web = new WebClient(base);
    const res = await web.login(SAMPLE_LOGIN.username, SAMPLE_LOGIN.password);
    if (res.status !== 303) throw new Error(`sample login failed: ${res.status}`);
    return web;
  };

  try {
    const showcase = await hold();
    // what the search lists: rejected, delivered, released (encrypted, with its notices) and discarded mail
    const plain = (subject: string, to = 'suzuki.ichiro@partner-company.example', body?: string) => sampleMessage({ subject, to, from: `山田 太郎 <${SENDER}>`, ...(body ? { body } : {}) });
    await send(['throwaway-inbox-20261126@instaddr.me'], plain('【至急】見積書（改訂版）の送付 — 2026年度 第3四半期 業務委託分', 'throwaway-inbox-20261126@instaddr.me'));
    await send(['notes-8f3a2c1d9e7b6a5f4c3d2e1f0a9b8c7d@m.evernote.com'], plain('議事録メモ 2026-11-26 定例会議（社外秘）', 'notes-8f3a2c1d9e7b6a5f4c3d2e1f0a9b8c7d@m.evernote.com'));
    await send(['suzuki.ichiro@partner-company.example'], plain('大容量ファイルの送付について', undefined, '資料はこちらからダウンロードしてください: https://xgf.nu/abcdefghij\r\n'));
    const many = Array.from({ length: 12 }, (_, i) => `member${i + 1}@example.co.jp`);
    await send(many, plain('社内連絡：年末年始の勤務体制とシステムメンテナンスに伴うメール停止時間帯のお知らせ', many.join(', ')));
    await send(['hanako.tanaka@example.co.jp'], plain('Re: Re: Fwd: project kickoff materials and the agenda for the steering committee meeting next week', 'hanako.tanaka@example.co.jp'));
    const released = await hold();
    await releaseByApi(released.link);
    const discarded = await hold();
    await fetch(discarded.link.replace('/hold/', '/api/holds/') + '/discard', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-outguard-request': '1' },
      body: JSON.stringify({ mistake: false }),
    });
    await until(() => sink.messages.some((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'password'), 15_000, 'the released copy and its password notice');

    // incidents: one opened on the reviewer pages (its report reaches the client contact), one open, one overdue
    const web = await reviewer();
    await until(async () => ((await web.get(`/review/message/${showcase.id}`)).status === 200 ? true : undefined), 15_000, 'the audit events of the showcase');
    const page = await (await web.get(`/review/message/${showcase.id}`)).text();
    const opened = await web.post('/review/incidents', {
      csrf: WebClient.csrf(page),
      message: showcase.id,
      reason: '宛先に類似ドメイン（examp1e.co.jp）が含まれていたため、誤送信の可能性があるとして登録。送信者に確認中。',
    });
    const incidentId = /INC-[^?]+/.exec(opened.headers.get('location') ?? '')?.[0];
    if (!incidentId) throw new Error(`the sample incident was not opened: ${opened.status}`);
    const store = SqliteIncidentStore.open(gw.dataDir);
    try {
      for (const [minutesAgo, trigger, openedBy, summary] of [
        [20, 'mistake', LONG_ADDRESS, '送信者が送信前の確認画面で「間違いだった」と報告し、メールを破棄しました。'],
        [95, 'manual', 'web:kansa', '匿名のファイル転送サービスのリンクを含むメールが送信された可能性。'],
      ] as const) {
        const openedAt = Date.now() - minutesAgo * 60_000;
        await store.create({ id: newIncidentId(openedAt), messageId: showcase.id, openedAt, deadline: openedAt + 60 * 60_000, trigger, openedBy, summary });
      }
    } finally {
      await store.close();
    }
    const month = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 7);
    return {
      gw,
      sink,
      base,
      showcase,
      incidentId,
      month,
      hold,
      reviewer,
      async stop() {
        smtp.close();
        await gw.stop();
        await sink.close();
        fs.rmSync(path.dirname(gw.dataDir), { recursive: true, force: true });
      },
    };
  } catch (err) {
    smtp.close();
    await gw.stop();
    await sink.close();
    throw err;
  }
}
