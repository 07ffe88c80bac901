// The plaintext BitTorrent handshake as raw bytes, and a peer that sends only it: for tests that
// check what a listener does with a plaintext peer (a policy that requires encryption, a scripted
// peer's first words).
import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** 19, "BitTorrent protocol", no extension bits, the infohash, a random "-XX0000-" peer id. */
export function plaintextHandshake(infohash: string): Buffer {
  return Buffer.concat([
    Buffer.from([19]),
    Buffer.from('BitTorrent protocol'),
    Buffer.alloc(8),
    Buffer.from(infohash, 'hex'),
    Buffer.from('-XX0000-'),
    randomBytes(12),
  ]);
}

/** Sends a plaintext handshake to 127.0.0.1:port and resolves, once the connection closes, with how many bytes came back. */
export async function bytesAnsweredToPlaintext(port: number, infohash: string): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  let answered = 0;
  socket.on('data', (d: Buffer) => {
    answered += d.length;
  });
  socket.on('error', () => {});
  socket.write(plaintextHandshake(infohash));
  await new Promise((r) => socket.once('close', r));
  return answered;
}
