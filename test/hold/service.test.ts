import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { planDelivery } from '../../src/delivery/plan.js';
import { MessageModel } from '../../src/message/model.js';
import { DEFAULT_ENCRYPTION } from '../../src/policy/encryption.js';
import { type Sink, startSink } from '../support/sink.js';
import {
  FILES,
  type Harness,
  PUBLIC_URL,
  SENDER,
  compose,
  dataDir,
  dbBytes,
  externalAttachment,
  firstTime,
  header,
  holdInput,
  isInternal,
  lookalike,
  noticeKind,
  openHarness,
  sleep,
  textOf,
  tokenOf,
  zipEntriesEncrypted,
} from './fixtures.js';
import { until } from '../support/wait.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PARTNER = 'partner@partner.example';
const COLLEAGUE = 'colleague@example.co.jp';
const BOSS = 'boss@example.co.jp';

async function sink(): Promise<Sink> {
  const s = await startSink();
  cleanup.push(() => s.close());
  return s;
}

async function harness(s: Sink, dir = dataDir(), options: Parameters<typeof openHarness>[2] = {}): Promise<Harness> {
  const h = await openHarness(dir, s, options);
  cleanup.push(() => h.close());
  return h;
}

/** Lets the outbox run a few passes, so anything that would be sent has been. */
const settle = () => sleep(700);

const kinds = (s: Sink) => s.messages.map((m) => noticeKind(m) ?? 'message');

describe('HoldService: holding', () => {
  it('stores the message sealed and sends exactly one confirmation to the sender — nothing else leaves', async () => {
    const s = await sink();
    const h = await harness(s);
    const to = [PARTNER, 'someone@examp1e.co.jp', COLLEAGUE];
    const { raw, marker } = await compose({ to, subject: '【ご確認】見積書 <script>' });
    const input = holdInput(raw, to, { findings: [externalAttachment(PARTNER), firstTime('partner.example'), lookalike('someone@examp1e.co.jp', 'example.co.jp')] });
    const { hold: r } = await h.service.hold(input);
    expect(r).toMatchObject({ id: input.id, state: 'held', envelope: input.envelope, subject: '【ご確認】見積書 <script>', approvers: [], onDeadline: { action: 'discard' } });
    expect(r.recipients).toEqual([
      { address: PARTNER, external: true, firstTimeDomain: true },
      { address: 'someone@examp1e.co.jp', external: true, firstTimeDomain: false, lookalikeOf: 'example.co.jp' },
      { address: COLLEAGUE, external: false, firstTimeDomain: false },
    ]);
    expect(r.attachments).toEqual(Object.entries(FILES).map(([name, c]) => ({ name, size: c.length, sha256: sha256(c) })));
    expect(r.deadline - r.createdAt).toBe(24 * 3_600_000);
    expect(r.bodyStart).toContain(marker);

    await s.waitFor(1);
    await settle();
    expect(s.messages).toHaveLength(1);
    const notice = s.messages[0]!;
    expect(notice.from).toBe('');
    expect(notice.to).toEqual([SENDER]);
    expect(header(notice.raw, 'X-Outguard-Notice')).toBe('confirm');
    expect(header(notice.raw, 'X-Outguard-Ref')).toBe(input.id);
    expect(header(notice.raw, 'X-Outguard-Id')).toMatch(/^[0-9a-z]{9}-[a-z2-9]{10}$/);
    expect(MessageModel.parse(notice.raw).subject).toContain('【ご確認】見積書 <script>');

    const text = textOf(notice);
    const link = `${PUBLIC_URL}/hold/${tokenOf(notice)}`;
    expect(text).toContain(link);
    for (const s of [
      `${PARTNER} 【社外】【初めて送信するドメイン】`,
      'someone@examp1e.co.jp 【社外】【「example.co.jp」に類似したドメイン】',
      `${COLLEAGUE} 【社内】`,
      `${PARTNER} [external] [first-time domain]`,
      'someone@examp1e.co.jp [external] [looks like example.co.jp]',
      '件名: 【ご確認】見積書 <script>',
      marker,
      '期限までに操作がない場合: 破棄されます',
      'If nobody acts before the deadline, it will be discarded',
      '遵守事項 第6-1',
    ]) {
      expect(text).toContain(s);
    }
    for (const [name, content] of Object.entries(FILES)) {
      expect(text).toContain(`${name} (${content.length.toLocaleString('en-US')} バイト)`);
      expect(text).toContain(`SHA-256: ${sha256(content)}`);
    }
    expect(text).toMatch(/期限: \d{4}年\d{1,2}月\d{1,2}日.* \(日本時間\)/);
    expect(text).toContain(`Deadline: `);
    // Japanese first, then English
    expect(text.indexOf('件名')).toBeLessThan(text.indexOf('Subject:'));
    expect(text.indexOf('期限:')).toBeLessThan(text.indexOf('Deadline:'));

    // at rest: the body only sealed; in the log: neither the body nor the token
    expect(dbBytes(h.dir).includes(Buffer.from(marker))).toBe(false);
    const log = h.logs.lines.join('\n');
    expect(log).not.toContain(marker);
    expect(log).not.toContain(tokenOf(notice));
    expect(h.logs.records().find((r) => r.msg === 'message held')).toMatchObject({ hold: input.id, onDeadline: 'discard' });
  });

  it('with approvers (上長承認): the link goes to each approver, the sender is told to wait, without a link', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER], { approvers: [BOSS, 'deputy@example.co.jp'] });
    await h.service.hold(input);
    await s.waitFor(3);
    await settle();
    expect(s.messages).toHaveLength(3);
    const confirms = s.messages.filter((m) => noticeKind(m) === 'confirm');
    expect(confirms.map((m) => m.to[0]).sort()).toEqual([BOSS, 'deputy@example.co.jp']);
    const waiting = s.messages.find((m) => noticeKind(m) === 'hold-waiting')!;
    expect(waiting.to).toEqual([SENDER]);
    expect(textOf(waiting)).not.toContain('/hold/');
    expect(textOf(waiting)).toContain(BOSS);
    expect(textOf(waiting).indexOf('上長承認')).toBeLessThan(textOf(waiting).indexOf('approval'));

    const bossToken = tokenOf(confirms.find((m) => m.to[0] === BOSS)!);
    const deputyToken = tokenOf(confirms.find((m) => m.to[0] !== BOSS)!);
    expect(bossToken).not.toBe(deputyToken);
    const opened = await h.service.open(bossToken);
    expect('actor' in opened && opened.actor).toEqual({ address: BOSS, role: 'approver' });

    const released = await h.service.release(bossToken);
    expect('hold' in released && released.hold).toMatchObject({ state: 'released', decidedBy: BOSS });
    expect(await h.service.release(deputyToken)).toEqual({ problem: 'not-held' });
    expect(h.logs.records().find((x) => x.msg === 'hold released')).toMatchObject({ hold: input.id, state: 'released', actor: BOSS, role: 'approver' });
    await until(() => s.messages.some((m) => noticeKind(m) === 'hold-released'), 10_000, 'released notice');
    const told = s.messages.find((m) => noticeKind(m) === 'hold-released')!;
    expect(told.to).toEqual([SENDER]);
    expect(textOf(told)).toContain(`承認者 ${BOSS}`);
  });

  it('holds a signed message with attachments; released, it leaves whole inside the ZIP, signature intact, never in the clear', async () => {
    const s = await sink();
    const h = await harness(s);
    const raw = Buffer.from(
      [
        `From: ${SENDER}`,
        `To: ${PARTNER}`,
        'Subject: signed',
        'MIME-Version: 1.0',
        'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s1"',
        '',
        '--s1',
        'Content-Type: multipart/mixed; boundary="m1"',
        '',
        '--m1',
        'Content-Type: text/plain',
        '',
        'hello',
        '--m1',
        'Content-Type: application/pdf; name="a.pdf"',
        'Content-Disposition: attachment; filename="a.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        'JVBERi0xLjQK',
        '--m1--',
        '--s1',
        'Content-Type: application/pkcs7-signature; name="smime.p7s"',
        'Content-Transfer-Encoding: base64',
        '',
        'AAAA',
        '--s1--',
        '',
      ].join('\r\n'),
    );
    const input = holdInput(raw, [PARTNER]);
    await h.service.hold(input);
    await s.waitFor(1);
    expect(await h.service.releaseById(input.id)).toMatchObject({ hold: { state: 'released' } });
    await until(() => s.messages.some((m) => noticeKind(m) === 'password'), 10_000, 'password notice');
    const copy = s.messages.find((m) => m.to.includes(PARTNER))!;
    const sent = MessageModel.parse(copy.raw);
    expect(sent.files.map((f) => f.filename)).toEqual(['attachments.zip']);
    expect(zipEntriesEncrypted(sent.files[0]!.content())).toEqual([true]);
    expect(sent.textParts.join('')).toContain('全体を暗号化ZIP');
    // neither the signed content nor the signature is left in the copy
    expect(copy.raw.includes('JVBERi0xLjQK')).toBe(false);
    expect(copy.raw.includes('smime.p7s')).toBe(false);
  });
});

describe('HoldService: decisions through the release link', () => {
  it('release: the message goes the way direct mail goes — encrypted ZIP for the external copy, then its password notice', async () => {
    const s = await sink();
    const h = await harness(s);
    const to = [PARTNER, COLLEAGUE];
    const { raw, marker } = await compose({ to });
    const input = holdInput(raw, to);
    await h.service.hold(input);
    await s.waitFor(1);
    const token = tokenOf(s.messages[0]!);
    s.messages.length = 0;

    const released = await h.service.release(token);
    expect('hold' in released && released.hold).toMatchObject({ id: input.id, state: 'released', decidedBy: SENDER });
    // external copy, internal copy, password notice, and the sender told
    await s.waitFor(4);
    await settle();
    expect(s.messages).toHaveLength(4);
    const external = s.messages.find((m) => m.to.includes(PARTNER))!;
    const internal = s.messages.find((m) => m.to.includes(COLLEAGUE))!;
    const password = s.messages.find((m) => noticeKind(m) === 'password')!;
    const told = s.messages.find((m) => noticeKind(m) === 'hold-released')!;

    // the ids the dispatcher gives: the hold id for the first copy (internal), <id>-2 for the next
    expect(header(internal.raw, 'X-Outguard-Id')).toBe(input.id);
    expect(header(external.raw, 'X-Outguard-Id')).toBe(`${input.id}-2`);
    expect(internal.raw.equals(Buffer.concat([Buffer.from(`X-Outguard-Id: ${input.id}\r\n`), raw]))).toBe(true);
    const sent = MessageModel.parse(external.raw);
    expect(sent.attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    const zip = sent.attachments[0]!.content();
    expect(zipEntriesEncrypted(zip)).toEqual([true, true]);
    expect(external.raw.includes(FILES['data.bin']!.subarray(0, 64))).toBe(false);

    expect(password.to).toEqual([SENDER]);
    expect(header(password.raw, 'X-Outguard-Ref')).toBe(`${input.id}-2`);
    expect(s.messages.indexOf(password)).toBeGreaterThan(s.messages.indexOf(external)); // only after the message was accepted
    const pw = /^Password: (\S+)$/m.exec(textOf(password))![1]!;
    expect(external.raw.toString('latin1')).not.toContain(pw);

    expect(told.to).toEqual([SENDER]);
    expect(textOf(told)).toContain('送信されました');
    expect(textOf(told)).toContain('暗号化ZIP');

    const stored = (await h.holds.get(input.id))!;
    expect(stored).toMatchObject({ state: 'released', hasRaw: true, decidedWithLink: 's' }); // kept for retention.bodyDays
    expect(stored.dispatchedAt).toBeGreaterThan(0);
    expect(dbBytes(h.dir).includes(Buffer.from(marker))).toBe(false);
    expect(h.logs.lines.join('\n')).not.toContain(pw);
    expect(h.logs.lines.join('\n')).not.toContain(token);
    expect(await h.service.release(token)).toEqual({ problem: 'used' });
    await settle();
    expect(s.messages).toHaveLength(4);
  });

  it('release sends already-encrypted attachments as they are, even where the policy holds them (the hold was the confirmation)', async () => {
    const s = await sink();
    const h = await harness(s);
    // a ZIP with the encryption flag set: already protected
    const { Buffer: B } = await import('node:buffer');
    const local = B.alloc(30 + 5 + 4);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(1, 6); // encrypted
    local.writeUInt32LE(4, 18);
    local.writeUInt32LE(4, 22);
    local.writeUInt16LE(5, 26);
    local.write('a.txt', 30, 'latin1');
    const central = B.alloc(46 + 5);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(1, 8);
    central.writeUInt32LE(4, 20);
    central.writeUInt32LE(4, 24);
    central.writeUInt16LE(5, 28);
    central.write('a.txt', 46, 'latin1');
    const end = B.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length, 12);
    end.writeUInt32LE(local.length, 16);
    const protectedZip = B.concat([local, central, end]);
    const { raw } = await compose({ to: [PARTNER], files: { 'protected.zip': protectedZip } });
    const input = { ...holdInput(raw, [PARTNER]), encryption: { ...DEFAULT_ENCRYPTION, alreadyEncrypted: 'hold' as const } };
    await h.service.hold(input);
    await s.waitFor(1);
    const token = tokenOf(s.messages[0]!);
    s.messages.length = 0;
    expect('hold' in (await h.service.release(token))).toBe(true);
    await s.waitFor(2);
    await settle();
    expect(kinds(s).sort()).toEqual(['hold-released', 'message']);
    const sent = MessageModel.parse(s.messages.find((m) => noticeKind(m) === undefined)!.raw);
    expect(sent.attachments.map((a) => a.filename)).toEqual(['protected.zip']);
  });

  it('discard: nothing leaves but the notice to the sender; "this was a mistake" is recorded', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw, marker } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER]);
    await h.service.hold(input);
    await s.waitFor(1);
    const token = tokenOf(s.messages[0]!);
    s.messages.length = 0;

    const discarded = await h.service.discard(token, { mistake: true });
    expect('hold' in discarded && discarded.hold).toMatchObject({ state: 'discarded', decidedBy: SENDER, mistake: true });
    await s.waitFor(1);
    await settle();
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]!.to).toEqual([SENDER]);
    expect(noticeKind(s.messages[0]!)).toBe('hold-discarded');
    const text = textOf(s.messages[0]!);
    expect(text).toContain('破棄されました');
    expect(text).toContain('間違いだった');
    expect(text).toContain('reported as a mistake');
    expect(text).not.toContain(marker);
    expect(await h.holds.get(input.id)).toMatchObject({ state: 'discarded', mistake: true, hasRaw: true });
    expect(await h.outboxStore.list({ ref: input.id })).toSatisfy((jobs: { kind: string }[]) => jobs.every((j) => j.kind === 'notice'));
    expect(h.logs.records().find((x) => x.msg === 'hold discarded')).toMatchObject({ hold: input.id, state: 'discarded', actor: SENDER, role: 'sender', mistake: true });
    expect(dbBytes(h.dir).includes(Buffer.from(marker))).toBe(false);
  });
});

describe('HoldService: the same message sent again', () => {
  it('is held once: the second hold names the first, no second confirmation', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw } = await compose({ to: [PARTNER] });
    const first = await h.service.hold(holdInput(raw, [PARTNER]));
    const again = await h.service.hold(holdInput(raw, [PARTNER]));
    expect(first.repeated).toBe(false);
    expect(again).toMatchObject({ repeated: true, hold: { id: first.hold.id, state: 'held' } });
    await s.waitFor(1);
    await settle();
    expect(kinds(s)).toEqual(['confirm']);
    // a different envelope is another message
    expect((await h.service.hold(holdInput(raw, [PARTNER, COLLEAGUE]))).repeated).toBe(false);
    // discarded, it is forgotten: sent again, it is held anew
    await h.service.discardById(first.hold.id);
    expect((await h.service.hold(holdInput(raw, [PARTNER]))).repeated).toBe(false);
  });
});

describe('HoldService: admin decisions by id', () => {
  it('releaseById and discardById decide as "cli"; unknown and decided holds are refused', async () => {
    const s = await sink();
    const h = await harness(s);
    const a = holdInput((await compose({ to: [COLLEAGUE] })).raw, [COLLEAGUE]);
    const b = holdInput((await compose({ to: [COLLEAGUE] })).raw, [COLLEAGUE]);
    await h.service.hold(a);
    await h.service.hold(b);
    expect(await h.service.releaseById('nope')).toEqual({ problem: 'unknown' });
    expect(await h.service.releaseById(a.id)).toMatchObject({ hold: { state: 'released', decidedBy: 'cli' } });
    expect(await h.service.discardById(a.id)).toEqual({ problem: 'not-held' });
    expect(await h.service.discardById(b.id)).toMatchObject({ hold: { state: 'discarded', decidedBy: 'cli' } });
    await until(() => s.messages.filter((m) => noticeKind(m)?.startsWith('hold-')).length === 2, 10_000, 'sender notices');
    await until(() => s.messages.some((m) => noticeKind(m) === undefined), 10_000, 'the released message');
    await settle();
    const told = s.messages.find((m) => noticeKind(m) === 'hold-released')!;
    expect(textOf(told)).toContain('管理者');
    expect(s.messages.filter((m) => noticeKind(m) === undefined)).toHaveLength(1);
  });
});

describe('HoldService: deadlines', () => {
  const SECOND = 1 / 3600;

  it('discard (default): the hold expires at its deadline and the sender is told; nothing else leaves', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw, marker } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER], { hours: 1.2 * SECOND });
    await h.service.hold(input);
    await until(async () => (await h.holds.get(input.id))!.state === 'expired', 10_000, 'expired');
    await s.waitFor(2);
    await settle();
    expect(kinds(s)).toEqual(['confirm', 'hold-expired']);
    const told = s.messages[1]!;
    expect(told.to).toEqual([SENDER]);
    expect(textOf(told)).toContain('破棄されました');
    expect(textOf(told)).toContain('discarded');
    expect(await h.holds.get(input.id)).toMatchObject({ state: 'expired', decidedBy: 'deadline' });
    expect(h.logs.records().find((x) => x.msg === 'hold expired')).toMatchObject({ hold: input.id, actor: 'deadline' });
    expect(dbBytes(h.dir).includes(Buffer.from(marker))).toBe(false);
    const token = tokenOf(s.messages[0]!);
    expect(await h.service.release(token)).toEqual({ problem: 'expired' });
  });

  it('send: at the deadline it is released as "deadline", encrypted, with its password notice', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER], { hours: 1.2 * SECOND, onDeadline: { action: 'send' } });
    await h.service.hold(input);
    await s.waitFor(4, 15_000);
    await settle();
    expect(kinds(s).sort()).toEqual(['confirm', 'hold-released', 'message', 'password']);
    expect(textOf(s.messages[0]!)).toContain('期限までに操作がない場合: 送信されます');
    expect(await h.holds.get(input.id)).toMatchObject({ state: 'released', decidedBy: 'deadline', dispatchedAt: expect.any(Number) });
    const message = s.messages.find((m) => noticeKind(m) === undefined)!;
    expect(zipEntriesEncrypted(MessageModel.parse(message.raw).attachments[0]!.content())).toEqual([true, true]);
    expect(s.messages.findIndex((m) => noticeKind(m) === 'password')).toBeGreaterThan(s.messages.indexOf(message));
    expect(textOf(s.messages.find((m) => noticeKind(m) === 'hold-released')!)).toContain('期限までに操作がなかったため');
  });

  it('escalate: the named address gets a fresh link and a new deadline, the sender is told; the old link has expired', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER], { hours: 1.5 * SECOND, onDeadline: { action: 'escalate', to: BOSS } });
    const { hold: r } = await h.service.hold(input);
    await s.waitFor(3, 15_000);
    // the new deadline is the original duration (1.5 s) after the escalation: act on the fresh link at once
    const escalation = s.messages.slice(1).find((m) => noticeKind(m) === 'confirm')!;
    const stored = (await h.holds.get(input.id))!;
    const senderLink = tokenOf(s.messages[0]!);
    expect(await h.service.release(senderLink)).toEqual({ problem: 'expired' });
    const released = await h.service.release(tokenOf(escalation));
    expect('hold' in released && released.hold).toMatchObject({ state: 'released', decidedBy: BOSS });

    expect(stored).toMatchObject({ state: 'held', approvers: [BOSS], onDeadline: { action: 'discard' }, escalations: 1 });
    expect(stored.deadline).toBeGreaterThan(r.deadline);
    expect(kinds(s)[0]).toBe('confirm');
    expect(kinds(s).slice(1, 3).sort()).toEqual(['confirm', 'hold-escalated']);
    expect(textOf(s.messages[0]!)).toContain(`${BOSS} に確認を依頼します`);
    expect(escalation.to).toEqual([BOSS]);
    expect(textOf(escalation)).toContain('エスカレーション');
    const told = s.messages.find((m) => noticeKind(m) === 'hold-escalated')!;
    expect(told.to).toEqual([SENDER]);
    expect(textOf(told)).toContain(BOSS);
    expect(textOf(told)).not.toContain('/hold/');
    expect(h.logs.records().find((x) => x.msg === 'hold escalated')).toMatchObject({ hold: input.id, actor: 'deadline', escalatedTo: BOSS });
  });

  it('escalated holds expire at the new deadline if nobody acts: escalation happens once', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER], { hours: 1 * SECOND, onDeadline: { action: 'escalate', to: BOSS } });
    await h.service.hold(input);
    await until(async () => (await h.holds.get(input.id))!.state === 'expired', 15_000, 'expired after escalation');
    await s.waitFor(4);
    await settle();
    expect(kinds(s).slice(1).sort()).toEqual(['confirm', 'hold-escalated', 'hold-expired']);
  });

  it('survives a restart: a deadline that passed while outguard was down is handled as soon as it starts', async () => {
    const s = await sink();
    const dir = dataDir();
    let h = await openHarness(dir, s);
    const { raw: r1 } = await compose({ to: [PARTNER] });
    const { raw: r2 } = await compose({ to: [PARTNER] });
    const discardLater = holdInput(r1, [PARTNER], { hours: 1 * SECOND });
    const sendLater = holdInput(r2, [PARTNER], { hours: 1 * SECOND, onDeadline: { action: 'send' } });
    await h.service.hold(discardLater);
    await h.service.hold(sendLater);
    await s.waitFor(2);
    await h.close(); // "down" before the deadlines
    await sleep(1300);
    expect(s.messages).toHaveLength(2);
    expect((await (async () => {
      const peek = await openHarness(dir, s, { start: false });
      try {
        return [(await peek.holds.get(discardLater.id))!.state, (await peek.holds.get(sendLater.id))!.state];
      } finally {
        await peek.close();
      }
    })())).toEqual(['held', 'held']);

    h = await harness(s, dir); // start() handles the overdue holds before it resolves
    expect((await h.holds.get(discardLater.id))!.state).toBe('expired');
    expect((await h.holds.get(sendLater.id))!.state).toBe('released');
    await s.waitFor(2 + 4);
    await settle();
    expect(kinds(s).slice(2).sort()).toEqual(['hold-expired', 'hold-released', 'message', 'password']);
    expect(h.logs.records().find((x) => x.msg === 'holds started')).toMatchObject({ held: 2 });
  });

  it('after a crash between the decision and the outbox, the released hold is queued at start — once', async () => {
    const s = await sink();
    const dir = dataDir();
    let h = await openHarness(dir, s);
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER]);
    await h.service.hold(input);
    await s.waitFor(1);
    // the decision was recorded, then the process died before Dispatcher.enqueue
    await h.holds.transition(input.id, 'released', { by: SENDER, at: Date.now() - 60_000, link: 's' });
    await h.close();

    h = await harness(s, dir, { graceMs: 1000 });
    await s.waitFor(4);
    await settle();
    expect(kinds(s).slice(1).sort()).toEqual(['hold-released', 'message', 'password']);
    expect(await h.holds.get(input.id)).toMatchObject({ state: 'released', dispatchedAt: expect.any(Number) });
    expect(await h.holds.undispatched()).toEqual([]);

    // a second restart finds nothing left to do
    await h.close();
    cleanup.pop();
    h = await harness(s, dir, { graceMs: 1000 });
    await settle();
    expect(s.messages).toHaveLength(4);
  });

  it('finishes an interrupted release whose copies were already queued without queueing them again', async () => {
    const s = await sink();
    const dir = dataDir();
    let h = await openHarness(dir, s);
    const { raw } = await compose({ to: [COLLEAGUE] });
    const input = holdInput(raw, [COLLEAGUE]);
    await h.service.hold(input);
    await s.waitFor(1);
    await h.holds.transition(input.id, 'released', { by: 'cli', at: Date.now() - 60_000 });
    // the copies reached the outbox, then the process died before marking the hold
    const plan = await planDelivery({ id: input.id, message: input.message, envelope: input.envelope, settings: DEFAULT_ENCRYPTION, isInternal, noticeFrom: defaultNoticeFrom('gw') });
    await h.outboxStore.enqueueAll(plan.copies.map((c) => ({ id: c.id, kind: 'message' as const, ref: input.id, envelope: c.envelope, raw: c.raw, state: 'ready' as const })));
    h.outbox.kick();
    await s.waitFor(2);
    await h.close();

    h = await harness(s, dir, { graceMs: 1000 });
    await s.waitFor(3);
    await settle();
    expect(kinds(s).sort()).toEqual(['confirm', 'hold-released', 'message']);
    expect(await h.holds.get(input.id)).toMatchObject({ dispatchedAt: expect.any(Number) });
  });

  it('a hold created by a gateway that died before queueing the confirmation gets it at the next start', async () => {
    const s = await sink();
    const dir = dataDir();
    let h = await openHarness(dir, s, { start: false });
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER]);
    // stored, no confirmation: what hold() leaves when the process dies in between
    await h.holds.create({
      id: input.id,
      envelope: input.envelope,
      subject: 's',
      bodyStart: '',
      recipients: [{ address: PARTNER, external: true, firstTimeDomain: false }],
      attachments: [],
      findings: input.verdict.findings,
      createdAt: Date.now() - 60_000,
      deadline: Date.now() + 3_600_000,
      onDeadline: { action: 'discard' },
      approvers: [],
      raw,
      releaseWith: { attachments: 2, encryption: DEFAULT_ENCRYPTION },
    });
    await h.close();
    h = await harness(s, dir, { graceMs: 1000 });
    await s.waitFor(1);
    await settle();
    expect(kinds(s)).toEqual(['confirm']);
    expect((await h.holds.get(input.id))!.notifiedAt).toBeGreaterThan(0);
  });
});

describe('HoldService: a null sender', () => {
  it('holds it without a confirmation (nobody to ask), and the deadline decides', async () => {
    const s = await sink();
    const h = await harness(s);
    const { raw } = await compose({ to: [PARTNER] });
    const input = holdInput(raw, [PARTNER], { from: '', hours: 1 / 3600 });
    await h.service.hold(input);
    await until(async () => (await h.holds.get(input.id))!.state === 'expired', 10_000, 'expired');
    await settle();
    expect(s.messages).toHaveLength(0);
    expect(h.logs.records().some((x) => String(x.msg).includes('null sender'))).toBe(true);
  });
});
