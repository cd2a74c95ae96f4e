/**
 * Screenshots of every page, for a person to look at: a gateway with sample data (the layout
 * tests' test/support/sample-gateway.ts) in a temp data dir, every page of PAGES opened in headless
 * Chromium at 1280 and at 390 px wide, each written as a full-page PNG.
 *
 *   npm run screenshots [-- DIR]
 *
 * DIR (default: a new folder under the OS temp dir) is created if need be; the script prints the
 * folder and its files. Japanese text needs the Noto CJK fonts (Debian: fonts-noto-cjk). A page that
 * answers 404 (not on this version) is left out, with a line saying so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { CHROMIUM } from '../test/support/browser.js';
import { SAMPLE_LOGIN, type SampleGateway, startSampleGateway } from '../test/support/sample-gateway.js';
import { hasCommand } from '../test/support/tools.js';

const WIDTHS = [1280, 390];

interface Shot {
  name: string;
  /** The reviewer pages need the sample login. */
  login?: boolean;
  /** Opens the page (the path, or what the sender does to reach it); returns the HTTP status. */
  open(page: Page, s: SampleGateway): Promise<number | undefined>;
}

const go = (path: string | ((s: SampleGateway) => string)) => async (page: Page, s: SampleGateway) => {
  const target = typeof path === 'string' ? path : path(s);
  return (await page.goto(target.startsWith('http') ? target : `${s.base}${target}`))?.status();
};

/** Opens the release page of a fresh hold and presses the buttons given (each one loads a page). */
const pressing = (...buttons: string[]) => async (page: Page, s: SampleGateway) => {
  const { link } = await s.hold();
  let status = (await page.goto(link))?.status();
  for (const button of buttons) {
    if (button === '#send') for (const box of await page.locator('input[type=checkbox]').all()) await box.check();
    const [res] = await Promise.all([page.waitForNavigation(), page.locator(button).click()]);
    status = res?.status();
  }
  return status;
};

/** Every page, one a line; the file is NN-name-WIDTH.png. */
const PAGES: Shot[] = [
  { name: 'release', open: go((s) => s.showcase.link) },
  { name: 'release-sent', open: pressing('#send') },
  { name: 'release-discarded', open: pressing('#discard') },
  { name: 'release-mistake-confirm', open: pressing('#mistake') },
  { name: 'release-mistake-done', open: pressing('#mistake', '#confirm-mistake') },
  { name: 'release-bad-link', open: go('/hold/not-a-release-link') },
  { name: 'login', open: go('/login') },
  { name: 'review', login: true, open: go('/review') },
  { name: 'search', login: true, open: go('/review/search') },
  { name: 'search-with-notices', login: true, open: go('/review/search?type=mail') },
  { name: 'message', login: true, open: go((s) => `/review/message/${s.showcase.id}`) },
  { name: 'incidents', login: true, open: go('/review/incidents') },
  { name: 'incident', login: true, open: go((s) => `/review/incidents/${s.incidentId}`) },
  { name: 'report', login: true, open: go((s) => `/review/report?month=${s.month}`) },
];

async function logIn(context: BrowserContext, s: SampleGateway): Promise<void> {
  const page = await context.newPage();
  await page.goto(`${s.base}/login`);
  await page.fill('input[name=username]', SAMPLE_LOGIN.username);
  await page.fill('input[name=password]', SAMPLE_LOGIN.password);
  await Promise.all([page.waitForNavigation(), page.locator('form.login button[type=submit]').click()]);
  await page.close();
}

function hasJapaneseFont(): boolean {
  try {
    return execFileSync('fc-list', [':lang=ja'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (!hasCommand('chromium')) throw new Error('needs Chromium: apt-get install chromium');
  if (!hasJapaneseFont()) process.stderr.write('warning: no Japanese font; Japanese text will show as boxes (apt-get install fonts-noto-cjk)\n');
  const arg = process.argv.slice(2).find((a) => a !== '--');
  const dir = arg ? path.resolve(arg) : fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-screenshots-'));
  fs.mkdirSync(dir, { recursive: true });

  const [sample, browser] = await Promise.all([startSampleGateway(), chromium.launch(CHROMIUM)]);
  const files: string[] = [];
  const leftOut = new Set<string>();
  try {
    for (const width of WIDTHS) {
      // a reviewer login for this width; the sender's pages open in a context without it
      const reviewer = await browser.newContext({ viewport: { width, height: 900 }, locale: 'ja-JP' });
      const sender = await browser.newContext({ viewport: { width, height: 900 }, locale: 'ja-JP' });
      await logIn(reviewer, sample);
      for (const [i, shot] of PAGES.entries()) {
        const page = await (shot.login ? reviewer : sender).newPage();
        try {
          const status = await shot.open(page, sample);
          if (status === 404 && shot.name !== 'release-bad-link') {
            leftOut.add(shot.name);
            continue;
          }
          const file = path.join(dir, `${String(i + 1).padStart(2, '0')}-${shot.name}-${width}.png`);
          await page.screenshot({ path: file, fullPage: true });
          files.push(file);
        } finally {
          await page.close();
        }
      }
      await reviewer.close();
      await sender.close();
    }
  } finally {
    await browser.close();
    await sample.stop();
  }
  for (const name of leftOut) process.stdout.write(`left out: ${name} (404 on this version)\n`);
  process.stdout.write(`${dir}\n${files.map((f) => `  ${path.basename(f)}`).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
