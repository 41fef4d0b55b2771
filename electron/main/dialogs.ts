// Native open/save dialogs: the user's pick is the permission. Every returned path is registered
// in the path guard, with only the access its kind needs, before the renderer sees it.
import { app, type BrowserWindow, dialog, type OpenDialogOptions } from 'electron';
import { basename, join } from 'node:path';
import type { ApiContext } from '../api/context.ts';
import type { PathGuard } from '../services/path-guard.ts';

type PickKind = Parameters<NonNullable<ApiContext['dialogs']>['pick']>[0];

const photoExtensions = ['jpg', 'jpeg', 'jpe', 'jfif', 'png', 'webp', 'avif', 'tif', 'tiff', 'gif'];

const openOptions: Record<Exclude<PickKind, 'save'>, OpenDialogOptions> = {
  photo: { title: 'Open photos', properties: ['openFile', 'multiSelections'], filters: [{ name: 'Photos', extensions: photoExtensions }] },
  folder: { title: 'Choose a folder', properties: ['openDirectory', 'createDirectory'] },
  model: { title: 'Import a model', properties: ['openFile'], filters: [{ name: 'ONNX models', extensions: ['onnx'] }] },
};

/** `guard` is a function because the dialogs are handed to createApiContext, which makes the guard. */
export function nativeDialogs(guard: () => PathGuard, parent: () => BrowserWindow | undefined): NonNullable<ApiContext['dialogs']> {
  return {
    async pick(kind, defaultName) {
      const window = parent();
      if (kind === 'save') {
        const options = { title: 'Save as', defaultPath: join(app.getPath('pictures'), basename(defaultName ?? 'enhanced.png')) };
        const { canceled, filePath } = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
        return canceled || !filePath ? [] : [guard().allowFile(filePath, ['write'])];
      }
      const options = openOptions[kind];
      const { canceled, filePaths } = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      if (canceled) return [];
      return filePaths.map((p) => kind === 'folder' ? guard().allowFolder(p, ['read', 'write']) : guard().allowFile(p, ['read']));
    },
  };
}
