/**
 * A small SOCKS4/4a/5 proxy on loopback for tests (RFC 1928, RFC 1929 and the SOCKS4 protocol):
 * it records what each client asked for, and can be told to misbehave.
 *
 *   const proxy = await startSocksProxy();
 *   connect(broker.url, { socksProxy: `socks5://127.0.0.1:${proxy.port}` });
 *   proxy.requests[0]  // { version: 5, host: '127.0.0.1', port: 1883, addressType: 'ipv4' }
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './free-port.js';

export interface SocksRequest {
  version: 4 | 5;
  host: string;
  port: number;
  addressType: 'ipv4' | 'ipv6' | 'domain';
  /** SOCKS4 user id, or SOCKS5 username. */
  user?: string;
  password?: string;
}

export interface SocksProxyOptions {
  /** SOCKS5: require this username/password (RFC 1929). */
  credentials?: { user: string; password: string };
  /** Answer CONNECT with this reply code instead of connecting (SOCKS5 code, or SOCKS4 91-93). */
  refuseWith?: number;
  /** Accept the TCP connection and never answer. */
  silent?: boolean;
  /** Close the connection after reading the greeting. */
  hangUpAfterGreeting?: boolean;
  /** Bytes to send with a successful CONNECT reply (same write), before any from the target. */
  extraAfterReply?: Uint8Array;
}

export interface SocksProxy {
  port: number;
  requests: SocksRequest[];
  /** TCP connections accepted. */
  readonly accepted: number;
  stop(): Promise<void>;
}

export async function startSocksProxy(options: SocksProxyOptions = {}): Promise<SocksProxy> {
  const sockets = new Set<Socket>();
  const requests: SocksRequest[] = [];
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (!options.silent) serve(client, options, requests, sockets);
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    requests,
    get accepted() {
      return accepted;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads exactly what the handshake needs, step by step, then pipes the two sockets. */
function serve(
  client: Socket,
  options: SocksProxyOptions,
  requests: SocksRequest[],
  sockets: Set<Socket>,
): void {
  let buffered = Buffer.alloc(0);
  let want: ((bytes: Buffer) => number) | undefined;
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (want) {
      const step = want;
      const used = step(buffered);
      if (used === 0) return;
      buffered = buffered.subarray(used);
    }
  };
  client.on('data', onData);

  const tunnel = (request: SocksRequest, success: Buffer) => {
    const targetHost = request.addressType === 'domain' ? resolveName(request.host) : request.host;
    requests.push(request);
    want = undefined;
    client.off('data', onData);
    if (options.refuseWith !== undefined) {
      const refusal = Buffer.from(success);
      refusal[1] = options.refuseWith;
      client.end(refusal);
      return;
    }
    client.pause();
    const target = connect({ host: targetHost, port: request.port }, () => {
      // Extra bytes go in the same write: once the client has switched to MQTT, they would read
      // as the broker's.
      client.write(options.extraAfterReply ? Buffer.concat([success, options.extraAfterReply]) : success);
      if (buffered.length > 0) target.write(buffered);
      client.pipe(target);
      target.pipe(client);
      client.resume();
    });
    sockets.add(target);
    target.on('close', () => {
      sockets.delete(target);
      client.destroy();
    });
    target.on('error', () => client.destroy());
    client.on('close', () => target.destroy());
  };

  const socks4 = (bytes: Buffer): number => {
    const userEnd = bytes.indexOf(0, 8);
    if (bytes.length < 9 || userEnd < 0) return 0;
    const port = bytes.readUInt16BE(2);
    const ip = [...bytes.subarray(4, 8)].join('.');
    const user = bytes.subarray(8, userEnd).toString();
    let used = userEnd + 1;
    let host = ip;
    let addressType: SocksRequest['addressType'] = 'ipv4';
    if (ip.startsWith('0.0.0.') && ip !== '0.0.0.0') {
      const nameEnd = bytes.indexOf(0, used);
      if (nameEnd < 0) return 0;
      host = bytes.subarray(used, nameEnd).toString();
      addressType = 'domain';
      used = nameEnd + 1;
    }
    const reply = Buffer.from([0, 90, 0, 0, 0, 0, 0, 0]);
    tunnel({ version: 4, host, port, addressType, user }, reply);
    return used;
  };

  const socks5Request =
    (auth: { user?: string; password?: string }) =>
    (bytes: Buffer): number => {
      if (bytes.length < 5) return 0;
      const type = bytes[3];
      let host: string;
      let addressType: SocksRequest['addressType'];
      let end: number;
      if (type === 1) {
        end = 4 + 4;
        if (bytes.length < end + 2) return 0;
        host = [...bytes.subarray(4, 8)].join('.');
        addressType = 'ipv4';
      } else if (type === 4) {
        end = 4 + 16;
        if (bytes.length < end + 2) return 0;
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(4 + i).toString(16));
        host = groups.join(':');
        addressType = 'ipv6';
      } else {
        end = 5 + (bytes[4] as number);
        if (bytes.length < end + 2) return 0;
        host = bytes.subarray(5, end).toString();
        addressType = 'domain';
      }
      const port = bytes.readUInt16BE(end);
      const reply = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]);
      tunnel({ version: 5, host, port, addressType, ...auth }, reply);
      return end + 2;
    };

  const socks5Auth = (bytes: Buffer): number => {
    if (bytes.length < 2) return 0;
    const userLength = bytes[1] as number;
    if (bytes.length < 3 + userLength) return 0;
    const passwordLength = bytes[2 + userLength] as number;
    const used = 3 + userLength + passwordLength;
    if (bytes.length < used) return 0;
    const user = bytes.subarray(2, 2 + userLength).toString();
    const password = bytes.subarray(3 + userLength, used).toString();
    const ok = user === options.credentials?.user && password === options.credentials?.password;
    if (!ok) {
      want = undefined;
      client.end(Buffer.from([1, 1]));
      return used;
    }
    client.write(Buffer.from([1, 0]));
    want = socks5Request({ user, password });
    return used;
  };

  want = (bytes: Buffer): number => {
    if (bytes.length < 1) return 0;
    if (bytes[0] === 4) {
      want = socks4;
      return socks4(bytes);
    }
    if (bytes.length < 2 || bytes.length < 2 + (bytes[1] as number)) return 0;
    const methods = [...bytes.subarray(2, 2 + (bytes[1] as number))];
    const used = 2 + methods.length;
    if (options.hangUpAfterGreeting) {
      want = undefined;
      client.destroy();
      return used;
    }
    if (options.credentials) {
      if (!methods.includes(2)) {
        want = undefined;
        client.end(Buffer.from([5, 0xff]));
        return used;
      }
      client.write(Buffer.from([5, 2]));
      want = socks5Auth;
      return used;
    }
    client.write(Buffer.from([5, 0]));
    want = socks5Request({});
    return used;
  };
}

/** Names the tests use, resolved by "the proxy". */
function resolveName(name: string): string {
  return name === 'localhost' ? '127.0.0.1' : name;
}
