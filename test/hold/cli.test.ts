import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { run } from '../support/client.js';
import { tempDir, writeConfig } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { type Harness, SENDER, compose, firstTime, holdInput, noticeKind, openHarness, sleep, tokenOf, zipEntriesEncrypted } from './fixtures.js';
import { until } from '../support/wait.js';
import { expectAligned } from '../support/text-table.js';
import { MessageModel } from '../../src/message/model.js';

// Runs the built CLI (npm run build, as `npm test` does) against a data dir a running "gateway"
// (the hold service and outbox of this process) shares with it.
const BIN = path.resolve('bin/outguard.js');
const outguard = (...args: string[]) => run('node', [BIN, ...args]);

const PARTNER = 'partner@partner.example';
const COLLEAGUE = 'hanako@example.co.jp';
const LONG_SUBJECT = '見積書 C：【ご確認】令和8年度 庁内ネットワーク保守業務の見積書と作業計画書の送付について';

describe('outguard held', () => {
  let sink: Sink;
  let gw: Harness;
  let file: string;
  let ids: { a: string; b: string; c: string };

  beforeAll(async () => {
    sink = await startSink();
    file = writeConfig({ organization: { internalDomains: ['example.co.jp'] }, web: { listen: '127.0.0.1:0', publicUrl: 'https://outguard.example.co.jp' } });
    const { dataDir } = loadConfig({ file, env: {} });
    // the gateway: its outbox polls the table every 100 ms, as the real one does every 10 s
    gw = await openHarness(dataDir, sink, { env: process.env });
    const { raw } = await compose({ to: [PARTNER], subject: '見積書 A' });
    const a = holdInput(raw, [PARTNER], { findings: [firstTime('partner.example')] });
    const b = holdInput((await compose({ to: [PARTNER, COLLEAGUE], subject: '見積書 B' })).raw, [PARTNER, COLLEAGUE]);
    const c = holdInput((await compose({ to: [PARTNER], subject: LONG_SUBJECT })).raw, [PARTNER]);
    for (const input of [a, b, c]) await gw.service.hold(input);
    await sink.waitFor(3);
    const cToken = tokenOf(sink.messages.find((m) => MessageModel.parse(m.raw).subject.includes('見積書 C'))!);
    await gw.service.discard(cToken, { mistake: false });
    ids = { a: a.id, b: b.id, c: c.id };
    await sink.waitFor(4);
  });
  afterAll(async () => {
    await gw.close();
    await sink.close();
  });

  it.each(['held', 'held list', 'held show', 'held release', 'held discard'])('%s --help describes the command', async (cmd) => {
    const out = await outguard(...cmd.split(' '), '--help');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`Usage: outguard ${cmd}`);
  });

  it('list --json prints every hold with id, state, sender, recipients, subject and an ISO 8601 deadline', async () => {
    const out = await outguard('held', 'list', '--json', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    const list = JSON.parse(out.stdout) as Record<string, unknown>[];
    expect(list.map((h) => h.id)).toEqual([ids.a, ids.b, ids.c]);
    const a = (await gw.holds.get(ids.a))!;
    expect(list[0]).toMatchObject({ id: ids.a, state: 'held', sender: SENDER, recipients: [PARTNER], subject: '見積書 A', deadline: new Date(a.deadline).toISOString() });
    expect(list[0]!.deadline).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(list[2]).toMatchObject({ id: ids.c, state: 'discarded', decidedBy: SENDER });
    // no message content beyond the subject
    expect(out.stdout).not.toContain('BODYMARK');
  });

  it('list --state filters; a bad state is refused; the text form is a table', async () => {
    const held = JSON.parse((await outguard('held', 'list', '--json', '--state', 'held', '--config', file)).stdout) as { id: string }[];
    expect(held.map((h) => h.id)).toEqual([ids.a, ids.b]);
    const bad = await outguard('held', 'list', '--state', 'pending', '--config', file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--state must be one of held, released, discarded, expired');
    const text = await outguard('held', 'list', '--config', file);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+DEADLINE\s+SENDER\s+RECIPIENTS\s+SUBJECT/);
    expect(text.stdout).toContain(ids.b);
    expectAligned(text.stdout);
    expect(text.stdout).toMatch(/\n$/);
    // the deadline in Japan time, as every command's text output; --json has the same instant in UTC
    const a = (await gw.holds.get(ids.a))!;
    const jst = new Date(a.deadline + 9 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(text.stdout).toMatch(new RegExp(`^${ids.a}\\s+held\\s+${jst} JST\\s`, 'm'));
    expect(text.stdout).not.toMatch(/\d{4}-\d\d-\d\dT/);
    // two recipients: the first and how many more; the long subject is cut
    expect(text.stdout).toContain(`${PARTNER} +1`);
    expect(text.stdout).not.toContain(LONG_SUBJECT);
    expect(text.stdout).toMatch(/見積書 C：【ご確認】[^\n]*…\n/);
  });

  it('show --json gives one hold with its details; an unknown id is a clear error', async () => {
    const out = await outguard('held', 'show', ids.a, '--json', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    const shown = JSON.parse(out.stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({
      id: ids.a,
      state: 'held',
      sender: SENDER,
      recipients: [PARTNER],
      recipientDetails: [{ address: PARTNER, external: true, firstTimeDomain: true }],
      findings: [expect.objectContaining({ rule: 'first-time-domain', clause: '遵守事項 第6-1' })],
    });
    expect((shown.attachments as unknown[]).length).toBe(2);
    const text = await outguard('held', 'show', ids.a, '--config', file);
    expect(text.stdout).toContain(`ID:          ${ids.a}`);
    expect(text.stdout).toMatch(/^Deadline: {4}\d{4}-\d\d-\d\d \d\d:\d\d JST, then /m);
    expect(text.stdout).toMatch(/\n$/);
    expect(text.stdout).toContain(`${PARTNER}  [external, first-time domain]`);

    const missing = await outguard('held', 'show', 'no-such-hold', '--config', file);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^outguard: no hold with id no-such-hold in /);
    for (const cmd of ['release', 'discard']) {
      const r = await outguard('held', cmd, 'no-such-hold', '--config', file);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no hold with id no-such-hold');
    }
  });

  it('release queues the message in the outbox; the running gateway sends it, encrypted, then the password; a second release is refused', async () => {
    const before = sink.messages.length;
    const out = await outguard('held', 'release', ids.a, '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`released ${ids.a}`);
    expect(out.stderr).toContain('"msg":"hold released"'); // the decision is logged (to stderr)
    expect(await gw.holds.get(ids.a)).toMatchObject({ state: 'released', decidedBy: 'cli', dispatchedAt: expect.any(Number) });

    await until(() => sink.messages.length >= before + 3, 10_000, 'message, password notice and sender notice');
    await sleep(500);
    const fresh = sink.messages.slice(before);
    expect(fresh.map((m) => noticeKind(m) ?? 'message').sort()).toEqual(['hold-released', 'message', 'password']);
    const message = fresh.find((m) => noticeKind(m) === undefined)!;
    expect(message.to).toEqual([PARTNER]);
    expect(zipEntriesEncrypted(MessageModel.parse(message.raw).attachments[0]!.content())).toEqual([true, true]);
    expect(fresh.indexOf(fresh.find((m) => noticeKind(m) === 'password')!)).toBeGreaterThan(fresh.indexOf(message));

    const again = await outguard('held', 'release', ids.a, '--config', file);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`hold ${ids.a} is not held: it was released by cli at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d JST\\n$`));
  });

  it('discard --mistake discards it, records the mistake in the audit log, and tells the sender; no incident by default, nothing else leaves', async () => {
    const before = sink.messages.length;
    const out = await outguard('held', 'discard', ids.b, '--mistake', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`discarded ${ids.b} (recorded as a mistake in the audit log; no incident: compliance.reportSenderMistakes is off)`);
    expect(await gw.holds.get(ids.b)).toMatchObject({ state: 'discarded', decidedBy: 'cli', mistake: true });
    const incidents = JSON.parse((await outguard('incident', 'list', '--format', 'json', '--config', file)).stdout) as unknown[];
    expect(incidents).toEqual([]);
    const audit = JSON.parse((await outguard('audit', 'export', '--format', 'json', '--config', file)).stdout) as { type: string; messageId?: string; detail?: string }[];
    expect(audit.filter((e) => e.messageId === ids.b).map((e) => [e.type, e.detail])).toEqual([['discarded', 'the sender reported a mistake']]);
    await until(() => sink.messages.length >= before + 1, 10_000, 'sender notice');
    await sleep(500);
    expect(sink.messages.slice(before).map((m) => noticeKind(m))).toEqual(['hold-discarded']);
    const list = JSON.parse((await outguard('held', 'list', '--json', '--state', 'discarded', '--config', file)).stdout) as { id: string; mistake?: boolean }[];
    expect(list.map((h) => [h.id, h.mistake])).toEqual([
      [ids.b, true],
      [ids.c, false],
    ]);
  });

  it('with compliance.reportSenderMistakes, discard --mistake also opens an incident', async () => {
    const d = holdInput((await compose({ to: [PARTNER], subject: '見積書 D' })).raw, [PARTNER]);
    await gw.service.hold(d);
    const { dataDir } = loadConfig({ file, env: {} });
    const reporting = writeConfig({ dataDir, organization: { internalDomains: ['example.co.jp'] }, compliance: { reportSenderMistakes: true } });
    const out = await outguard('held', 'discard', d.id, '--mistake', '--config', reporting);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`discarded ${d.id} \\(recorded as a mistake\\); the sender is told; incident INC-\\d{8}-\\w+ opened`));
    const incidents = JSON.parse((await outguard('incident', 'list', '--format', 'json', '--config', reporting)).stdout) as unknown[];
    expect(incidents).toEqual([expect.objectContaining({ messageId: d.id, trigger: 'mistake' })]);
  });

  it('on a data dir outguard never used: an empty list, and nothing is created', async () => {
    const dir = tempDir();
    const empty = writeConfig({ dataDir: path.join(dir, 'never') }, dir);
    const out = await outguard('held', 'list', '--json', '--config', empty);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  });

  it('reads the config from OUTGUARD_CONFIG too', async () => {
    const out = await run('node', [BIN, 'held', 'list', '--json'], undefined, { OUTGUARD_CONFIG: file });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(JSON.parse((await outguard('held', 'list', '--json', '--config', file)).stdout));
    expect((JSON.parse(out.stdout) as unknown[]).length).toBeGreaterThanOrEqual(3);
  });
});
