/** A raw KRPC speaker on a loopback UDP socket, for tests that send what no DHT library would. */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { type BDict, bdecode, bencode } from '../src/bencode.js';

export class RawKrpc {
  readonly id = randomBytes(20);
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {}

  static async open(): Promise<RawKrpc> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    return new RawKrpc(socket, socket.address().port);
  }

  sendRaw(buf: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(buf, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Sends a query and resolves with the decoded reply (r or e), or undefined on timeout. */
  query(port: number, q: string, a: Record<string, unknown>, timeoutMs = 3_000): Promise<BDict | undefined> {
    const t = randomBytes(2);
    const msg = bencode({ t, y: 'q', q, a: { id: this.id, ...a } });
    return this.request(msg, t, port, timeoutMs);
  }

  request(msg: Buffer, t: Buffer, port: number, timeoutMs = 3_000): Promise<BDict | undefined> {
    return new Promise((resolve) => {
      const onMessage = (buf: Buffer) => {
        const d = bdecode(buf);
        if (!d.ok) return;
        const m = d.value as BDict;
        if (Buffer.isBuffer(m.t) && m.t.equals(t)) {
          cleanup();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(undefined);
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
      };
      this.socket.on('message', onMessage);
      this.socket.send(msg, port, '127.0.0.1');
    });
  }

  close(): void {
    this.socket.close();
  }
}
