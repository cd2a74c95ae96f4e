import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { loadConfig } from '../../src/config/load.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { run } from '../support/client.js';
import { writeConfig } from '../support/gateway.js';
import { expectAligned } from '../support/text-table.js';

// Runs the built CLI (npm run build, as `npm test` does).
const BIN = path.resolve('bin/outguard.js');
const SHA = 'c'.repeat(64);

/** A data dir whose audit log knows one message the gateway rejected. */
async function dataDirWithMessage(compliance: Record<string, unknown>): Promise<{ file: string; dataDir: string }> {
  const file = writeConfig({ compliance, web: { listen: '127.0.0.1:0', publicUrl: 'https://og.example.co.jp' } });
  const { dataDir } = loadConfig({ file, env: {} });
  const store = SqliteAuditStore.open(dataDir);
  await store.append({
    type: 'rejected',
    messageId: 'msg-cli-1',
    sender: 'taro@example.co.jp',
    recipients: ['someone@m.evernote.com'],
    subject: '顧客リスト',
    attachments: [{ name: '顧客.csv', sha256: SHA }],
    rules: ['online-service-recipient'],
    clauses: ['遵守事項 第7'],
    action: 'reject',
  });
  await store.close();
  return { file, dataDir };
}

describe('outguard incident', () => {
  let file: string;
  let dataDir: string;
  const outguard = (...args: string[]) => run('node', [BIN, ...args, '--config', file]);
  beforeAll(async () => {
    ({ file, dataDir } = await dataDirWithMessage({ clientContact: ['madoguchi@client.example.lg.jp'] }));
  });

  it('opens, lists, shows and records the report of an incident', async () => {
    const opened = await outguard('incident', 'open', '--message', 'msg-cli-1', '--reason', '社外サービスへ顧客リストを送ろうとした', '--by', 'hanako');
    expect(opened.code, opened.stderr).toBe(0);
    const id = /^opened (INC-\d{8}-[a-z2-9]{6});/.exec(opened.stdout)?.[1];
    expect(id).toBeDefined();
    expect(opened.stdout).toContain('the report to madoguchi@client.example.lg.jp is queued');

    // the report waits in the outbox for the running gateway
    const key = loadSecretKey(dataDir).key;
    const outbox = SqliteOutboxStore.open(dataDir, key);
    const jobs = await outbox.list({ ref: id! });
    expect(jobs).toEqual([expect.objectContaining({ kind: 'notice', state: 'ready', envelope: { from: expect.stringMatching(/^postmaster@/), to: ['madoguchi@client.example.lg.jp'] } })]);
    const raw = (await outbox.get(jobs[0]!.id))!.raw!.toString();
    await outbox.close();
    expect(raw).toMatch(/^X-Outguard-Notice: incident$/m);

    const list = JSON.parse((await outguard('incident', 'list', '--format', 'json')).stdout) as { id: string; status: string; openedBy: string; message: { attachments: unknown[]; state: string } }[];
    expect(list).toEqual([expect.objectContaining({ id, status: 'open', openedBy: 'hanako', message: expect.objectContaining({ state: 'not-sent', attachments: [{ name: '顧客.csv', sha256: SHA }] }) })]);
    expect((await outguard('incident', 'list')).stdout).toMatch(new RegExp(`^ID +STATUS.*\\n${id} +open `));

    const shown = await outguard('incident', 'show', id!);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('状態 / Status: 未報告（期限内） / open');
    expect(shown.stdout).toContain('送信待ち / queued');
    for (const s of ['インシデント番号', 'Incident: ', '顧客リスト', `SHA-256: ${SHA}`, '遵守事項 第7', '送信されていません']) expect(shown.stdout).toContain(s);
    // the page is for the people handling it, above the report; the report to the client has no link to it
    const [status, report] = shown.stdout.split('\n発注者ご担当者様\n');
    expect(status).toContain(`ページ / Page: https://og.example.co.jp/review/incidents/${id}\n`);
    expect(report).not.toContain('/review/');

    const reported = await outguard('incident', 'reported', id!, '--by', 'hanako', '--note', '電話で報告');
    expect(reported.code, reported.stderr).toBe(0);
    expect(reported.stdout).toMatch(new RegExp(`^recorded: ${id} reported at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d JST by hanako\\n$`));
    expect((await outguard('incident', 'list', '--open')).stdout).toBe('no incidents\n');
    const again = await outguard('incident', 'reported', id!, '--by', 'taro');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^outguard: incident INC-\S+ was already reported at \d{4}-\d\d-\d\d \d\d:\d\d JST by hanako\n$/);

    // both events are in the audit log, with the incident id as detail
    const store = SqliteAuditStore.open(dataDir);
    const events = await store.list({ type: ['incident-opened', 'incident-reported'] });
    await store.close();
    expect(events.map((e) => [e.type, e.action, e.actor, e.detail, e.messageId])).toEqual([
      ['incident-opened', 'manual', 'hanako', id, 'msg-cli-1'],
      ['incident-reported', 'recorded', 'hanako', id, 'msg-cli-1'],
    ]);
  });

  it('answers bad input with one line naming what was wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['incident', 'open', '--message', 'nope', '--reason', 'x'], /^outguard: no message with id nope in the audit log or the holds\n$/],
      [['incident', 'open', '--message', 'msg-cli-1', '--reason', '  '], /^outguard: --reason needs a text/],
      [['incident', 'reported', 'INC-20260101-aaaaaa', '--by', 'x'], /^outguard: no incident with id INC-20260101-aaaaaa\n$/],
      [['incident', 'show', 'INC-20260101-aaaaaa'], /^outguard: no incident with id INC-20260101-aaaaaa in /],
      [['incident', 'list', '--format', 'xml'], /^outguard: --format must be text or json, got "xml"\n$/],
    ];
    const outs = await Promise.all(cases.map(([args]) => outguard(...args)));
    for (const [i, [args, expected]] of cases.entries()) {
      const out = outs[i]!;
      expect(out.code, args.join(' ')).toBe(1);
      expect(out.stderr).toMatch(expected);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('without a client contact, says to report another way and how to record it', async () => {
    const other = await dataDirWithMessage({});
    const out = await run('node', [BIN, 'incident', 'open', '--message', 'msg-cli-1', '--reason', '誤送信', '--config', other.file]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/no report was queued \(compliance.clientContact is not set\): report it another way, then run: outguard incident reported INC-\S+ --by NAME/);
  });

  it('prints times in Japan time as text and in ISO 8601 UTC as JSON, lines up Japanese text, and ends every output with a newline', async () => {
    const other = await dataDirWithMessage({});
    const cli = (...args: string[]) => run('node', [BIN, ...args, '--config', other.file]);
    const opened = await cli('incident', 'open', '--message', 'msg-cli-1', '--reason', '顧客リストを社外のメモサービスへ送ろうとしていたことが分かった。添付ファイルの確認が必要', '--by', '山田花子');
    expect(opened.code, opened.stderr).toBe(0);
    const id = /^opened (\S+);/.exec(opened.stdout)![1]!;
    const deadline = /report it to the client by (.+)\n/.exec(opened.stdout)![1]!;
    expect(deadline).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d JST$/);
    expect((await cli('incident', 'open', '--message', 'msg-cli-1', '--reason', 'wrong recipient', '--by', 'taro')).code).toBe(0);

    const json = JSON.parse((await cli('incident', 'list', '--format', 'json')).stdout) as { id: string; openedAt: string; deadline: string }[];
    const mine = json.find((i) => i.id === id)!;
    for (const t of [mine.openedAt, mine.deadline]) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // the text's Japan time is the JSON's UTC instant plus nine hours
    const jst = new Date(Date.parse(mine.deadline) + 9 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(deadline).toBe(`${jst} JST`);

    const list = await cli('incident', 'list');
    expect(list.stdout).toContain(`${jst} JST`);
    expect(list.stdout).not.toMatch(/\d{4}-\d\d-\d\dT|日本時間/);
    expect(list.stdout).toContain('山田花子');
    expect(list.stdout).toMatch(/顧客リストを社外の\S*…/); // the long summary is cut
    expectAligned(list.stdout);

    const shown = await cli('incident', 'show', id);
    expect(shown.stdout).toContain(`期限 / Deadline: ${jst} JST\n`);
    const outputs = [opened, list, shown, await cli('incident', 'reported', id, '--by', '山田花子'), await cli('incident', 'list', '--open'), await cli('incident', 'list', '--format', 'json')];
    for (const out of outputs) expect(out.stdout).toMatch(/\n$/);
  });
});
