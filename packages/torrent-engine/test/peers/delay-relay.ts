// A TCP relay on 127.0.0.1 that holds every chunk `oneWayMs` each way, in order: a distant peer on
// loopback (tc netem is not available on these machines). Latency only; rate limits come from the
// peer behind it. Used by the wire, first-round-trip and encryption tests and bench/remote-peer.ts.
import net from 'node:net';

export interface DelayRelay {
  port: number;
  /** Cuts every relayed connection and stops listening. */
  close(): Promise<void>;
}

export async function startDelayRelay(target: number, oneWayMs: number): Promise<DelayRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), oneWayMs));
      from.on('end', () => setTimeout(() => to.end(), oneWayMs));
      from.on('error', () => to.destroy());
      from.on('close', () => setTimeout(() => to.destroy(), oneWayMs));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
