/**
 * A minimal PNG encoder and decoder for test/real/: the Chromium test makes
 * its page's image with `encodePng` and reads Chromium's `--screenshot` back
 * with `decodePng` to look at its pixels. Only what those two need: 8-bit
 * truecolour (colour type 2) and truecolour with alpha (type 6), no
 * interlace (PNG spec, ISO/IEC 15948, §11.2.2 IHDR, §9 filtering).
 * Test code at a Node edge, so node:zlib and Buffer are fine here.
 */
import { deflateSync, inflateSync } from "node:zlib";

/** PNG §5.2 signature. */
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG §11.2.2 colour types we handle. */
const COLOUR_RGB = 2;
const COLOUR_RGBA = 6;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** PNG §5.5 / ISO 3309 CRC-32 over chunk type + data. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encode RGB pixels (3 bytes each, row-major) as a PNG with filter 0 on every row. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`encodePng: ${rgb.length} bytes for ${width}x${height} RGB`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOUR_RGB;
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  return Buffer.concat([SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0))]);
}

export interface DecodedPng {
  width: number;
  height: number;
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  bpp: number;
  pixels: Uint8Array;
}

/** PNG §9.4 Paeth predictor. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decode an 8-bit RGB/RGBA non-interlaced PNG; throws with the reason on anything else or on a bad CRC. */
export function decodePng(png: Uint8Array): DecodedPng {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new Error("decodePng: no PNG signature");
  let off = 8;
  let width = 0;
  let height = 0;
  let bpp = 0;
  const idat: Buffer[] = [];
  while (off + 12 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    if (off + 12 + len > buf.length) throw new Error(`decodePng: chunk ${type} runs past the end`);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (crc32(buf.subarray(off + 4, off + 8 + len)) !== buf.readUInt32BE(off + 8 + len)) throw new Error(`decodePng: bad CRC in ${type}`);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (colour !== COLOUR_RGB && colour !== COLOUR_RGBA) || interlace !== 0) {
        throw new Error(`decodePng: unsupported depth ${depth} colour type ${colour} interlace ${interlace}`);
      }
      bpp = colour === COLOUR_RGB ? 3 : 4;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  if (!bpp) throw new Error("decodePng: no IHDR");
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new Error(`decodePng: ${raw.length} bytes of image data for ${width}x${height}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? row[x - bpp] : 0;
      const b = up[x];
      const c = x >= bpp ? up[x - bpp] : 0;
      let v: number;
      switch (filter) {
        case 0: v = src[x]; break;
        case 1: v = src[x] + a; break;
        case 2: v = src[x] + b; break;
        case 3: v = src[x] + ((a + b) >> 1); break;
        case 4: v = src[x] + paeth(a, b, c); break;
        default: throw new Error(`decodePng: filter type ${filter} on row ${y}`);
      }
      row[x] = v & 0xff;
    }
  }
  return { width, height, bpp, pixels };
}

/** How many pixels are within `tolerance` (per channel) of an RGB colour. */
export function countColour(img: DecodedPng, rgb: readonly [number, number, number], tolerance = 8): number {
  let n = 0;
  for (let i = 0; i < img.pixels.length; i += img.bpp) {
    if (Math.abs(img.pixels[i] - rgb[0]) <= tolerance && Math.abs(img.pixels[i + 1] - rgb[1]) <= tolerance && Math.abs(img.pixels[i + 2] - rgb[2]) <= tolerance) n++;
  }
  return n;
}
