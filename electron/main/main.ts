// The Electron main process: one instance, one window, the API served over IPC, jobs stopped on
// quit. Bundled by electron/build.ts into out/main/main.js, so paths come from app.getAppPath()
// (the folder or app.asar holding package.json), never from this file's own URL.
import { app, BrowserWindow } from 'electron';
import { join } from 'node:path';
import type { ApiContext } from '../api/context.ts';
import { createApiContext } from '../api/create-context.ts';
import { appPage, devServerUrl } from './app-page.ts';
import { nativeDialogs } from './dialogs.ts';
import { handleFileProtocol, registerFileScheme } from './file-protocol.ts';
import { registerIpc } from './ipc.ts';
import { createMainWindow, secureSession } from './window.ts';

const appPath = app.getAppPath();
const rendererIndexPath = join(appPath, 'out', 'renderer', 'index.html');
const preloadPath = join(appPath, 'out', 'main', 'preload.cjs');
// Packaged, the shipped models are extraResources beside app.asar (see electron-builder.yml).
const modelsDir = app.isPackaged ? join(process.resourcesPath, 'models') : join(appPath, 'resources', 'models');
// A Vite dev server is used only when running from sources, and only on localhost.
const page = appPage(rendererIndexPath, app.isPackaged ? null : devServerUrl(process.env.ELECTRON_RENDERER_URL));

let mainWindow: BrowserWindow | undefined;

function openWindow(): void {
  mainWindow = createMainWindow(page, preloadPath, rendererIndexPath);
  mainWindow.on('closed', () => {
    mainWindow = undefined;
  });
}

registerFileScheme();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  void app.whenReady().then(() => {
    const ctx: ApiContext = createApiContext({
      mode: 'electron',
      dataDir: app.getPath('userData'),
      modelsDir,
      dialogs: nativeDialogs(() => ctx.guard, () => mainWindow),
    });
    secureSession();
    handleFileProtocol(ctx.guard);
    registerIpc(ctx, page, () => mainWindow);
    openWindow();

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow();
    });

    // Workers hold ONNX sessions and half-written outputs: trainings pause (checkpointed at the
    // current batch, so a reopened app resumes mid-epoch), everything else is cancelled; then quit.
    let jobsStopped = false;
    app.on('before-quit', (event) => {
      if (jobsStopped) return;
      event.preventDefault();
      const training = ctx.jobs.list().filter((j) => j.kind === 'train' && j.status === 'running' && ctx.runs.pause(j.jobId));
      void Promise.all(training.map((j) => ctx.jobs.wait(j.jobId))).then(() => ctx.jobs.dispose()).finally(() => {
        jobsStopped = true;
        app.quit();
      });
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
