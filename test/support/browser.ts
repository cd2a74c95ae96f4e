import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { expect } from 'vitest';

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Debian's headless Chromium, quiet: no network of its own, no GPU, no sandbox (root in CI). */
export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

/** CHROMIUM with a fresh profile. */
export async function launchChromium(options: { acceptDownloads?: boolean } = {}): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { ...CHROMIUM, ...options });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** How wide the page is against its viewport, and the first elements that reach past its right edge. */
export async function pageWidth(page: Page): Promise<{ scrollWidth: number; innerWidth: number; overflowing: string[] }> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: any; innerWidth: number }).document;
    const innerWidth = (globalThis as unknown as { innerWidth: number }).innerWidth;
    const describe = (el: any) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
    const overflowing: string[] = [];
    for (const el of doc.body.querySelectorAll('*')) {
      if (el.getBoundingClientRect().right > innerWidth + 0.5) overflowing.push(`${describe(el)} (${Math.round(el.getBoundingClientRect().right)} px)`);
      if (overflowing.length === 5) break;
    }
    return { scrollWidth: doc.documentElement.scrollWidth, innerWidth, overflowing };
  });
}

/**
 * Asserts that the page, at a viewport `width` px wide, needs no horizontal scrolling: its scroll
 * width fits the viewport. A failure names the page and the first elements that stick out.
 */
export async function expectFitsWidth(page: Page, width: number): Promise<void> {
  await page.setViewportSize({ width, height: page.viewportSize()?.height ?? 900 });
  const w = await pageWidth(page);
  expect(w.innerWidth).toBe(width);
  const where = new URL(page.url()).pathname.replace(/^\/hold\/[^/]+/, '/hold/<token>');
  expect(w.scrollWidth, `${where} is ${w.scrollWidth} px wide at ${width} px; too wide: ${w.overflowing.join(', ')}`).toBeLessThanOrEqual(width);
}
