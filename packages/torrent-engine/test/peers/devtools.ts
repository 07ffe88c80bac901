// Headless Chromium driven over the DevTools protocol, for tests that act on a page as a user would
// (click, type) and read what it shows. The protocol travels over a pipe (--remote-debugging-pipe:
// JSON messages ended by a NUL byte, commands on fd 3, answers and events on fd 4), so no WebSocket
// client is needed (Node 20 has none without a flag) and no port is opened.
import type { Readable, Writable } from 'node:stream';
import { launchChromium } from './chromium.js';

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

export interface DevToolsPage {
  /** The value of a JavaScript expression in the page (awaited if a promise); throws what it threw. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy, up to `timeoutMs`; returns that value. */
  waitFor<T>(expression: string, timeoutMs: number, what: string): Promise<T>;
  close(): Promise<void>;
}

const COMMAND_TIMEOUT_MS = 30_000;

export async function openWithDevTools(url: string): Promise<DevToolsPage> {
  const browser = await launchChromium(
    ['--remote-debugging-pipe', 'about:blank'],
    ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  );
  const chromium = browser.child;
  // The last of what Chromium wrote to stderr, for the error if it dies (it crashed with SIGSEGV
  // once in a CI run, with nothing to say why).
  let stderrTail = '';
  chromium.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString('utf8')).slice(-4096);
  });
  const toBrowser = chromium.stdio[3] as Writable;
  const fromBrowser = chromium.stdio[4] as Readable;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ended: Error | undefined;
  const fail = (err: Error) => {
    ended ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  // launchChromium's own listener, registered first, has recorded the reason check() throws.
  chromium.once('error', () => {
    try {
      browser.check();
    } catch (err) {
      fail(err as Error);
    }
  });
  chromium.once('exit', (code, signal) =>
    fail(
      new Error(
        `chromium exited (${code ?? signal})${stderrTail ? `; its stderr ended with:\n${stderrTail}` : ''}`,
      ),
    ),
  );
  toBrowser.on('error', () => {}); // reported by 'exit'

  let buffered = Buffer.alloc(0);
  fromBrowser.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (let end = buffered.indexOf(0); end >= 0; end = buffered.indexOf(0)) {
      const message = JSON.parse(buffered.subarray(0, end).toString('utf8')) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      buffered = buffered.subarray(end + 1);
      const waiting = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiting) continue; // an event
      pending.delete(message.id!);
      if (message.error) waiting.reject(new Error(`DevTools: ${message.error.message}`));
      else waiting.resolve(message.result ?? {});
    }
  });

  const send = (method: string, params: object = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (ended) return reject(ended);
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`DevTools: ${method} got no answer in ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });

  const close = () => browser.close();

  try {
    const { targetId } = (await send('Target.createTarget', { url })) as { targetId: string };
    const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as {
      sessionId: string;
    };
    const evaluate = async <T>(expression: string): Promise<T> => {
      const answer = (await send(
        'Runtime.evaluate',
        { expression, awaitPromise: true, returnByValue: true },
        sessionId,
      )) as {
        result?: { value?: T };
        exceptionDetails?: { exception?: { description?: string }; text: string };
      };
      if (answer.exceptionDetails) {
        const d = answer.exceptionDetails;
        throw new Error(`in the page: ${d.exception?.description ?? d.text}`);
      }
      return answer.result?.value as T;
    };
    return {
      evaluate,
      async waitFor<T>(expression: string, timeoutMs: number, what: string): Promise<T> {
        const deadline = Date.now() + timeoutMs;
        let last = 'no answer';
        while (Date.now() < deadline) {
          try {
            const value = await evaluate<T>(expression);
            if (value) return value;
            last = JSON.stringify(value);
          } catch (err) {
            if (ended) throw ended;
            last = (err as Error).message; // e.g. the element is not there yet
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
