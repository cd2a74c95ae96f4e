/**
 * A tiny MIME writer for the hand-written cases. Everything is a latin1 string (one char = one
 * byte) with CRLF line ends, so cases and mutations can put any byte anywhere.
 */
import { base64Lines, pdf, quotedPrintable, zip } from './files.js';
import type { Rng } from './random.js';

export type Cte = 'base64' | 'quoted-printable' | '7bit' | '8bit';

export const FROM = 'taro@example.co.jp';
export const TO = 'partner@partner.example';

/** A header block and a body. */
export function part(headers: string[], body: string): string {
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

export function encode(content: Buffer, cte: Cte, text = false): string {
  if (cte === 'base64') return base64Lines(content);
  if (cte === 'quoted-printable') return quotedPrintable(content, text);
  return content.toString('latin1');
}

export interface FileContent {
  type: string;
  ext: string;
  content: Buffer;
}

/** Everything a case needs from the PRNG. */
export class Ctx {
  constructor(readonly rng: Rng) {}

  boundary(): string {
    const r = this.rng;
    return r.pick([() => `----=_Part_${r.range(0, 99999)}_${r.token(10)}`, () => `b${r.token(12)}`, () => `==${r.token(8)}.${r.token(4)}==`, () => `_${r.token(6)}-${r.token(6)}_`])();
  }

  cid(): string {
    return `${this.rng.token(8)}.${this.rng.token(6)}@example.co.jp`;
  }

  name(ext: string): string {
    return `${this.rng.pick(['report', 'invoice', 'minutes', 'scan', 'data', 'budget', 'contract', 'list'])}-${this.rng.token(5)}.${ext}`;
  }

  text(n?: number): string {
    return this.rng.text(n ?? this.rng.range(40, 600));
  }

  textPart(body?: string): string {
    return part(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit'], body ?? this.text());
  }

  htmlPart(inner = ''): string {
    return part(['Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: 7bit'], `<html><body><p>${this.text(this.rng.range(40, 300)).replace(/\r\n/g, '<br>\r\n')}</p>${inner}</body></html>\r\n`);
  }

  /** Random content of one kind, as a file would have it. */
  content(kind?: 'pdf' | 'csv' | 'bin' | 'txt' | 'docx'): FileContent {
    const r = this.rng;
    const k = kind ?? r.pick(['pdf', 'csv', 'bin', 'txt', 'docx'] as const);
    switch (k) {
      case 'pdf':
        return { type: 'application/pdf', ext: 'pdf', content: pdf(r) };
      case 'csv':
        return { type: 'text/csv', ext: 'csv', content: Buffer.from(r.csv(r.range(2, 40))) };
      case 'txt':
        return { type: 'text/plain', ext: 'txt', content: Buffer.from(r.text(r.range(40, 1200))) };
      case 'docx':
        return {
          type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
          ext: 'docx',
          content: zip([
            { name: '[Content_Types].xml', data: Buffer.from(`<Types id="${r.token(12)}"/>`), encrypted: false },
            { name: 'word/document.xml', data: Buffer.from(`<w:document>${r.text(r.range(60, 2000))}</w:document>`), encrypted: false },
          ]),
        };
      default:
        return { type: 'application/octet-stream', ext: 'bin', content: r.bytes(r.range(20, 3000)) };
    }
  }

  /** An attachment part: type with name=, Content-Disposition with filename=, base64 unless told. */
  file(o: { type: string; content: Buffer; name?: string | null; disp?: string | null; cid?: string; cte?: Cte; nameParam?: boolean; extra?: string[] }): string {
    const name = o.name === undefined ? this.name(o.type.split('/')[1]!.slice(0, 4)) : o.name;
    const cte = o.cte ?? 'base64';
    const headers = [`Content-Type: ${o.type}${name && o.nameParam !== false ? `; name="${name}"` : ''}`];
    const disp = o.disp === undefined ? 'attachment' : o.disp;
    if (disp !== null) headers.push(`Content-Disposition: ${disp}${name ? `; filename="${name}"` : ''}`);
    headers.push(`Content-Transfer-Encoding: ${cte}`);
    if (o.cid) headers.push(`Content-ID: <${o.cid}>`);
    headers.push(...(o.extra ?? []));
    return part(headers, encode(o.content, cte, o.type.startsWith('text/')));
  }

  /** A random ordinary attachment. */
  anyFile(extra: Partial<Parameters<Ctx['file']>[0]> = {}): string {
    const f = this.content();
    return this.file({ type: f.type, content: f.content, name: this.name(f.ext), ...extra });
  }

  multipart(subtype: string, parts: string[], o: { boundary?: string; param?: string; delim?: string; preamble?: string; epilogue?: string; close?: boolean; extra?: string[] } = {}): string {
    const b = o.boundary ?? this.boundary();
    const d = o.delim ?? b;
    let body = o.preamble !== undefined ? `${o.preamble}\r\n` : '';
    for (const p of parts) body += `--${d}\r\n${p}\r\n`;
    if (o.close !== false) body += `--${d}--\r\n`;
    if (o.epilogue !== undefined) body += o.epilogue;
    return part([`Content-Type: multipart/${subtype}; ${o.param ?? `boundary="${b}"`}`, ...(o.extra ?? [])], body);
  }

  /** The envelope headers of every generated message. */
  headers(): string[] {
    const r = this.rng;
    const day = r.range(1, 28);
    return [
      `From: Taro Yamada <${FROM}>`,
      `To: ${TO}`,
      `Subject: ${r.bool(0.2) ? '=?UTF-8?B?6KaL56mN5pu4?= ' : ''}${r.token(6)} ${r.token(8)}`,
      `Date: ${['Mon', 'Tue', 'Wed', 'Thu', 'Fri'][day % 5]}, ${day} Nov 2026 ${String(r.range(0, 23)).padStart(2, '0')}:${String(r.range(0, 59)).padStart(2, '0')}:00 +0900`,
      `Message-ID: <${r.token(16)}@example.co.jp>`,
      'MIME-Version: 1.0',
    ];
  }

  /** A whole message: envelope headers, then the top part's own header block and body. */
  mail(top: string): string {
    return `${this.headers().join('\r\n')}\r\n${top}`;
  }
}
