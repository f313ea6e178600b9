/**
 * test/interop/cpio.ts — a writer for the "newc" cpio format, the one Linux
 * unpacks as an initramfs (kernel Documentation/driver-api/early-userspace/
 * buffer-format.rst).
 *
 * The interop harness (qemu-guest.ts) appends one of these to the prebuilt
 * base initramfs to hand a guest its scenario: Linux unpacks concatenated
 * archives in order, so a later file replaces an earlier one of the same name.
 * Test-side helper only; nothing in the product imports it.
 */

/** One entry to write; parent directories are added for you. */
export interface CpioFile {
  /** Absolute guest path, e.g. "/etc/ppp/pap-secrets". */
  path: string;
  data: Uint8Array;
  /** Permission bits, e.g. 0o600. */
  mode: number;
}

/** newc magic; "070702" would carry a checksum we do not need. */
const MAGIC = '070701';
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const HEADER_LEN = 110;

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Rejects paths that are relative, contain "..", or are empty. */
export function checkGuestPath(p: string): string {
  if (!p.startsWith('/')) throw new Error(`guest path must be absolute: ${JSON.stringify(p)}`);
  const parts = p.split('/').filter((s) => s !== '');
  if (parts.length === 0 || parts.some((s) => s === '..' || s === '.')) {
    throw new Error(`guest path must name a file without "." or "..": ${JSON.stringify(p)}`);
  }
  return parts.join('/');
}

/**
 * Builds a newc archive holding `files` (and every parent directory of them,
 * mode 0755), ending with the TRAILER!!! entry. Paths are stored relative
 * ("etc/ppp/options"), as the kernel expects.
 */
export function buildCpio(files: readonly CpioFile[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let ino = 1;
  const enc = new TextEncoder();
  const entry = (name: string, mode: number, nlink: number, data: Uint8Array): void => {
    const nameBytes = enc.encode(name + '\0');
    const header =
      MAGIC +
      hex8(ino++) + // c_ino
      hex8(mode) + // c_mode
      hex8(0) + // c_uid
      hex8(0) + // c_gid
      hex8(nlink) + // c_nlink
      hex8(0) + // c_mtime
      hex8(data.length) + // c_filesize
      hex8(0) + hex8(0) + // c_devmajor, c_devminor
      hex8(0) + hex8(0) + // c_rdevmajor, c_rdevminor
      hex8(nameBytes.length) + // c_namesize, NUL included
      hex8(0); // c_check
    chunks.push(enc.encode(header), nameBytes, new Uint8Array(pad4(HEADER_LEN + nameBytes.length)));
    chunks.push(data, new Uint8Array(pad4(data.length)));
  };

  const dirs = new Set<string>();
  for (const f of files) {
    const rel = checkGuestPath(f.path);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entry(d, S_IFDIR | 0o755, 2, new Uint8Array(0));
      }
    }
    entry(rel, S_IFREG | (f.mode & 0o7777), 1, f.data);
  }
  entry('TRAILER!!!', 0, 1, new Uint8Array(0));

  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
