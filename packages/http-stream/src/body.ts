/**
 * Executes a body plan: pulls bytes from the file's readers, one part at a time, into a Readable
 * that fastify pipes to the socket. Pulling (an async generator under Readable.from) gives
 * backpressure end to end: a reader is asked for more only when the socket has drained.
 */
import { Readable } from 'node:stream';
import type { Body } from './plan.js';
import type { SeekableFile } from './types.js';

/** The source sent more or fewer bytes than the range it was asked for. */
export class LengthMismatchError extends Error {
  readonly code = 'DREAM_STREAM_LENGTH_MISMATCH';
}

/**
 * The bytes of [start, end] exactly. A source that sends too many or too few bytes is a bug, and
 * the announced Content-Length would be a lie: we fail the stream, which makes the server cut the
 * connection, so the client sees a truncated response instead of wrong bytes.
 */
async function* exactRange(
  file: SeekableFile,
  start: number,
  end: number,
  signal: AbortSignal,
  opened?: NodeJS.ReadableStream | Readable,
): AsyncGenerator<Buffer> {
  const expected = end - start + 1;
  let sent = 0;
  const source = opened ?? file.createReadStream(start, end, signal);
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      sent += buf.length;
      if (sent > expected) {
        throw new LengthMismatchError(
          `${file.path}: the reader for bytes ${start}-${end} sent more than ${expected} bytes`,
        );
      }
      yield buf;
    }
  } catch (err) {
    // After an abort the reader ends however it likes (often with an AbortError); nobody is listening.
    if (signal.aborted) return;
    throw err;
  } finally {
    // Leaving the loop early (abort, consumer gone) must release the reader whatever its kind.
    const d = source as { destroy?: () => void };
    if (typeof d.destroy === 'function') d.destroy();
  }
  if (sent !== expected && !signal.aborted) {
    throw new LengthMismatchError(
      `${file.path}: the reader for bytes ${start}-${end} ended after ${sent} of ${expected} bytes`,
    );
  }
}

async function* multipartBody(
  file: SeekableFile,
  body: Extract<Body, { kind: 'multipart' }>,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  for (const part of body.parts) {
    yield Buffer.from(part.head);
    yield* exactRange(file, part.start, part.end, signal);
    if (signal.aborted) return;
  }
  yield Buffer.from(body.tail);
}

/**
 * A Readable of the plan's bytes, or undefined when the body has no file bytes. A single range's
 * reader is opened here, before any header is sent, so a reader that cannot even open (it throws)
 * becomes a 500 rather than a cut response.
 */
export function bodyStream(file: SeekableFile, body: Body, signal: AbortSignal): Readable | undefined {
  switch (body.kind) {
    case 'bytes': {
      const { start, end } = body.range;
      const source = file.createReadStream(start, end, signal);
      return Readable.from(exactRange(file, start, end, signal, source), { objectMode: false });
    }
    case 'multipart':
      return Readable.from(multipartBody(file, body, signal), { objectMode: false });
    default:
      return undefined;
  }
}
