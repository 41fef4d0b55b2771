// The page's only door to the main process. Sandboxed preloads cannot load ES modules or
// node_modules, so electron/build.ts bundles this (with common/api-method-names.ts) into out/main/preload.cjs,
// whose only require is 'electron'; it imports the method names only, so zod stays out of it.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { Api, ApiEventName, ApiEvents, ApiMethodName, ApiReply } from '../../common/api.ts';
import { apiMethodNames } from '../../common/api-method-names.ts';
import { type EnhanceBridge, fileProtocol } from '../../common/bridge.ts';
import type { EnhanceError } from '../../common/errors.ts';
import { apiChannel, choosePathChannel, type ChoosePathReply, eventChannel } from './channels.ts';

/** Unwraps a reply; the error is thrown as the plain `EnhanceError` object, which keeps its code across contextBridge (an Error would not). */
function unwrap<T>(reply: { ok: true; value: T } | { ok: false; error: EnhanceError }): T {
  if (reply.ok) return reply.value;
  throw reply.error;
}

const api = Object.fromEntries(apiMethodNames.map((name) => [
  name,
  async (args: unknown) => unwrap((await ipcRenderer.invoke(apiChannel(name), args)) as ApiReply<ApiMethodName>),
])) as unknown as Api;

const bridge: EnhanceBridge = {
  ...api,
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
    const channel = eventChannel(event);
    // The page gets the payload only: the IpcRendererEvent would hand it `sender`, i.e. ipcRenderer.
    const forward = (_event: IpcRendererEvent, payload: ApiEvents[E]) => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => {
      ipcRenderer.removeListener(channel, forward);
    };
  },
  fileUrl: (path) => `${fileProtocol}://file/?path=${encodeURIComponent(path)}`,
  async choosePathOfFile(file) {
    let path = '';
    try {
      path = webUtils.getPathForFile(file as File);
    } catch {
      // A Blob made by the page (not a File) has no path either.
    }
    if (!path) {
      const error: EnhanceError = { code: 'invalid-argument', message: 'this file has no path on disk: drop it from the file manager or pick it with Open' };
      throw error;
    }
    return unwrap((await ipcRenderer.invoke(choosePathChannel, path)) as ChoosePathReply);
  },
};

contextBridge.exposeInMainWorld('enhance', bridge);
