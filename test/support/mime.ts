/** Builds a multipart/mixed message (CRLF) with base64 attachments, for tests. */
export function withAttachments(opts: {
  headers?: string[];
  body?: string;
  html?: string;
  files: { name: string; content: Buffer; type?: string; encodedName?: string }[];
}): Buffer {
  const b = 'og-test-boundary';
  const lines = [
    ...(opts.headers ?? ['From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: files']),
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    opts.body ?? 'see attached',
  ];
  if (opts.html !== undefined) lines.push(`--${b}`, 'Content-Type: text/html; charset=utf-8', '', opts.html);
  for (const f of opts.files) {
    const name = f.encodedName ?? `"${f.name}"`;
    lines.push(
      `--${b}`,
      `Content-Type: ${f.type ?? 'application/octet-stream'}; name=${name}`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename=${name}`,
      '',
      // one string, not one argument a line: a large file has more lines than a call takes arguments
      (f.content.toString('base64').match(/.{1,76}/g) ?? ['']).join('\r\n'),
    );
  }
  lines.push(`--${b}--`, '');
  return Buffer.from(lines.join('\r\n'));
}
