import type { Attachment } from '../../message/model.js';
import { readZipDirectory } from '../../message/zip-directory.js';
import type { Bilingual } from '../../render/bilingual.js';
import { type Check, type Hit, param } from '../check.js';

const EXECUTABLE = [
  'exe', 'com', 'scr', 'pif', 'bat', 'cmd', 'vbs', 'vbe', 'js', 'jse', 'wsf', 'wsh', 'msi', 'msp', 'mst',
  'hta', 'cpl', 'jar', 'ps1', 'psm1', 'lnk', 'reg', 'dll', 'sys', 'scf', 'inf', 'application', 'appx', 'msix', 'iso', 'img', 'vhd', 'vhdx',
];

const extension = (name: string) => /\.([^.\s]+)\s*$/.exec(name.toLowerCase())?.[1];

/** Why a file name is risky, or undefined. */
function riskyName(name: string, executable: Set<string>): Bilingual | undefined {
  // U+202E (right-to-left override) makes "exe.pdf" display as "fdp.exe" and similar tricks
  if (/[\u202a-\u202e\u2066-\u2069]/.test(name)) return { ja: 'ファイル名に文字の向きを変える制御文字があります', en: 'bidirectional control character in the name' };
  const ext = extension(name);
  if (!ext || !executable.has(ext)) return undefined;
  const inner = extension(name.replace(/\.[^.]+\s*$/, ''));
  return inner && !executable.has(inner) && /^[a-z0-9]{2,4}$/.test(inner)
    ? { ja: `二重拡張子 .${inner}.${ext}`, en: `double extension .${inner}.${ext}` }
    : { ja: `実行ファイルの種類 .${ext}`, en: `executable type .${ext}` };
}

const PROGRAM: Bilingual = { ja: 'Windows のプログラム（MZ ヘッダー）', en: 'Windows program (MZ header)' };

/** First bytes of a Windows executable (MZ), whatever the file is called. */
const looksLikeProgram = (a: Attachment) => {
  const head = a.head(2);
  return head.length === 2 && head[0] === 0x4d && head[1] === 0x5a;
};

/**
 * Executables, double extensions (invoice.pdf.exe) and bidi-spoofed names, also inside an
 * unencrypted ZIP, and Windows programs whatever their name.
 */
export const attachmentType: Check<{ extensions: Set<string> }> = {
  name: 'attachment-type',
  params: (raw) => ({ extensions: new Set(param.strings(raw, 'extensions', EXECUTABLE).map((e) => e.toLowerCase().replace(/^\./, ''))) }),
  run({ message }, _ctx, { extensions }) {
    const hits: Hit[] = [];
    for (const a of message.attachments) {
      const why = riskyName(a.filename, extensions) ?? (looksLikeProgram(a) ? PROGRAM : undefined);
      if (why) {
        hits.push({ value: a.filename, detail: why });
        continue;
      }
      if (extension(a.filename) === 'zip' || a.contentType === 'application/zip') {
        for (const entry of readZipDirectory(a.content()) ?? []) {
          const inner = riskyName(entry.name, extensions);
          if (inner) hits.push({ value: `${a.filename}/${entry.name}`, detail: { ja: `ZIP 内のファイル: ${inner.ja}`, en: `${inner.en} inside the ZIP` } });
        }
      }
    }
    return hits;
  },
};
