// Which page is the app's own: the built renderer's index.html (file://), or in development only
// a Vite server on localhost. IPC senders and navigations are checked against it. No `electron`
// import, so plain-Node tests can check it.
import { pathToFileURL } from 'node:url';

export interface AppPage {
  /** What the window loads. */
  url: string;
  /** True when `url` is the page itself or one of its in-page states (query, hash). */
  owns(url: string): boolean;
}

/** Only http://localhost:<port> (optionally with a path) counts as a development server. */
export function devServerUrl(value: string | undefined): URL | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && url.hostname === 'localhost' && url.port !== '' && !url.username && !url.password ? url : null;
  } catch {
    return null;
  }
}

export function appPage(rendererIndexPath: string, devServer: URL | null): AppPage {
  if (devServer) {
    return { url: devServer.href, owns: (url) => parse(url)?.origin === devServer.origin };
  }
  const index = pathToFileURL(rendererIndexPath);
  return {
    url: index.href,
    owns: (url) => {
      const u = parse(url);
      return u !== null && u.protocol === 'file:' && u.host === '' && u.pathname === index.pathname;
    },
  };
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
