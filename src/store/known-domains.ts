import fs from 'node:fs';
import path from 'node:path';

export const KNOWN_DOMAINS_FILE_NAME = 'known-domains.txt';

/**
 * The external domains this gateway has delivered to, one a line in DATA_DIR/known-domains.txt.
 * Read once at start; each newly learnt domain is appended, so a restart remembers it.
 */
export class KnownDomains {
  private readonly domains: Set<string>;
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, KNOWN_DOMAINS_FILE_NAME);
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.domains = new Set(text.split('\n').map((l) => l.trim()).filter(Boolean));
  }

  has(domain: string): boolean {
    return this.domains.has(domain);
  }

  /** Remembers the domains not known yet. */
  async add(domains: Iterable<string>): Promise<void> {
    const fresh = [...new Set(domains)].filter((d) => d !== '' && !this.domains.has(d));
    if (fresh.length === 0) return;
    for (const d of fresh) this.domains.add(d);
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    await fs.promises.appendFile(this.file, fresh.map((d) => `${d}\n`).join(''), { mode: 0o640 });
  }
}
