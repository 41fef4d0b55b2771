// libvips writes no EXIF into TIFF files and reads none from them (it carries XMP, IPTC and ICC
// there), so a TIFF output would lose the camera, date, exposure and GPS of the photo. This reads
// the EXIF tags of an original (an EXIF block, or a TIFF file's own tags) and appends them to a
// TIFF that libvips wrote: new sub-IFDs and a new first IFD at the end, the old IFD left unused.
import { open } from 'node:fs/promises';
import type { FsPath } from './image-io.ts';

/** One IFD entry; `value` holds its bytes in the byte order of the file it came from. */
interface Entry {
  tag: number;
  type: number;
  count: number;
  value: Buffer;
}

/** The EXIF tags worth carrying: IFD0's descriptive ones and the EXIF, GPS and interoperability IFDs. */
export interface ExifTags {
  littleEndian: boolean;
  ifd0: Entry[];
  exif: Entry[];
  gps: Entry[];
  interop: Entry[];
}

/** Bytes per element of each field type, which is also the unit a byte-order swap reverses (rationals are two). */
const typeUnit: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 1, 7: 1, 8: 2, 9: 4, 10: 4, 11: 4, 12: 8, 13: 4 };
const byteLength = (type: number, count: number) => typeUnit[type] * count * (type === 5 || type === 10 ? 2 : 1);

const exifIfdTag = 0x8769;
const gpsIfdTag = 0x8825;
const interopIfdTag = 0xa005;
/** IFD0 tags that describe the photo rather than the pixels of this file: description, make, model, software, date, artist, host, copyright. */
const descriptiveTags = new Set([0x010e, 0x010f, 0x0110, 0x0131, 0x0132, 0x013b, 0x013c, 0x8298]);
/** The original's pixel dimensions, wrong for an upscaled output. */
const dimensionTags = new Set([0xa002, 0xa003]);

type Reader = (offset: number, length: number) => Promise<Buffer>;

const u16 = (b: Buffer, at: number, le: boolean) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
const u32 = (b: Buffer, at: number, le: boolean) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));

async function readIfd(read: Reader, le: boolean, offset: number): Promise<Entry[]> {
  const head = await read(offset, 2);
  if (head.length < 2) return [];
  const n = u16(head, 0, le);
  const body = await read(offset + 2, n * 12);
  if (body.length < n * 12) return [];
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * 12;
    const type = u16(body, at + 2, le);
    const count = u32(body, at + 4, le);
    if (!typeUnit[type]) continue;
    const length = byteLength(type, count);
    if (length > 1 << 24) continue;
    const value = length <= 4 ? body.subarray(at + 8, at + 8 + length) : await read(u32(body, at + 8, le), length);
    if (value.length === length) entries.push({ tag: u16(body, at, le), type, count, value });
  }
  return entries;
}

/** Parses the tags of a TIFF structure; anything malformed yields no tags rather than an error. */
async function readTags(read: Reader): Promise<ExifTags | undefined> {
  const header = await read(0, 8);
  if (header.length < 8) return undefined;
  const order = header.toString('latin1', 0, 2);
  const le = order === 'II';
  if ((!le && order !== 'MM') || u16(header, 2, le) !== 42) return undefined;
  const ifd0 = await readIfd(read, le, u32(header, 4, le));
  const sub = (entries: Entry[], tag: number) => {
    const e = entries.find((x) => x.tag === tag && x.count === 1 && (x.type === 4 || x.type === 13));
    return e ? readIfd(read, le, u32(e.value, 0, le)) : Promise.resolve([]);
  };
  const exif = await sub(ifd0, exifIfdTag);
  return {
    littleEndian: le,
    ifd0: ifd0.filter((e) => descriptiveTags.has(e.tag)),
    exif: exif.filter((e) => e.tag !== interopIfdTag && !dimensionTags.has(e.tag)),
    gps: await sub(ifd0, gpsIfdTag),
    interop: await sub(exif, interopIfdTag),
  };
}

/** The tags of an EXIF block as sharp reports it (a TIFF structure, after "Exif\0\0"). */
export function exifTagsOfBlock(block: Buffer | undefined): Promise<ExifTags | undefined> {
  if (!block) return Promise.resolve(undefined);
  const tiff = block.toString('latin1', 0, 6) === 'Exif\0\0' ? block.subarray(6) : block;
  return readTags(async (offset, length) => tiff.subarray(offset, offset + length));
}

/** The EXIF tags of a TIFF original: its file or its bytes. */
export async function exifTagsOfTiff(input: string | Buffer): Promise<ExifTags | undefined> {
  if (typeof input !== 'string') return exifTagsOfBlock(input);
  const fh = await open(input, 'r');
  try {
    return await readTags(async (offset, length) => {
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      return b.subarray(0, bytesRead);
    });
  } finally {
    await fh.close();
  }
}

/** An entry with its value in the output's byte order. */
function reordered(e: Entry, fromLe: boolean, toLe: boolean): Entry {
  const unit = typeUnit[e.type];
  if (fromLe === toLe || unit === 1) return e;
  const value = Buffer.from(e.value);
  for (let at = 0; at < value.length; at += unit) value.subarray(at, at + unit).reverse();
  return { ...e, value };
}

function pointer(tag: number, offset: number, le: boolean): Entry {
  const value = Buffer.alloc(4);
  if (le) value.writeUInt32LE(offset);
  else value.writeUInt32BE(offset);
  return { tag, type: 4, count: 1, value };
}

/**
 * One IFD laid out at file offset `base`: count, entries sorted by tag, next-IFD offset, then the
 * values longer than 4 bytes. `raw` are 12-byte entries already in place (the output's own).
 */
function layOut(entries: Entry[], raw: { tag: number; bytes: Buffer }[], base: number, next: number, le: boolean): Buffer {
  const all = [...raw.map((r) => ({ tag: r.tag, raw: r.bytes })), ...entries.map((e) => ({ tag: e.tag, entry: e }))].sort((a, b) => a.tag - b.tag);
  const head = Buffer.alloc(2 + all.length * 12 + 4);
  const values: Buffer[] = [];
  let valueAt = base + head.length;
  const w16 = (v: number, at: number) => (le ? head.writeUInt16LE(v, at) : head.writeUInt16BE(v, at));
  const w32 = (v: number, at: number) => (le ? head.writeUInt32LE(v, at) : head.writeUInt32BE(v, at));
  w16(all.length, 0);
  all.forEach((x, i) => {
    const at = 2 + i * 12;
    if ('raw' in x && x.raw) {
      x.raw.copy(head, at);
      return;
    }
    const e = (x as { entry: Entry }).entry;
    w16(e.tag, at);
    w16(e.type, at + 2);
    w32(e.count, at + 4);
    if (e.value.length <= 4) {
      e.value.copy(head, at + 8);
    } else {
      w32(valueAt, at + 8);
      // Offsets must fall on a word boundary.
      const padded = e.value.length % 2 ? Buffer.concat([e.value, Buffer.alloc(1)]) : e.value;
      values.push(padded);
      valueAt += padded.length;
    }
  });
  w32(next, 2 + all.length * 12);
  return Buffer.concat([head, ...values]);
}

/** Appends `tags` to the TIFF at `path`, which libvips wrote, and points its header at the new first IFD. */
export async function copyExifIntoTiff(path: FsPath, tags: ExifTags | undefined): Promise<void> {
  if (!tags || tags.ifd0.length + tags.exif.length + tags.gps.length === 0) return;
  const fh = await open(path, 'r+');
  try {
    const read = async (offset: number, length: number) => {
      const b = Buffer.alloc(length);
      await fh.read(b, 0, length, offset);
      return b;
    };
    const header = await read(0, 8);
    const le = header.toString('latin1', 0, 2) === 'II';
    // BigTIFF (43) outputs are beyond this writer; they keep their pixels and lose the EXIF, as before.
    if (u16(header, 2, le) !== 42) return;
    const ifd0At = u32(header, 4, le);
    const n = u16(await read(ifd0At, 2), 0, le);
    const body = await read(ifd0At + 2, n * 12 + 4);
    const own = Array.from({ length: n }, (_, i) => ({ tag: u16(body, i * 12, le), bytes: body.subarray(i * 12, i * 12 + 12) }));
    const next = u32(body, n * 12, le);
    const ownTags = new Set(own.map((r) => r.tag));
    const out = (list: Entry[]) => list.map((e) => reordered(e, tags.littleEndian, le));

    const size = (await fh.stat()).size;
    let at = size + (size % 2);
    const chunks: Buffer[] = [Buffer.alloc(at - size)];
    const place = (entries: Entry[], raw: { tag: number; bytes: Buffer }[] = [], nextIfd = 0): number => {
      const b = layOut(entries, raw, at, nextIfd, le);
      const offset = at;
      chunks.push(b);
      at += b.length;
      return offset;
    };
    const interopAt = tags.interop.length ? place(out(tags.interop)) : 0;
    const exifEntries = [...out(tags.exif), ...(interopAt ? [pointer(interopIfdTag, interopAt, le)] : [])];
    const exifAt = exifEntries.length ? place(exifEntries) : 0;
    const gpsAt = tags.gps.length ? place(out(tags.gps)) : 0;
    const added = out(tags.ifd0).filter((e) => !ownTags.has(e.tag));
    if (exifAt) added.push(pointer(exifIfdTag, exifAt, le));
    if (gpsAt) added.push(pointer(gpsIfdTag, gpsAt, le));
    const newIfd0At = place(added, own.filter((r) => r.tag !== exifIfdTag && r.tag !== gpsIfdTag), next);
    await fh.write(Buffer.concat(chunks), 0, undefined, size);
    const offset = Buffer.alloc(4);
    if (le) offset.writeUInt32LE(newIfd0At);
    else offset.writeUInt32BE(newIfd0At);
    await fh.write(offset, 0, 4, 4);
  } finally {
    await fh.close();
  }
}
