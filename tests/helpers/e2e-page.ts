// Steps the e2e test repeats on the page, by data-testid.
import type { Locator, Page } from 'playwright-core';

export const byTestId = (page: Page | Locator, id: string): Locator => page.locator(`[data-testid="${id}"]`);

/** Waits until the in-page browser has listed a folder for which `accept(dir)` holds ("" is the roots). */
function dialogSettled(page: Page, accept: string, mode: 'is-not' | 'ends-with'): Promise<unknown> {
  return page.waitForFunction(([m, arg]) => {
    const d = document.querySelector('[data-testid="browser-dialog"]');
    const dir = d?.getAttribute('data-dir');
    return d?.getAttribute('aria-busy') === 'false' && dir != null && (m === 'is-not' ? dir !== arg : dir.endsWith(arg));
  }, [mode, accept] as const);
}

/**
 * Walks the in-page browser (browser mode's stand-in for native dialogs): from the roots into
 * `folders`, then picks the file named `file`, or chooses the folder reached when there is none.
 */
export async function browseTo(page: Page, root: string, folders: string[], file?: string): Promise<void> {
  const dialog = byTestId(page, 'browser-dialog');
  await dialogSettled(page, '', 'ends-with');
  // It opens where the last choice was; Up leads back to the roots (data-dir "").
  for (let dir = await dialog.getAttribute('data-dir'); dir !== ''; dir = await dialog.getAttribute('data-dir')) {
    await byTestId(dialog, 'browser-up').click();
    await dialogSettled(page, dir!, 'is-not');
  }
  for (const name of [root, ...folders]) {
    await dialog.locator(`[data-testid="browser-entry"][data-name="${name}"]`).click();
    await dialogSettled(page, name, 'ends-with');
  }
  if (file) await dialog.locator(`[data-testid="browser-entry"][data-name="${file}"]`).click();
  else await byTestId(dialog, 'browser-choose-folder').click();
  await dialog.waitFor({ state: 'detached' });
}

/** Waits until the <img> has decoded and returns its natural size. */
export async function loadedImageSize(img: Locator): Promise<{ width: number; height: number; src: string }> {
  await img.waitFor();
  await img.evaluate((el: HTMLImageElement) => {
    if (el.complete && el.naturalWidth > 0) return undefined;
    if (el.complete) throw new Error(`image failed to load: ${el.src}`);
    return new Promise<void>((resolve, reject) => {
      el.addEventListener('load', () => resolve(), { once: true });
      el.addEventListener('error', () => reject(new Error(`image failed to load: ${el.src}`)), { once: true });
    });
  });
  return img.evaluate((el: HTMLImageElement) => ({ width: el.naturalWidth, height: el.naturalHeight, src: el.src }));
}

export const computedTransform = (img: Locator): Promise<string> => img.evaluate((el) => getComputedStyle(el).transform);

export const sliderValue = (page: Page): Promise<number> => byTestId(page, 'compare-slider').evaluate((el) => Number((el as HTMLElement & { value: number }).value));

/** The scale of a `matrix(a, b, c, d, e, f)` transform. */
export function matrixScale(transform: string): number {
  const m = /^matrix\(([^,]+),/.exec(transform);
  if (!m) throw new Error(`not a 2D matrix: ${transform}`);
  return Number(m[1]);
}
