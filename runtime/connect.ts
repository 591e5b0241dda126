/** `connect()` and `connectAsync()`, as in MQTT.js. */
import { MqttClient } from './client.js';
import { aborted } from './errors.js';
import type { ClientOptions } from './options.js';
import { resolveOptions } from './options.js';

/** Creates a client and, unless `manualConnect`, starts connecting. */
export function connect(url?: string | URL | ClientOptions | null, options?: ClientOptions): MqttClient {
  return new MqttClient(resolveOptions(url, options));
}

/** Options of `connectAsync`: the client's options, and a signal that gives up waiting. */
export interface ConnectAsyncOptions extends ClientOptions {
  /** Aborting rejects with MQTT_ERR_ABORTED and ends the client (force), unless already connected. */
  signal?: AbortSignal;
}

/**
 * Resolves with the client once it is connected. Rejects, and ends the client, on the first
 * error before that (a refused CONNACK, a TLS or network error, `connectTimeout`), unless
 * `allowRetries` is true, in which case it waits through reconnects, or when `signal` aborts.
 */
export function connectAsync(
  url?: string | URL | ConnectAsyncOptions | null,
  options?: ConnectAsyncOptions,
  allowRetries = true,
): Promise<MqttClient> {
  const signal = (
    options ?? (url !== null && typeof url === 'object' && !(url instanceof URL) ? url : undefined)
  )?.signal;
  if (signal?.aborted) return Promise.reject(aborted(signal.reason));
  return new Promise((resolve, reject) => {
    const client = connect(url, options);
    const onAbort = () => {
      cleanup();
      client.end(true);
      reject(aborted(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      signal?.removeEventListener('abort', onAbort);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('end', onEnd);
    };
    const onConnect = () => {
      cleanup();
      resolve(client);
    };
    const onEnd = () => {
      cleanup();
      resolve(client);
    };
    const onError = (error: Error) => {
      const code = (error as { code?: unknown }).code;
      const transient = code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
      if (allowRetries && transient && client.options.reconnectPeriod > 0) return;
      cleanup();
      client.end(true);
      reject(error);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('end', onEnd);
  });
}
