// What the guarded-wire tests share: our peer id, a raw peer's handshake, and waiting for a violation.
import { randomBytes } from 'node:crypto';
import type { GuardedWire } from '../src/wire/guarded-wire.js';

export const OUR_ID = Buffer.concat([Buffer.from('-DR0100-'), randomBytes(12)]).toString('hex');

/** A BitTorrent handshake for `infohash` (extension protocol bit; the BEP 52 v2 bit on request). */
export function handshakeBytes(infohash: string, opts: { v2Bit?: boolean } = {}): Buffer {
  const reserved = Buffer.alloc(8);
  reserved[5] = 0x10;
  if (opts.v2Bit) reserved[7] = 0x10;
  return Buffer.concat([
    Buffer.from([19]),
    Buffer.from('BitTorrent protocol'),
    reserved,
    Buffer.from(infohash, 'hex'),
    Buffer.concat([Buffer.from('-XX0000-'), randomBytes(12)]),
  ]);
}

/** The reason the wire was ended for, once it is. */
export function violation(wire: GuardedWire): Promise<string> {
  return new Promise((r) => {
    if (wire.violation) r(wire.violation);
    else wire.once('violation', (reason: string) => r(reason));
  });
}
