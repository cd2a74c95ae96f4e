/**
 * `npm run bench:parts`: how long the gateway takes to answer messages made of many tiny MIME
 * parts (the 5,000 and 50,000), from the end of DATA to the SMTP reply, over real SMTP
 * on loopback, with the shipped default policy and a file next hop. The cost must stay linear:
 * beyond `encryption.maxParts` (1,000) a message is ambiguous and held, and the parser stops
 * reading parts there. Also times the parser alone with the limit lifted (parts read: all).
 *
 * Prints one line per size and a JSON summary. Knobs: BENCH_PARTS (comma-separated counts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import YAML from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { MessageModel } from '../src/message/model.js';
import { startService } from '../src/service.js';

const sizes = (process.env.BENCH_PARTS ?? '5000,50000').split(',').map(Number);

function manyParts(count: number): Buffer {
  const lines = ['From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: many parts', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', ''];
  for (let i = 0; i < count; i++) lines.push('--b', `Content-Type: text/csv; name="p${i}.csv"`, `Content-Disposition: attachment; filename="p${i}.csv"`, '', `row,${i}`);
  lines.push('--b--', '');
  return Buffer.from(lines.join('\r\n'));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-bench-parts-'));
const configFile = path.join(dir, 'config.yaml');
fs.writeFileSync(
  configFile,
  YAML.stringify({
    dataDir: path.join(dir, 'data'),
    nextHop: `file:${path.join(dir, 'outbox')}`,
    policy: path.resolve('policies/default.yaml'),
    smtp: { listen: '127.0.0.1:0', maxSize: 100 * 1024 * 1024 },
    web: { listen: '127.0.0.1:0' },
    organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] },
  }),
);
const service = await startService(loadConfig({ file: configFile, env: {} }), createLogger('warn'));
const transport = nodemailer.createTransport({ host: '127.0.0.1', port: service.smtp.port, pool: true, maxConnections: 1, ignoreTLS: true });
const results: Record<string, unknown>[] = [];
try {
  for (const count of sizes) {
    const raw = manyParts(count);
    // SMTP: from the first byte sent to the reply; the transfer of a few MB on loopback is part of it
    const started = performance.now();
    let reply: string;
    try {
      reply = String((await transport.sendMail({ envelope: { from: 'taro@example.co.jp', to: ['partner@partner.example'] }, raw })).response);
    } catch (err) {
      reply = String((err as { response?: string }).response ?? (err as Error).message);
    }
    const smtpMs = performance.now() - started;
    const t = performance.now();
    const model = MessageModel.parse(raw, { maxDepth: 32, maxParts: count + 10 });
    const parseMs = performance.now() - t;
    console.log(
      `${count.toLocaleString('en')} parts (${(raw.length / 1e6).toFixed(1)} MB): answered in ${smtpMs.toFixed(0)} ms — ${reply.slice(0, 70)}; ` +
        `parser alone, every part read: ${parseMs.toFixed(0)} ms (${model.files.length} files)`,
    );
    results.push({ parts: count, bytes: raw.length, answerMs: Math.round(smtpMs), reply, parseAllMs: Math.round(parseMs) });
  }
} finally {
  transport.close();
  await service.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'parts', results }));
