import type http from 'node:http';
import { randomBytes } from 'node:crypto';

/** Headers every page and API answer carries: the release token is in the URL, so no referrer and no caching. */
const COMMON_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** A fresh nonce for one page's inline style and script. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The page's Content-Security-Policy: nothing but this response's own style and script (by nonce), forms only to us. */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function sendHtml(
  res: http.ServerResponse,
  status: number,
  body: string,
  nonce: string,
  extra: Record<string, string | string[]> = {},
): void {
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': pageCsp(nonce),
    'content-length': String(payload.length),
    ...extra,
  });
  res.end(payload);
}

/** A file to download (CSV exports): the common headers, and Content-Disposition with the file name (ASCII). */
export function sendDownload(res: http.ServerResponse, body: string, contentType: string, fileName: string): void {
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(200, {
    ...COMMON_HEADERS,
    'content-type': contentType,
    'content-disposition': `attachment; filename="${fileName}"`,
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'content-length': String(payload.length),
  });
  res.end(payload);
}

/** A 303 See Other to a local path (after a form, or to the login page). */
export function redirect(res: http.ServerResponse, location: string, extra: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { ...COMMON_HEADERS, location, 'content-length': '0', ...extra });
  res.end();
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'content-length': String(payload.length),
    ...extra,
  });
  res.end(payload);
}

/** The media type of the request body, lower case, without parameters ('' when absent). */
export function mediaType(req: http.IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

/**
 * Reads the request body up to `limit` bytes. Over the limit it rejects with BodyTooLarge and
 * stops reading: the caller answers 413 with `connection: close` (see refuseRest).
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * After answering without reading the whole body: the connection is closed once the answer is
 * out, and what the client still sends is discarded, up to a cap, so it can read the answer.
 */
export function refuseRest(req: http.IncomingMessage, res: http.ServerResponse, cap = 1024 * 1024): void {
  res.shouldKeepAlive = false;
  if (req.readableEnded) return;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > cap) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

/** Cookies of the request, by name (first one wins). */
export function parseCookies(req: http.IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}
