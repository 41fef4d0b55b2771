// Reads class-labelled image datasets laid out on disk (Tiny ImageNet, or one folder per class).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isImageFileName, listFiles } from './import-images.ts';

export interface ClassInfo {
  /** Folder name / WordNet id, e.g. "n01440764". */
  id: string;
  name: string;
}

export interface LabelledImage {
  path: string;
  /** Index into LabelledDataset.classes. */
  label: number;
}

export interface LabelledDataset {
  layout: 'tiny-imagenet' | 'split-folders' | 'class-folders';
  /** Sorted by id, as torchvision's ImageFolder does, so a label means the same class in every layout. */
  classes: ClassInfo[];
  train: LabelledImage[];
  val: LabelledImage[];
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function readTextIfExists(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
}

/** "id<TAB or spaces>name" per line; the name may contain spaces. */
function parseIdNameLines(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of lines(text)) {
    const match = /^(\S+)\s+(.+)$/.exec(line);
    if (match) names.set(match[1], match[2].trim());
  }
  return names;
}

/** classes.txt names as written; words.txt lists synonyms ("tench, Tinca tinca"), of which the first is kept. */
async function readClassNames(rootDir: string): Promise<Map<string, string>> {
  const classesTxt = await readTextIfExists(join(rootDir, 'classes.txt'));
  if (classesTxt !== undefined) return parseIdNameLines(classesTxt);
  const wordsTxt = await readTextIfExists(join(rootDir, 'words.txt'));
  if (wordsTxt === undefined) return new Map();
  const names = parseIdNameLines(wordsTxt);
  for (const [id, synonyms] of names) names.set(id, synonyms.split(',')[0].trim());
  return names;
}

async function subdirectoryNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name);
}

/** Image files under dir, recursively, in stable order; sidecars such as Tiny ImageNet's *_boxes.txt are left out. */
async function imageFilesUnder(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter(isImageFileName);
}

function makeClasses(ids: Iterable<string>, names: Map<string, string>): ClassInfo[] {
  return [...new Set(ids)].sort().map((id) => ({ id, name: names.get(id) ?? id }));
}

async function labelFolders(
  splitDir: string,
  classIds: readonly string[],
  labelOf: Map<string, number>,
): Promise<LabelledImage[]> {
  const images: LabelledImage[] = [];
  for (const id of classIds) {
    const classDir = join(splitDir, id);
    if (!(await isDirectory(classDir))) continue;
    for (const path of await imageFilesUnder(classDir)) images.push({ path, label: labelOf.get(id)! });
  }
  return images;
}

async function readTinyImageNet(rootDir: string, names: Map<string, string>): Promise<LabelledDataset> {
  const classes = makeClasses(lines(await readFile(join(rootDir, 'wnids.txt'), 'utf8')), names);
  const labelOf = new Map(classes.map((c, i) => [c.id, i]));
  const train: LabelledImage[] = [];
  for (const { id } of classes) {
    const imagesDir = join(rootDir, 'train', id, 'images');
    if (!(await isDirectory(imagesDir))) throw new Error(`Tiny ImageNet layout: ${imagesDir} is missing`);
    for (const path of await imageFilesUnder(imagesDir)) train.push({ path, label: labelOf.get(id)! });
  }
  const val: LabelledImage[] = [];
  const annotationsPath = join(rootDir, 'val', 'val_annotations.txt');
  const annotations = await readTextIfExists(annotationsPath);
  for (const line of lines(annotations ?? '')) {
    // file, wnid, then the bounding box, which an image-level label does not need. Tabs are the
    // format; splitting on them first keeps file names with spaces intact.
    const [file, id] = line.includes('\t') ? line.split('\t') : line.split(/\s+/);
    const label = labelOf.get(id);
    if (label === undefined) throw new Error(`${annotationsPath}: "${id}" (for ${file}) is not in wnids.txt`);
    val.push({ path: join(rootDir, 'val', 'images', file), label });
  }
  return { layout: 'tiny-imagenet', classes, train, val };
}

/**
 * Detects and reads, in this order:
 * - Tiny ImageNet: wnids.txt, train/<wnid>/images/*, val/images/* with val/val_annotations.txt;
 * - split folders: train/<class>/* and optionally val/<class>/*;
 * - class folders: <class>/* (everything is train).
 * Class names come from classes.txt ("id name" lines) or words.txt (first synonym), else the id.
 */
export async function readLabelledDataset(rootDir: string): Promise<LabelledDataset> {
  const names = await readClassNames(rootDir);
  const trainDir = join(rootDir, 'train');
  const hasTrainDir = await isDirectory(trainDir);
  if (hasTrainDir && (await readTextIfExists(join(rootDir, 'wnids.txt'))) !== undefined) {
    return readTinyImageNet(rootDir, names);
  }
  if (hasTrainDir) {
    const valDir = join(rootDir, 'val');
    const hasValDir = await isDirectory(valDir);
    const classes = makeClasses(
      [...(await subdirectoryNames(trainDir)), ...(hasValDir ? await subdirectoryNames(valDir) : [])],
      names,
    );
    const ids = classes.map((c) => c.id);
    const labelOf = new Map(ids.map((id, i) => [id, i]));
    return {
      layout: 'split-folders',
      classes,
      train: await labelFolders(trainDir, ids, labelOf),
      val: hasValDir ? await labelFolders(valDir, ids, labelOf) : [],
    };
  }
  const classes = makeClasses(await subdirectoryNames(rootDir), names);
  const ids = classes.map((c) => c.id);
  return {
    layout: 'class-folders',
    classes,
    train: await labelFolders(rootDir, ids, new Map(ids.map((id, i) => [id, i]))),
    val: [],
  };
}
