// The main window and its session, locked down: the page runs sandboxed and isolated with no Node,
// may not navigate, open windows, attach webviews or get any permission, and has a strict CSP.
// tests/electron-main.test.ts reads this file's webPreferences to guard against regressions.
import { BrowserWindow, session } from 'electron';
import type { AppPage } from './app-page.ts';

/** Once per app, before the first window: applies to everything the default session loads. */
export function secureSession(): void {
  const ses = session.defaultSession;
  // Same policy as the meta tag in the renderer's index.html; the header also covers responses
  // the meta tag cannot (and 'self' admits the dev server's HMR websocket).
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': ["default-src 'self'; img-src 'self' blob: data: enhance-file:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'"],
      },
    });
  });
  ses.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

export function createMainWindow(page: AppPage, preloadPath: string, rendererIndexPath: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 800,
    minHeight: 560,
    title: 'Enhance',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      // Middle-click would try to open a link in a new window (denied anyway, see below).
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());

  const contents = win.webContents;
  contents.on('will-navigate', (event, url) => {
    if (!page.owns(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!page.owns(url)) event.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());

  if (page.url.startsWith('file:')) void win.loadFile(rendererIndexPath);
  else void win.loadURL(page.url);
  return win;
}
