import type { AppInfo } from '../../common/api.ts';
import type { EnhanceError } from '../../common/errors.ts';
import { api, toEnhanceError } from './api.ts';

export const app: { info?: AppInfo; error?: EnhanceError } = $state({});

export async function loadAppInfo(): Promise<void> {
  try {
    app.info = await api.appInfo({});
  } catch (e) {
    app.error = toEnhanceError(e);
  }
}

/** Browser mode: a folder to save into by default, the input's own unless it is an upload (read-only). */
export function defaultSaveFolder(chosenPath: string, inputDir: string): string | undefined {
  const info = app.info;
  if (!info) return undefined;
  if (info.uploadsDir && chosenPath.startsWith(info.uploadsDir)) return info.roots[0];
  return inputDir;
}
