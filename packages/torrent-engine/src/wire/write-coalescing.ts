/**
 * The wire's outgoing messages to its socket, coalesced: everything the wire emits in one turn of
 * the event loop goes out in one writev.
 *
 * Why not `wire.pipe(socket)`: bittorrent-protocol pushes every message as its own chunk (a PIECE
 * as two, header and block), and a pipe writes each chunk with its own socket.write. With Nagle off
 * (setNoDelay, for latency) each is a syscall and a TCP segment: a plan that asks a peer for 64
 * blocks made 64 writes of 17 bytes. Downloading 197 MiB from one loopback seeder that was 12,600
 * writes and ~200 ms of the daemon's CPU (its profile's second-largest entry after hashing), and as
 * many segments for the seeder to parse. Corking the socket at the first chunk of a turn and
 * uncorking on the next tick keeps the latency (nothing waits for a timer) and sends the turn's
 * messages in one syscall.
 */
import type { Socket } from 'node:net';
import { socketLoans } from './socket-loans.js';

/** The part of a streamx Readable (the wire) the pump uses. */
export interface ChunkSource {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * `transform` (MSE's RC4) sees every chunk once, in order, before it is written: a stream cipher's
 * state follows the bytes on the wire; it may return its input (MSE's plaintext payload). Every
 * chunk is given back to `loans` (socket-loans) exactly once, when the socket no longer needs it:
 * written, failed, dropped, or copied by `transform`.
 */
export function pumpCoalesced(
  source: ChunkSource,
  socket: Socket,
  transform?: (chunk: Uint8Array) => Uint8Array,
  loans = socketLoans,
): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  let waitingForDrain = false;
  const resume = () => {
    waitingForDrain = false;
    source.resume();
  };
  source.on('data', (chunk) => {
    if (socket.destroyed) {
      loans.giveBack(chunk);
      return;
    }
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    const out = transform ? transform(chunk) : chunk;
    let written: boolean;
    if (out !== chunk) {
      // The cipher's output is a copy: the chunk is free as soon as it is encrypted.
      loans.giveBack(chunk);
      written = socket.write(out);
    } else {
      // The chunk itself goes to the socket (no cipher, or MSE with a plaintext payload, whose
      // transform returns its input). Node calls back once the kernel has the bytes, or with an
      // error when the socket is destroyed first (buffered writes included): either way the chunk
      // is no longer read. Given back before that (as it was for the plaintext payload), the
      // seeding cache could reuse the memory while the socket still queued it, and send a peer
      // another span's bytes.
      written = socket.write(chunk, () => loans.giveBack(chunk));
    }
    // Backpressure as a pipe does it: a full socket buffer pauses the wire until it drains (one
    // listener however many chunks were already on their way when it paused).
    if (!written && !waitingForDrain) {
      waitingForDrain = true;
      source.pause();
      socket.once('drain', resume);
    }
  });
}
