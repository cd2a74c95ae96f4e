/**
 * The reference parsers: mailparser (in this process) and Python's email package (one long-lived
 * child, test/fuzz/oracle.py). For an original message they say which attachments a reader would
 * see; for an outside copy they decode every part, so the checker can look for the attachments'
 * bytes in what the recipient can read. A parser that throws, hangs or dies on a message is
 * recorded as a failure of that parser, never of the harness.
 */
import iconv from 'iconv-lite';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { extractEmbedded } from './embedded.js';

export type ParserName = 'mailparser' | 'python' | 'embedded';

export interface OracleAttachment {
  parser: ParserName;
  /** Which variant saw it: the Python policy, or the body and encoding an embedded file came from. */
  via?: string;
  filename?: string;
  contentType: string;
  content: Buffer;
  cid?: string;
  related?: boolean;
}

export interface ParserFailure {
  parser: string;
  error: string;
}

/** Signature parts travel with a signed message by design; they are not the sender's files. */
const SIGNATURES = new Set(['application/pgp-signature', 'application/pkcs7-signature', 'application/x-pkcs7-signature']);

const TIMEOUT_MS = 20000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---- mailparser ---------------------------------------------------------------------------------

export interface MailparserView {
  attachments: { filename?: string; contentType: string; content: Buffer; cid?: string; related?: boolean }[];
  text?: string;
  html?: string;
}

export async function mailparser(raw: Buffer): Promise<MailparserView> {
  // maxChildNodes: mailparser refuses more than 1,000 parts by default; the many-parts cases need more
  const mail = await withTimeout(simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true, maxChildNodes: 100_000 }), TIMEOUT_MS, 'mailparser');
  return {
    // with repeated Content-Type headers mailparser may hand over a list: take the first, as it does
    attachments: mail.attachments.map((a) => ({ filename: a.filename, contentType: String(([] as unknown[]).concat(a.contentType)[0] ?? 'application/octet-stream').toLowerCase(), content: a.content, cid: a.cid, related: a.related })),
    text: mail.text,
    html: typeof mail.html === 'string' ? mail.html : undefined,
  };
}

// ---- Python -------------------------------------------------------------------------------------

interface PyAttachment {
  filename: string | null;
  contentType: string;
  content: string;
  cid: string | null;
  related: boolean;
}
type PyPolicyResult = { failed: string } | { attachments: PyAttachment[]; bodies: string[]; error: string | null } | { leaves: { contentType: string; content: string }[]; error: string | null };
type PyResult = Record<'default' | 'compat32', PyPolicyResult> | { failed: string };

const ORACLE_PY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oracle.py');

/** The python3 child; requests go one at a time, and a hung child is killed and replaced. */
export class PythonOracle {
  private child?: ChildProcess;
  private buffer = '';
  private waiting?: { resolve: (line: string) => void; reject: (e: Error) => void };
  private queue: Promise<unknown> = Promise.resolve();

  private spawn(): ChildProcess {
    const child = spawn('python3', [ORACLE_PY], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0 && this.waiting) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(line);
      }
    });
    child.on('exit', (code) => {
      if (this.child === child) this.child = undefined;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(new Error(`python oracle exited (${code})`));
    });
    child.stdin!.on('error', () => undefined);
    return child;
  }

  request(mode: 'A' | 'L', raw: Buffer): Promise<PyResult> {
    const run = async (): Promise<PyResult> => {
      this.child ??= this.spawn();
      this.buffer = '';
      const child = this.child;
      const line = new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject }));
      const head = Buffer.alloc(5);
      head.write(mode, 0, 'latin1');
      head.writeUInt32BE(raw.length, 1);
      child.stdin!.write(Buffer.concat([head, raw]));
      try {
        return JSON.parse(await withTimeout(line, TIMEOUT_MS, 'python')) as PyResult;
      } catch (err) {
        // a hung or dead child: replace it, so the next message gets a fresh one
        this.waiting = undefined;
        if (this.child === child) this.child = undefined;
        child.kill('SIGKILL');
        throw err;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }
}

/** Each Python policy's reading that succeeded; failures (of the process or of one policy) are recorded. */
function* pythonResults(pr: PromiseSettledResult<PyResult>, failures: ParserFailure[]) {
  if (pr.status === 'rejected') {
    failures.push({ parser: 'python', error: String((pr.reason as Error).message ?? pr.reason) });
    return;
  }
  const result = pr.value;
  if ('failed' in result) {
    failures.push({ parser: 'python', error: String(result.failed) });
    return;
  }
  for (const policy of ['default', 'compat32'] as const) {
    const r = result[policy];
    if ('failed' in r) failures.push({ parser: `python(${policy})`, error: r.failed });
    else yield [policy, r] as const;
  }
}

// ---- originals ----------------------------------------------------------------------------------

export interface OriginalView {
  attachments: OracleAttachment[];
  /** The original's body texts, by the parser that showed them (to tell a quotation from a leak). */
  bodies: { parser: 'mailparser' | 'python'; content: Buffer }[];
  failures: ParserFailure[];
}

/** What each reference parser shows as attachments of the original (as the gateway received it). */
export async function originalAttachments(raw: Buffer, py: PythonOracle): Promise<OriginalView> {
  const attachments: OracleAttachment[] = [];
  const failures: ParserFailure[] = [];
  const bodies: { via: string; content: Buffer; exact: boolean }[] = [];

  const [mp, pr] = await Promise.allSettled([mailparser(raw), py.request('A', raw)]);
  if (mp.status === 'fulfilled') {
    for (const a of mp.value.attachments) {
      if (SIGNATURES.has(a.contentType)) continue;
      attachments.push({ parser: 'mailparser', ...a });
    }
    if (mp.value.text) bodies.push({ via: 'mailparser text', ...textBytes(mp.value.text) });
    if (mp.value.html) bodies.push({ via: 'mailparser html', ...textBytes(mp.value.html) });
  } else failures.push({ parser: 'mailparser', error: String((mp.reason as Error).message ?? mp.reason) });

  for (const [policy, r] of pythonResults(pr, failures)) {
    if (!('attachments' in r)) continue;
    for (const a of r.attachments) {
      attachments.push({ parser: 'python', via: policy, filename: a.filename ?? undefined, contentType: a.contentType, content: Buffer.from(a.content, 'base64'), cid: a.cid ?? undefined, related: a.related });
    }
    r.bodies.forEach((b, i) => bodies.push({ via: `python(${policy}) body ${i}`, content: Buffer.from(b, 'base64'), exact: true }));
  }

  // files carried inside a body (uuencode, yEnc, BinHex, data: URIs), each once
  const seen = new Set<string>();
  for (const b of bodies) {
    // yEnc is 8-bit: only from bodies whose bytes survived decoding as they were
    for (const e of extractEmbedded(b.content).filter((x) => x.kind !== 'yenc' || b.exact)) {
      const key = hash(e.content);
      if (seen.has(key)) continue;
      seen.add(key);
      attachments.push({ parser: 'embedded', via: `${e.kind} in ${b.via}`, filename: e.name, contentType: e.contentType ?? 'application/octet-stream', content: e.content });
    }
  }
  // mailparser hands text out as a string: also as single-byte text (Latin-1, characters beyond it as
  // '?'; Windows-1252), so it compares with the bytes of an attachment whatever encoding the string took
  const shown = bodies.flatMap((b): OriginalView['bodies'] =>
    b.via.startsWith('mailparser')
      ? [
          { parser: 'mailparser' as const, content: b.content },
          { parser: 'mailparser' as const, content: Buffer.from(b.content.toString('utf8').replace(/[^\x00-\xff]/g, '?'), 'latin1') },
          // it reads ISO-8859-1 as Windows-1252 (as browsers do): map back the same way
          { parser: 'mailparser' as const, content: iconv.encode(b.content.toString('utf8'), 'windows-1252') },
        ]
      : [{ parser: 'python' as const, content: b.content }],
  );
  return { attachments, bodies: shown, failures };
}

// ---- outside copies -----------------------------------------------------------------------------

export interface DecodedPart {
  label: string;
  content: Buffer;
  /** A base64 run that a parser shows as body text: readable as text, but no client's file. */
  shownAsText?: boolean;
}

export interface CopyView {
  /** Every decoded part of the copy, by every parser and decoder, each content once. */
  parts: DecodedPart[];
  /** mailparser's reading of the copy (for the inline-image exemption), when it parsed. */
  mailparser?: MailparserView;
  failures: ParserFailure[];
}

export function hash(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}

/** Base64 runs anywhere in the raw copy (preamble, epilogue, parts no parser showed), decoded. */
function rawBase64Runs(raw: Buffer): DecodedPart[] {
  const out: DecodedPart[] = [];
  const text = raw.toString('latin1');
  for (const m of text.matchAll(/(?:^[A-Za-z0-9+/]{4,}={0,2}[ \t]*(?:\r?\n|$))+/gm)) {
    if (m[0].length < 64) continue;
    out.push({ label: `raw base64 run at byte ${m.index}`, content: Buffer.from(m[0].replace(/\s+/g, ''), 'base64') });
  }
  return out;
}

/**
 * mailparser gives text as a string; for the in-body decoders the bytes matter (yEnc is 8-bit).
 * A string of Latin-1 characters only is taken back to those bytes, anything else as UTF-8.
 */
function textBytes(s: string): { content: Buffer; exact: boolean } {
  return /^[\x00-\xff]*$/.test(s) ? { content: Buffer.from(s, 'latin1'), exact: true } : { content: Buffer.from(s, 'utf8'), exact: false };
}

/** Decodes an outside copy every way a reader could: both parsers, in-body files, base64 runs. */
export async function decodeCopy(raw: Buffer, py: PythonOracle): Promise<CopyView> {
  const parts: DecodedPart[] = [];
  const failures: ParserFailure[] = [];
  const texts: DecodedPart[] = [];
  let view: MailparserView | undefined;

  const [mp, pr] = await Promise.allSettled([mailparser(raw), py.request('L', raw)]);
  if (mp.status === 'fulfilled') {
    view = mp.value;
    for (const a of view.attachments) parts.push({ label: `mailparser attachment ${a.filename ?? '(no name)'} ${a.contentType}`, content: a.content });
    if (view.text) texts.push({ label: 'mailparser text', content: textBytes(view.text).content });
    if (view.html) texts.push({ label: 'mailparser html', content: textBytes(view.html).content });
  } else failures.push({ parser: 'mailparser', error: String((mp.reason as Error).message ?? mp.reason) });

  for (const [policy, r] of pythonResults(pr, failures)) {
    if (!('leaves' in r)) continue;
    r.leaves.forEach((l, i) => {
      const p = { label: `python(${policy}) leaf ${i} ${l.contentType}`, content: Buffer.from(l.content, 'base64') };
      (l.contentType.startsWith('text/') ? texts : parts).push(p);
    });
  }

  for (const t of texts) {
    parts.push(t);
    for (const e of extractEmbedded(t.content)) parts.push({ label: `${e.kind} in ${t.label}`, content: e.content });
  }
  for (const run of rawBase64Runs(raw)) {
    const b64 = run.content.toString('base64').slice(0, 64);
    const flat = texts.map((t) => t.content.toString('latin1').replace(/\s+/g, ''));
    parts.push({ ...run, shownAsText: flat.some((t) => t.includes(b64)) });
  }

  const seen = new Set<string>();
  const unique = parts.filter((p) => {
    const key = hash(p.content);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { parts: unique, mailparser: view, failures };
}
