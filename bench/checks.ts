/**
 * Time per check on a 5 KB message under the default policy: each rule's check alone, then the
 * whole engine including MIME parsing. Prints microseconds per message. `npm run bench:checks`.
 */
import { performance } from 'node:perf_hooks';
import { MessageModel } from '../src/message/model.js';
import { createContext } from '../src/policy/context.js';
import { PolicyEngine } from '../src/policy/engine.js';
import { loadPolicy } from '../src/policy/policy-file.js';

const PARAGRAPH =
  'いつも大変お世話になっております。総務部情報政策課の鈴木です。先日ご相談いたしました庁内ネットワーク更改業務の件につきまして、' +
  '仕様書の修正版を共有フォルダに置きました。https://intranet.example.co.jp/share/spec-v2.pdf をご確認ください。\r\n';

function message(): Buffer {
  const text = PARAGRAPH.repeat(14);
  const html = `<html><body>${PARAGRAPH.repeat(6).replace(/https:\/\/\S+/g, (u) => `<a href="${u}">${u}</a>`)}<p>詳細は <a href="https://www.example.co.jp/info?id=1&amp;x=2">こちら</a></p></body></html>`;
  const b = 'bench-boundary';
  return Buffer.from(
    [
      'From: =?UTF-8?B?6Yi05pyo?= <suzuki@example.co.jp>',
      'To: =?UTF-8?B?5bGx55Sw?= <yamada@partner.co.jp>',
      'Cc: tanaka@example.co.jp',
      'Subject: =?UTF-8?B?5LuV5qeY5pu444Gu5L+u5q2j54mI?=',
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'Message-ID: <bench@example.co.jp>',
      'MIME-Version: 1.0',
      `Content-Type: multipart/alternative; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      `--${b}`,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      html,
      `--${b}--`,
      '',
    ].join('\r\n'),
  );
}

const raw = message();
const envelope = { from: 'suzuki@example.co.jp', to: ['yamada@partner.co.jp', 'tanaka@example.co.jp'] };
const policy = await loadPolicy(new URL('../policies/default.yaml', import.meta.url).pathname);
const sources = { internalDomains: ['example.co.jp'], partnerDomains: ['partner.co.jp'], knownDomain: () => true, recentExternalMessages: () => 3 };
const context = createContext({ ...sources, lists: policy.lists });
const input = { message: MessageModel.parse(raw), envelope };
const N = 5000;

function time(fn: () => unknown): number {
  for (let i = 0; i < 500; i++) fn(); // warm up
  const start = performance.now();
  for (let i = 0; i < N; i++) fn();
  return ((performance.now() - start) * 1000) / N;
}

console.log(`message: ${raw.length} bytes, ${envelope.to.length} recipients, ${N} runs each (after warm-up)\n`);
const rows: Record<string, number> = {};
for (const rule of policy.rules) rows[`${rule.id} (${rule.checkName})`] = time(() => rule.check.run(input, context, rule.params));
rows['parse MIME (MessageModel.parse)'] = time(() => MessageModel.parse(raw));
const engine = new PolicyEngine(policy, sources);
rows['whole engine: parse + every rule'] = time(() => engine.evaluate({ message: MessageModel.parse(raw), envelope }));
const width = Math.max(...Object.keys(rows).map((k) => k.length));
for (const [name, us] of Object.entries(rows)) console.log(`${name.padEnd(width)}  ${us.toFixed(1).padStart(7)} µs`);
console.log(JSON.stringify({ bench: 'checks', bytes: raw.length, microseconds: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, Number(v.toFixed(1))])) }));
