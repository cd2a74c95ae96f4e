import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { type Browser, launchChromium } from '../support/browser.js';
import { run } from '../support/client.js';
import { tempDir } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { headerOf, releaseLinkOf } from '../support/notices.js';
import { requireTool } from '../support/tools.js';
import { until } from '../support/wait.js';

const haveTools = requireTool('swaks', 'swaks') && requireTool('chromium', 'chromium');

/**
 * The README's quick start as a new admin walks it: `npm start` with the internal domains and
 * another web port, the swaks lines, a held message whose confirmation notice links to the
 * release page on that port, a release there in Chromium, and SIGTERM to the npm process.
 */
describe.skipIf(!haveTools)('the README quick start, with another web port', () => {
  let npm: ChildProcess;
  let dataDir: string;
  let smtpPort: number;
  let webPort: number;
  let log = '';
  let browser: Browser | undefined;

  const outbox = () => path.join(dataDir, 'outbox');
  const written = () =>
    (fs.existsSync(outbox()) ? fs.readdirSync(outbox()) : []).filter((f) => f.endsWith('.eml')).map((f) => ({ name: f, raw: fs.readFileSync(path.join(outbox(), f)) }));
  const swaks = (...args: string[]) => run('swaks', ['--server', `127.0.0.1:${smtpPort}`, '--from', 'taro@example.co.jp', ...args]);

  beforeAll(async () => {
    dataDir = path.join(tempDir('outguard-quick-start-'), 'data');
    smtpPort = await freePort();
    webPort = await freePort();
    npm = spawn('npm', ['start'], {
      env: {
        ...process.env,
        OUTGUARD_INTERNAL_DOMAINS: 'example.co.jp',
        OUTGUARD_WEB_LISTEN: `127.0.0.1:${webPort}`,
        // the README's ports, moved so tests can run side by side; the data dir out of the checkout
        OUTGUARD_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
        OUTGUARD_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await until(() => log.includes('outguard started'), 30_000);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (npm.exitCode === null) npm.kill('SIGKILL');
  });

  it('delivers the first example to a colleague, and says at start where the release links point', async () => {
    expect(log).toContain(`"releaseLinks":"http://127.0.0.1:${webPort}"`);
    const sent = await swaks('--to', 'colleague@example.co.jp', '--header', 'Subject: test');
    expect(sent.stdout).toMatch(/<- {2}250 2\.0\.0 Ok: delivered as (\S+)/);
    const id = /delivered as (\S+)/.exec(sent.stdout)![1]!;
    const copy = written().find((f) => f.name === `${id}.eml`);
    expect(copy && headerOf(copy.raw, 'X-Outguard-Id')).toBe(id);
  });

  it('holds mail to a new outside domain; the notice comes from notices.from and its link opens the release page on the chosen port', async () => {
    const sent = await swaks('--to', 'partner@torihikisaki.example', '--header', 'Subject: first contact');
    const id = /held for confirmation as (\S+)/.exec(sent.stdout)?.[1];
    expect(id).toBeDefined();
    // first-time-domain alone: the README's example domain looks like no internal one
    const line = await until(() => log.split('\n').find((l) => l.includes(`"id":"${id}"`) && l.includes('"msg":"message"')));
    expect((JSON.parse(line) as { rules: string[] }).rules).toEqual(['first-time-domain']);
    const notice = await until(() => written().find((f) => headerOf(f.raw, 'X-Outguard-Notice') === 'confirm' && f.raw.includes(id!)));
    expect(MessageModel.parse(notice.raw).from).toEqual([{ name: '送信確認 outguard', address: expect.stringMatching(/^outguard@/) }]);
    const link = releaseLinkOf(notice.raw)!;
    expect(link.startsWith(`http://127.0.0.1:${webPort}/hold/`)).toBe(true);

    const page = await browser!.context.newPage();
    await page.goto(link);
    for (const label of ['宛先を確認した', '本文を確認した', '添付ファイルの中身を確認した']) {
      const box = page.getByText(label);
      if (await box.count()) await box.click();
    }
    await page.getByRole('button', { name: /送信/ }).click();
    await page.getByText('送信しました').first().waitFor();
    await page.close();
    const copy = await until(() => written().find((f) => !headerOf(f.raw, 'X-Outguard-Notice') && f.raw.includes('first contact') && f.raw.includes('partner@torihikisaki.example')));
    expect(MessageModel.parse(copy.raw).subject).toBe('first contact');
  });

  it('stops on SIGTERM to the npm process, and the gateway with it', async () => {
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    npm.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('"msg":"stopped"');
    // nothing is left listening
    await until(async () => (await fetch(`http://127.0.0.1:${webPort}/healthz`).then(() => false, () => true)) || undefined);
  });
});
