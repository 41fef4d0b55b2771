// A minimal TIFF tag reader for tests, written from the TIFF 6.0 layout and independent of the
// engine's EXIF writer: the ASCII tags of the first IFD and of its EXIF sub-IFD.

export interface TiffTextTags {
  ifd0: Map<number, string>;
  exif: Map<number, string>;
}

export function readTiffTextTags(file: Buffer): TiffTextTags {
  const le = file.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (le ? file.readUInt16LE(at) : file.readUInt16BE(at));
  const u32 = (at: number) => (le ? file.readUInt32LE(at) : file.readUInt32BE(at));
  if (u16(2) !== 42) throw new Error('not a classic TIFF');
  const ifd = (offset: number) => {
    const text = new Map<number, string>();
    let exifAt = 0;
    for (let i = 0, n = u16(offset); i < n; i++) {
      const at = offset + 2 + 12 * i;
      const [tag, type, count] = [u16(at), u16(at + 2), u32(at + 4)];
      if (tag === 0x8769) exifAt = u32(at + 8);
      if (type === 2) {
        const start = count <= 4 ? at + 8 : u32(at + 8);
        text.set(tag, file.toString('latin1', start, start + count).replace(/\0+$/, ''));
      }
    }
    return { text, exifAt };
  };
  const first = ifd(u32(4));
  return { ifd0: first.text, exif: first.exifAt ? ifd(first.exifAt).text : new Map() };
}
