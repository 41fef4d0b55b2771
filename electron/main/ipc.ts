// The IPC table: one `api:<method>` handler per method of the contract, each answering
// dispatch()'s ApiReply, plus job events and the registration of dropped files.
import { type BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { apiMethodNames, type ApiReply } from '../../common/api.ts';
import type { EnhanceError } from '../../common/errors.ts';
import type { ApiContext } from '../api/context.ts';
import { dispatch } from '../api/dispatch.ts';
import type { AppPage } from './app-page.ts';
import { apiChannel, choosePathChannel, type ChoosePathReply, eventChannel } from './channels.ts';

const unauthorized: EnhanceError = { code: 'unauthorized', message: 'only the app\'s own page may call the app' };

/** Only the app's own top-level page may call: not an iframe, not a page it was navigated to. */
function fromAppPage(event: IpcMainInvokeEvent, page: AppPage): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && page.owns(frame.url);
}

export function registerIpc(ctx: ApiContext, page: AppPage, window: () => BrowserWindow | undefined): void {
  for (const name of apiMethodNames) {
    ipcMain.handle(apiChannel(name), async (event, args: unknown): Promise<ApiReply<typeof name>> => {
      if (!fromAppPage(event, page)) return { ok: false, error: unauthorized };
      return dispatch(ctx, name, args);
    });
  }

  ipcMain.handle(choosePathChannel, async (event, path: unknown): Promise<ChoosePathReply> => {
    if (!fromAppPage(event, page)) return { ok: false, error: unauthorized };
    if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0')) {
      return { ok: false, error: { code: 'invalid-argument', message: 'a dropped file must have an absolute path' } };
    }
    try {
      const stats = await stat(path);
      // A dropped folder is a place to work in, like one picked in the folder dialog.
      const real = stats.isDirectory() ? ctx.guard.allowFolder(path, ['read', 'write']) : ctx.guard.allowFile(path, ['read']);
      return { ok: true, value: real };
    } catch {
      return { ok: false, error: { code: 'not-found', message: `${path} does not exist (any more)`, path } };
    }
  });

  ctx.jobs.onEvent((e) => window()?.webContents.send(eventChannel('job'), e));
}
