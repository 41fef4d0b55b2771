import type { Api, ApiEventName, ApiEvents } from './api.ts';

/**
 * What the Electron preload exposes as `window.enhance` (contextBridge): exactly the API's
 * methods, plus events and the two things only the preload can do.
 */
export interface EnhanceBridge extends Api {
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** A URL the page can show for a path the user chose (the `enhance-file:` protocol checks it again). */
  fileUrl(path: string): string;
  /**
   * The path of a file dropped on (or picked in) the page, registered as chosen in the main
   * process; only real File objects from a drop have one, so a page cannot name arbitrary paths.
   */
  choosePathOfFile(file: Blob): Promise<string>;
}

/** The custom protocol Electron serves chosen files through: `enhance-file://file/?path=<encoded>`. */
export const fileProtocol = 'enhance-file';
