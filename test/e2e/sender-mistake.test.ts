import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { client, sendRaw } from '../support/client.js';
import { type TestGateway, startGatewayWithWeb } from '../support/gateway.js';
import { withAttachments } from '../support/mime.js';
import { headerOf, releaseLinkOf } from '../support/notices.js';
import { type Sink, startSink } from '../support/sink.js';
import { until } from '../support/wait.js';
import { WebClient } from '../support/web-client.js';
import { postForm } from '../web/fixture.js';

/**
 * 間違いだった on a whole gateway with the default compliance.reportSenderMistakes (false): a
 * mistake caught before sending is discarded and recorded in the audit log only — no incident,
 * no report to the client contact, although one is configured. (The setting on: incident.test.ts.)
 */
const CONTACT = 'madoguchi@client.example.lg.jp';

describe('間違いだった with the default setting: an audit event only', () => {
  let sink: Sink;
  let gw: TestGateway;
  let stopped = false;

  beforeAll(async () => {
    sink = await startSink();
    gw = await startGatewayWithWeb(sink, { compliance: { clientContact: [CONTACT], from: 'postmaster@example.co.jp' } });
  });
  afterAll(async () => {
    if (!stopped) await gw?.stop();
    await sink?.close();
  });

  it('asks first (nothing discarded), then discards on the confirmation; no incident, no mail to the client contact', async () => {
    const t = client(gw.smtp.port);
    const held = await sendRaw(t, 'taro@example.co.jp', ['suzuki@partner.example'], withAttachments({
      headers: ['From: taro@example.co.jp', 'To: suzuki@partner.example', 'Subject: 見積書（宛先誤り）'],
      files: [{ name: '見積書.pdf', content: Buffer.from('%PDF-1.4 見積\n') }],
    }));
    t.close();
    const messageId = /held for confirmation as (\S+)$/.exec(held.response)![1]!;
    const confirm = await until(() => sink.messages.find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'confirm'));
    const link = releaseLinkOf(confirm.raw)!;

    const page = await fetch(link);
    const cookie = page.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = WebClient.csrf(await page.text());
    const ask = await postForm(`${link}/discard`, { csrf, mistake: '1' }, { cookie });
    const asked = await ask.text();
    expect(ask.status).toBe(200);
    expect(asked).toContain('間違いとして破棄しますか？');
    expect(asked).toContain('送信されていないため、インシデントとしては扱いません。発注者への報告も行いません。');
    // nothing happened yet: the release page still opens with its forms
    const again = await fetch(link, { headers: { cookie } });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('id="release-form"');

    const done = await postForm(`${link}/discard`, { csrf: WebClient.csrf(asked), mistake: '1', confirm: '1' }, { cookie });
    const result = await done.text();
    expect(done.status).toBe(200);
    expect(result).toContain('破棄しました（間違いとして記録しました）');
    expect(result).toContain('インシデントとしては扱いません');
    await until(() => sink.messages.find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'hold-discarded'));

    // stopping waits for everything the decision set off (incidents included)
    await gw.stop();
    stopped = true;
    const incidents = SqliteIncidentStore.open(gw.dataDir);
    const audit = SqliteAuditStore.open(gw.dataDir);
    try {
      expect(await incidents.list({})).toEqual([]);
      const events = await audit.list({ messageId });
      expect(events.map((e) => [e.type, e.detail ?? ''])).toContainEqual(['discarded', 'the sender reported a mistake']);
      expect(events.filter((e) => e.type.startsWith('incident-'))).toEqual([]);
    } finally {
      await incidents.close();
      await audit.close();
    }
    expect(sink.messages.filter((m) => m.to.includes(CONTACT))).toEqual([]);
    expect(sink.messages.some((m) => m.to.includes('suzuki@partner.example'))).toBe(false);
  });
});
