import nodemailer from 'nodemailer';
import { execFile } from 'node:child_process';

export interface SendResult {
  ok: boolean;
  code?: number;
  response: string;
}

type Transport = ReturnType<typeof nodemailer.createTransport>;

/** A pooled nodemailer client for the gateway under test (smtp-server greets each new connection after 100 ms). */
export function client(port: number, extra: Record<string, unknown> = {}): Transport {
  return nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 2, ignoreTLS: true, logger: false, ...extra });
}

/** Sends raw bytes with an explicit envelope and reports the server's answer instead of throwing. */
export async function sendRaw(transport: Transport, from: string, to: string[], raw: Buffer | string): Promise<SendResult> {
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    return { ok: true, code: 250, response: String(info.response) };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: e.responseCode, response: e.response ?? e.message };
  }
}

/** Runs a program nobody here wrote (python3 smtplib, swaks) and returns its output. */
export function run(cmd: string, args: string[], input?: string, env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A small realistic message with CRLF line ends. */
export function sampleMessage(opts: { subject?: string; body?: string; from?: string; to?: string } = {}): Buffer {
  const lines = [
    `From: ${opts.from ?? 'Taro Yamada <taro@example.co.jp>'}`,
    `To: ${opts.to ?? 'partner@partner.example'}`,
    `Subject: ${opts.subject ?? 'Quarterly figures'}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0900',
    `Message-ID: <${Math.random().toString(36).slice(2)}@example.co.jp>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    opts.body ?? 'お世話になっております。\r\nPlease find the figures below.\r\n',
  ];
  return Buffer.from(lines.join('\r\n'));
}
