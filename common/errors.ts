// Errors that cross a boundary (engine -> CLI, main process -> renderer) as plain data, so they
// survive structured cloning and the UI can choose a message by code.
export type EnhanceErrorCode =
  /** The input path does not exist. */
  | 'not-found'
  /** The input exists but cannot be read (permissions, a folder where a file was expected, I/O error). */
  | 'unreadable'
  /** The input file has zero bytes. */
  | 'empty-file'
  /** The bytes are not an image format the decoder knows. */
  | 'not-an-image'
  /** An image format we know, but the data is truncated or damaged. */
  | 'corrupt-image'
  /** A known image the engine cannot process (animated, too many channels, output format limits). */
  | 'unsupported'
  /** More pixels than the configured limit. */
  | 'too-many-pixels'
  /** The output folder cannot be created or written. */
  | 'output-not-writable'
  | 'disk-full'
  /** The output path is an input of the same run. */
  | 'would-overwrite-input'
  /** Two inputs map to the same output path. */
  | 'output-collision'
  /** The model file is missing, unreadable, or lacks a valid descriptor. */
  | 'model-invalid'
  /** No default model is installed for the task and scale asked for. */
  | 'model-not-found'
  /** Stopped by the caller (Ctrl-C, cancel button). */
  | 'aborted'
  /** Bad arguments or options. */
  | 'usage'
  /** An API call's arguments do not fit the method's schema (type, range, unknown key). */
  | 'invalid-argument'
  /** An API call names no method of the contract. */
  | 'unknown-method'
  /** A path outside the folders and files the user chose (symlinks resolved). */
  | 'forbidden-path'
  /** A request without the session's token (browser mode). */
  | 'unauthorized'
  /** The method exists but not in this mode (e.g. native dialogs in browser mode). */
  | 'not-available'
  /** No job, model or dataset has that id. */
  | 'unknown-id'
  /** Anything else: a bug or an environment problem we did not foresee. */
  | 'internal';

export interface EnhanceError {
  code: EnhanceErrorCode;
  message: string;
  /** The file the error is about, when there is one. */
  path?: string;
}

export function isEnhanceError(value: unknown): value is EnhanceError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string';
}
