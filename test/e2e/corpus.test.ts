import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendRaw } from '../support/client.js';
import { CORPUS_DIR, asSmtpSees, corpusFiles } from '../support/corpus.js';
import { detectEncryption } from '../../src/message/encrypted.js';
import { MessageModel } from '../../src/message/model.js';
import { DEFAULT_POLICY, gatewayWithSink } from '../support/gateway.js';

const files = corpusFiles();

describe.skipIf(files.length === 0)('the shared corpus through the gateway', () => {
  const f = gatewayWithSink();

  it.each(files.map((f) => [path.relative(CORPUS_DIR, f), f]))('%s gets a definite answer and no attachment leaves in the clear', async (_name, file) => {
    const raw = fs.readFileSync(file);
    const before = f.sink.messages.filter((m) => m.to.includes('recipient@partner.example')).length;
    const result = await sendRaw(f.transport, 'sender@example.co.jp', ['recipient@partner.example'], raw);
    expect(result.code).toBeDefined();
    expect([250, 451, 550]).toContain(result.code);
    if (!result.ok) return;
    if (/held for confirmation/.test(result.response)) {
      // no rule holds anything here: only what cannot leave as it is (ambiguous, signed) is held
      const line = f.gw.logs.filter((l) => l.msg === 'message').at(-1)!;
      expect(line.rules).toEqual(expect.arrayContaining([expect.stringMatching(/^(ambiguous-mime|signed-message)$/)]));
      return;
    }
    // some corpus files are byte for byte another one once SMTP made every line end CRLF: the
    // gateway knows the message and sends nothing twice
    if (/accepted before/.test(result.response)) return;
    const id = /delivered as (\S+)/.exec(result.response)![1]!.replace(/,$/, '');
    await f.sink.waitFor(f.sink.messages.length);
    const got = f.sink.messages.filter((m) => m.to.includes('recipient@partner.example'))[before]!;
    const original = MessageModel.parse(asSmtpSees(raw));
    const files = original.attachments.filter((a) => !a.inline);
    if (files.length === 0) {
      // nothing to encrypt: the bytes leave as they came
      expect(got.raw.equals(Buffer.concat([Buffer.from(`X-Outguard-Id: ${id}\r\n`), asSmtpSees(raw)]))).toBe(true);
      return;
    }
    const sent = MessageModel.parse(got.raw);
    for (const a of sent.attachments.filter((x) => !x.inline)) {
      expect(detectEncryption(a.content()), `${a.filename} left in the clear`).toBeDefined();
    }
    expect(sent.textParts.slice(0, original.textParts.length)).toEqual(original.textParts);
    expect(sent.htmlParts).toEqual(original.htmlParts);
  });
});

describe.skipIf(files.length === 0)('the shared corpus under the default policy', () => {
  const f = gatewayWithSink({ policy: DEFAULT_POLICY, organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] } });

  it.each(files.map((f) => [path.relative(CORPUS_DIR, f), f]))('%s is judged: delivered, or refused with a rule', async (_name, file) => {
    const raw = fs.readFileSync(file);
    const before = f.sink.messages.length;
    const result = await sendRaw(f.transport, 'sender@example.co.jp', ['recipient@partner.example'], raw);
    // a corpus file that is another one byte for byte once SMTP made it CRLF: known, nothing new leaves
    if (/(accepted|held) before/.test(result.response)) return;
    if (result.ok) {
      await f.sink.waitFor(before + 1);
    } else {
      // a policy decision, never a crash or a silent pass
      expect(result.response).toMatch(/^550 5\.7\.1 [a-z-]+: /);
      const line = f.gw.logs.filter((l) => l.msg === 'message').at(-1)!;
      expect((line.rules as string[]).length).toBeGreaterThan(0);
    }
  });
});
