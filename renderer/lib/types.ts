import type { outputFormats } from '../../common/api.ts';
import type { Task } from '../../common/model-descriptor.ts';

export type OutputFormat = (typeof outputFormats)[number];
export type { Task };

export const outputFormatList: readonly OutputFormat[] = ['same', 'png', 'jpeg', 'webp', 'avif', 'tiff'];
export const tasks: readonly { id: Task; label: string }[] = [
  { id: 'upscale', label: 'Upscale' },
  { id: 'decrappify', label: 'Decrappify' },
  { id: 'colorize', label: 'Colorize' },
];
/** Formats whose encoder takes a quality. */
export const lossyFormats: readonly OutputFormat[] = ['same', 'jpeg', 'webp', 'avif'];
/** What an in-page browser or a native dialog is asked to pick. */
export type BrowseKind = 'photo' | 'folder' | 'model';
