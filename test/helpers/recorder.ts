/** Connection handlers that record what a transport reports, for transport tests. */
import type { ConnectionHandlers } from '../../runtime/transport/types.js';

export interface Recorder {
  handlers: ConnectionHandlers;
  /** Event names in order: connect, data, drain, error, close. */
  events: string[];
  errors: Error[];
  /** All data received, concatenated. */
  received(): Buffer;
  connected: Promise<void>;
  closed: Promise<void>;
  /** Resolves once `received()` holds at least `length` bytes. */
  waitForBytes(length: number): Promise<Buffer>;
}

export function recorder(): Recorder {
  const events: string[] = [];
  const errors: Error[] = [];
  const chunks: Buffer[] = [];
  const waiters: Array<() => void> = [];
  let onConnect!: () => void;
  let onClose!: () => void;
  const connected = new Promise<void>((resolve) => {
    onConnect = resolve;
  });
  const closed = new Promise<void>((resolve) => {
    onClose = resolve;
  });
  const received = () => Buffer.concat(chunks);
  return {
    events,
    errors,
    received,
    connected,
    closed,
    waitForBytes(length) {
      return new Promise((resolve) => {
        const check = () => {
          if (received().length >= length) resolve(received());
          else waiters.push(check);
        };
        check();
      });
    },
    handlers: {
      connect() {
        events.push('connect');
        onConnect();
      },
      data(chunk) {
        events.push('data');
        chunks.push(Buffer.from(chunk));
        for (const waiter of waiters.splice(0)) waiter();
      },
      drain() {
        events.push('drain');
      },
      error(error) {
        events.push('error');
        errors.push(error);
      },
      close() {
        events.push('close');
        onClose();
      },
    },
  };
}

/** The events without repeated `data`/`drain` entries, for asserting the lifecycle. */
export function lifecycle(events: readonly string[]): string[] {
  return events.filter((event, i) => !((event === 'data' || event === 'drain') && events[i - 1] === event));
}
