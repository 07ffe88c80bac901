/**
 * RC4, the stream cipher of BitTorrent's Message Stream Encryption (MSE/PE).
 *
 * Written here because Node's OpenSSL 3 no longer ships RC4 in its default provider
 * (`crypto.getCiphers()` lists no rc4 on Node 20, and enabling the legacy provider is a process-wide
 * flag a library cannot set). RC4 is broken as a cipher; MSE uses it for obfuscation against traffic
 * shaping, not for secrecy, and peers that require it exist. The whole algorithm is the 256-byte
 * permutation below.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  /** MSE discards the first 1024 bytes of keystream (weak first bytes), hence `discard`. */
  constructor(key: Uint8Array, discard = 0) {
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      j = (j + s[k]! + key[k % key.length]!) & 0xff;
      const t = s[k]!;
      s[k] = s[j]!;
      s[j] = t;
    }
    if (discard > 0) this.updateInPlace(new Uint8Array(discard));
  }

  /** XORs the keystream into `data` itself (for buffers we own, such as a socket's read buffer). */
  updateInPlace<T extends Uint8Array>(data: T): T {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < data.length; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      data[k] = data[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return data;
  }

  /** A new buffer: `data` may be shared (a cached piece a PIECE message points into). */
  update(data: Uint8Array): Buffer {
    return this.updateInPlace(Buffer.from(data));
  }
}
