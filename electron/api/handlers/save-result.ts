import { existsSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { EnhancePhotoResult } from '../../../common/jobs.ts';
import { EngineError, classifyError } from '../../engine/errors.ts';
import sharp from 'sharp';
import { resolveOutputFormat, tempPathFor } from '../../engine/enhance-image.ts';
import { decodeImage, encodeImage, flattenOnWhite } from '../../engine/image-io.ts';
import type { Handler } from '../context.ts';

/** Writes a finished Enhance-view result in the chosen format, with the original photo's metadata, atomically. */
export const saveResult: Handler<'saveResult'> = async (ctx, args) => {
  const job = ctx.jobs.list().find((j) => j.kind === 'enhance-photo' && j.status === 'done' && (j.result as EnhancePhotoResult).result === args.result);
  if (!job) throw new EngineError('unknown-id', 'no finished enhance result has that path in this session', args.result);
  const { input, result } = job.result as EnhancePhotoResult;
  const output = ctx.guard.check(args.output, 'write');
  if (output === ctx.guard.check(input, 'read')) throw new EngineError('would-overwrite-input', 'saving over the original photo is not allowed; choose another name', args.output);
  if (existsSync(output) && !args.overwrite) throw new EngineError('output-collision', 'a file with that name exists; choose another name or confirm overwriting', args.output);
  const image = await decodeImage(result, 0);
  const meta = await sharp(input).metadata().catch((e) => {
    throw classifyError(e, input, 'read');
  });
  // As decodeImage decides: RGB photos keep their own profile, other spaces were converted to sRGB.
  const source = { format: meta.format, keepIcc: meta.icc !== undefined && (meta.space === 'srgb' || meta.space === 'rgb16') };
  const format = resolveOutputFormat(args.format, source.format);
  const pixels = format === 'jpeg' && image.channels === 4 ? flattenOnWhite(image) : image;
  const temp = tempPathFor(output);
  try {
    await encodeImage(pixels, { path: input, keepIcc: source.keepIcc }, temp, { format, quality: args.quality });
    const fh = await open(temp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, output);
  } catch (e) {
    await rm(temp, { force: true });
    throw classifyError(e, output, 'write');
  }
  return { path: output, bytes: (await stat(output)).size };
};
