import type { EnhanceError, EnhanceErrorCode } from '../../common/errors.ts';

/** An Error (so it keeps a stack inside the engine) that is also the plain `EnhanceError` shape. */
export class EngineError extends Error implements EnhanceError {
  constructor(readonly code: EnhanceErrorCode, message: string, readonly path?: string) {
    super(message);
    this.name = 'EngineError';
  }
}

export function abortedError(path?: string): EngineError {
  return new EngineError('aborted', 'stopped by request', path);
}

/**
 * Maps what Node's fs, sharp/libvips and ONNX Runtime throw to a code. `side` says whether the
 * failing path was being read or written, since EACCES means different things for each.
 */
export function classifyError(e: unknown, path: string, side: 'read' | 'write'): EngineError {
  if (e instanceof EngineError) return e;
  const errno = (e as { code?: unknown })?.code;
  // Node's text ("ENAMETOOLONG: name too long, open '…'") repeats the path and hides the reason.
  if (errno === 'ENAMETOOLONG') return new EngineError(side === 'write' ? 'output-not-writable' : 'unreadable', 'the name is longer than the file system allows (255 bytes on most)', path);
  const message = e instanceof Error ? e.message : String(e);
  const code = ((): EnhanceErrorCode => {
    if (errno === 'ENOSPC' || errno === 'EDQUOT' || /no space left|disk quota/i.test(message)) return 'disk-full';
    if (side === 'write') {
      if (typeof errno === 'string' || /permission denied|read-only file system|unable to open .* for write/i.test(message)) return 'output-not-writable';
      // libwebp gives up on very large lossy images (its first partition is capped at 512 KB).
      if (/too large for the|exceeds .* limit|maximum .* (width|height|dimension)|webpsave: unable to encode/i.test(message)) return 'unsupported';
      return 'internal';
    }
    if (errno === 'ENOENT') return 'not-found';
    if (typeof errno === 'string') return 'unreadable';
    if (/exceeds pixel limit/i.test(message)) return 'too-many-pixels';
    if (/unsupported image format/i.test(message)) return 'not-an-image';
    if (/premature end|truncated|corrupt|invalid|bad .*(header|data|marker)|not a (jpeg|png)|read error|end of (file|stream)|crc/i.test(message)) return 'corrupt-image';
    if (/^Vips|libvips|^Input/.test(message)) return 'corrupt-image';
    return 'internal';
  })();
  return new EngineError(code, message.split('\n')[0].trim() || code, path);
}
