// The app as the e2e tests drive it: `enhance serve` on a free port with the test's context, and a
// headless Chromium page at 1280×800 signed in to it, every error the page logs collected.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { ApiContext } from '../../electron/api/context.ts';
import { type RunningServer, startServer } from '../../electron/serve/server.ts';
import { ensureRendererBuilt, rendererOutDir, repoRoot } from './e2e-build.ts';
import { byTestId } from './e2e-page.ts';

const screenshots = process.env.ENHANCE_SCREENSHOTS === '1';
const screenshotDir = join(repoRoot, 'docs', 'screenshots');

export interface AppSession {
  server: RunningServer;
  page: Page;
  /** Fails with the page's uncaught exceptions and console errors, if it logged any. */
  assertNoPageErrors(): void;
  /** With ENHANCE_SCREENSHOTS=1, saves the page as docs/screenshots/<name>.png. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Serves the renderer (built first when stale) and opens it; resolves once the app says it is in browser mode. */
export async function openApp(ctx: ApiContext): Promise<AppSession> {
  ensureRendererBuilt();
  const server = await startServer({ ctx, port: 0, rendererDir: rendererOutDir });
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await server.close();
  };
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(60_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()} (${m.location().url})`);
    });
    await page.goto(server.url);
    await byTestId(page, 'app-info').filter({ hasText: 'browser' }).waitFor();
    return {
      server,
      page,
      assertNoPageErrors: () => assert.deepEqual(pageErrors, [], 'the page logged errors'),
      async shot(name) {
        if (!screenshots) return;
        mkdirSync(screenshotDir, { recursive: true });
        await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
      },
      close,
    };
  } catch (e) {
    // The test's after() has no session to close.
    await close();
    throw e;
  }
}
