/**
 * FileStore: a `Store` kept in a file, so that the unfinished QoS 1/2 flows survive a crash of
 * the process. Give each client two (outgoing and incoming), in a directory of their own, and
 * the same `clientId` with `clean: false` after a restart:
 *
 *   const client = connect(url, { clientId: 'sensor-7', clean: false, ...fileStores('./mqtt-state') });
 *
 * The file is an append-only log of records, replayed on open:
 *
 *   ┌──────┬──────────────┬────────────────────────────────────────────┐
 *   │ type │ length (u32) │ body                                       │
 *   │ 1 B  │ 4 B, BE      │ put: the packet, MQTT 5 encoding           │
 *   │      │              │ rel: the PUBLISH a PUBREL replaced         │
 *   │      │              │ del: the message id (u16)                  │
 *   └──────┴──────────────┴────────────────────────────────────────────┘
 *
 * A PUBREL that replaces its QoS 2 PUBLISH is kept as a `rel` record holding that PUBLISH, and
 * read back as `{ cmd: 'pubrel', messageId, original }`: a client restarted against a server that
 * lost the session can then send the message again instead of a PUBREL the server cannot match.
 *
 * One live FileStore per log: opening takes a lock file beside it (`store.log.lock`, holding the
 * pid; see `./file-lock.ts`), and a second FileStore on the same log, in this process or another,
 * throws `MQTT_ERR_STORE_LOCKED` instead of mixing its records into the first one's. close() and
 * the process's exit release it; a lock left by a killed process is taken over.
 *
 * A record cut short at the end of the file (the machine stopped mid-write) is dropped on open.
 * When dead records outweigh live ones (and pass 64 KiB), the live ones are written to a new file,
 * which is synced and renamed over the log: the log is never rewritten in place.
 *
 * Durability (`fsync` option):
 * - `'never'` (default): every put/del is written to the OS before the call returns. It survives
 *   the process being killed (kill -9, a crash), not the machine losing power.
 * - `'always'`: each write is followed by fsync: it survives power loss too, at the cost of a disk
 *   flush per message.
 * - a number of ms: fsync at most that often; power loss may lose the last interval.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { decode, encode, type PacketInput } from '../../generated/index.js';
import { ClientErrorCode, MqttClientError, storeMissingPacket } from '../errors.js';
import {
  type DoneCallback,
  type PacketCallback,
  PacketStream,
  type PacketWithId,
  type StoreLike,
} from '../store.js';
import { type TimerHandle, timers } from '../timers.js';
import { type FileLock, lockLog, unlock } from './file-lock.js';

export interface FileStoreOptions {
  /** File name inside the directory (default `store.log`). */
  name?: string;
  /** When to fsync: `'never'` (default), `'always'`, or at most every N ms. */
  fsync?: 'never' | 'always' | number;
}

const PUT = 1;
const DEL = 2;
const REL = 3;

/** A PUBREL read back with the PUBLISH it completes. */
export interface StoredPubrel extends PacketWithId {
  cmd: 'pubrel';
  messageId: number;
  original?: PacketWithId;
}
const HEADER = 5;

function storeCorrupt(path: string, offset: number, what: string, cause?: unknown): MqttClientError {
  return new MqttClientError(
    ClientErrorCode.StoreCorrupt,
    `${path}: the store log is corrupt at byte ${offset} (${what}); it was left as it is`,
    { cause },
  );
}
const MIN_COMPACT_BYTES = 64 * 1024;

export class FileStore implements StoreLike<PacketWithId> {
  readonly path: string;
  private readonly dir_: string;
  private readonly fsync_: 'never' | 'always' | number;
  private readonly packets_ = new Map<number, PacketWithId>();
  /** Bytes of each live record, to know how much of the log is dead. */
  private readonly sizes_ = new Map<number, number>();
  private fd_: number | undefined;
  private liveBytes_ = 0;
  private totalBytes_ = 0;
  private syncTimer_: TimerHandle | undefined;
  private lock_: FileLock | undefined;
  /** The log's size and mtime when close() left it, to see on reopening whether it changed. */
  private closedLog_: string | undefined;

  constructor(dir: string, options: FileStoreOptions = {}) {
    mkdirSync(dir, { recursive: true });
    this.dir_ = dir;
    this.path = join(dir, options.name ?? 'store.log');
    this.fsync_ = options.fsync ?? 'never';
    this.lock_ = lockLog(this.path, dir);
    try {
      this.replay_();
      this.fd_ ??= openSync(this.path, 'a'); // compacting a torn log opened it already
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** The packets held, in the order they were first put (what a restarted client re-sends). */
  loadSync(): PacketWithId[] {
    return [...this.packets_.values()];
  }

  get size(): number {
    return this.packets_.size;
  }

  put(packet: PacketWithId, cb?: DoneCallback): this {
    this.reopen_();
    const id = packet.messageId;
    if (id === undefined) {
      cb?.(storeMissingPacket(id));
      return this;
    }
    let stored = packet;
    let type = PUT;
    let body: Uint8Array;
    try {
      const previous = this.packets_.get(id);
      const original =
        previous?.cmd === 'publish' ? previous : (previous as StoredPubrel | undefined)?.original;
      if (packet.cmd === 'pubrel' && original) {
        type = REL;
        body = encode(original as PacketInput, { protocolVersion: 5 });
        stored = { cmd: 'pubrel', messageId: id, original } as StoredPubrel;
      } else body = encode(packet as PacketInput, { protocolVersion: 5 });
    } catch (error) {
      cb?.(error as Error);
      return this;
    }
    this.append_(type, body);
    this.forget_(id);
    this.packets_.set(id, stored);
    this.sizes_.set(id, HEADER + body.length);
    this.liveBytes_ += HEADER + body.length;
    cb?.();
    return this;
  }

  get(packet: Pick<PacketWithId, 'messageId'>, cb: PacketCallback<PacketWithId>): this {
    const stored = packet.messageId === undefined ? undefined : this.packets_.get(packet.messageId);
    if (stored) cb(null, stored);
    else cb(storeMissingPacket(packet.messageId));
    return this;
  }

  del(packet: Pick<PacketWithId, 'messageId'>, cb?: PacketCallback<PacketWithId>): this {
    this.reopen_();
    const id = packet.messageId;
    const stored = id === undefined ? undefined : this.packets_.get(id);
    if (id === undefined || !stored) {
      cb?.(storeMissingPacket(id));
      return this;
    }
    // Gone from memory whether or not the log takes the record: the flow is over, and a read
    // back must not find it. A failed write (a full disk) leaves it in the log, so a restart
    // would send or deliver it again (at least once); the error goes to `cb`, or is thrown.
    this.forget_(id);
    this.packets_.delete(id);
    try {
      this.append_(DEL, Uint8Array.of(id >> 8, id & 0xff));
    } catch (error) {
      if (!cb) throw error;
      cb(error as Error);
      return this;
    }
    this.maybeCompact_();
    cb?.(null, stored);
    return this;
  }

  createStream(): PacketStream<PacketWithId> {
    return new PacketStream(this.loadSync());
  }

  /**
   * Syncs and closes the file and releases the lock; the packets stay in it for the next FileStore
   * on this path. A put or del after close() opens the file again, taking the lock again.
   */
  close(cb?: DoneCallback): void {
    if (this.syncTimer_) timers.clearTimeout(this.syncTimer_);
    this.syncTimer_ = undefined;
    let failed: Error | undefined;
    if (this.fd_ !== undefined) {
      try {
        fsyncSync(this.fd_);
        closeSync(this.fd_);
      } catch (error) {
        failed = error as Error;
      }
      this.fd_ = undefined;
      this.closedLog_ = this.logSignature_();
    }
    if (this.lock_) unlock(this.lock_);
    this.lock_ = undefined;
    cb?.(failed);
  }

  private forget_(id: number): void {
    const size = this.sizes_.get(id);
    if (size === undefined) return;
    this.liveBytes_ -= size;
    this.sizes_.delete(id);
  }

  /**
   * After close(), a put or del takes the lock and opens the log again. If another store wrote
   * the log meanwhile (the lock was free), what it holds now is read back first, so that this
   * store neither forgets that store's packets nor keeps ones it deleted.
   */
  private reopen_(): void {
    if (this.fd_ !== undefined) return;
    this.lock_ ??= lockLog(this.path, this.dir_);
    if (this.closedLog_ !== undefined && this.closedLog_ !== this.logSignature_()) {
      this.packets_.clear();
      this.sizes_.clear();
      this.liveBytes_ = 0;
      this.totalBytes_ = 0;
      this.replay_();
    }
    this.closedLog_ = undefined;
    this.fd_ ??= openSync(this.path, 'a'); // compacting a torn log opened it already
  }

  private logSignature_(): string {
    if (!existsSync(this.path)) return 'none';
    const stat = statSync(this.path);
    return `${stat.size} ${stat.mtimeMs}`;
  }

  private append_(type: number, body: Uint8Array): void {
    this.reopen_();
    const record = Buffer.allocUnsafe(HEADER + body.length);
    record[0] = type;
    record.writeUInt32BE(body.length, 1);
    record.set(body, HEADER);
    // One write() per record: a process killed after it returns has the record in the OS.
    const fd = this.fd_ as number; // reopen_() opened it
    writeSync(fd, record);
    this.totalBytes_ += record.length;
    this.afterWrite_(fd);
  }

  private afterWrite_(fd: number): void {
    if (this.fsync_ === 'always') fsyncSync(fd);
    else if (typeof this.fsync_ === 'number' && this.syncTimer_ === undefined) {
      this.syncTimer_ = timers.setTimeout(() => {
        this.syncTimer_ = undefined;
        if (this.fd_ !== undefined) fsyncSync(this.fd_);
      }, this.fsync_);
    }
  }

  /** Rebuilds the packets from the log; a torn last record is ignored (and cut off by compaction). */
  private replay_(): void {
    if (!existsSync(this.path)) return;
    const data = readFileSync(this.path);
    let pos = 0;
    let torn = false;
    while (pos < data.length) {
      if (pos + HEADER > data.length) {
        torn = true;
        break;
      }
      const type = data[pos]!;
      const length = data.readUInt32BE(pos + 1);
      if (type !== PUT && type !== DEL && type !== REL) {
        // A torn write leaves a short last record, not wrong bytes; zeros to the end are a tail
        // the file system filled after a crash. Anything else is corruption: an error, and the
        // file is left as it is rather than compacted without the records after this one.
        if (data.subarray(pos).every((b) => b === 0)) {
          torn = true;
          break;
        }
        throw storeCorrupt(this.path, pos, `record type ${type}`);
      }
      if (pos + HEADER + length > data.length) {
        torn = true;
        break;
      }
      const body = data.subarray(pos + HEADER, pos + HEADER + length);
      if (type === PUT || type === REL) {
        let decoded: PacketWithId;
        try {
          decoded = decode(body, { protocolVersion: 5 }) as PacketWithId;
        } catch (error) {
          throw storeCorrupt(this.path, pos, (error as Error).message, error);
        }
        const id = decoded.messageId;
        const packet =
          type === REL && id !== undefined
            ? ({ cmd: 'pubrel', messageId: id, original: decoded } as StoredPubrel)
            : decoded;
        if (id !== undefined) {
          this.forget_(id);
          this.packets_.set(id, packet);
          this.sizes_.set(id, HEADER + length);
          this.liveBytes_ += HEADER + length;
        }
      } else if (length === 2) {
        const id = (body[0]! << 8) | body[1]!;
        this.forget_(id);
        this.packets_.delete(id);
      }
      pos += HEADER + length;
    }
    this.totalBytes_ = pos;
    if (torn) this.compact_();
  }

  private maybeCompact_(): void {
    const dead = this.totalBytes_ - this.liveBytes_;
    if (dead > MIN_COMPACT_BYTES && dead > this.liveBytes_) this.compact_();
  }

  /** Writes the live records to a new file, syncs it, and renames it over the log. */
  private compact_(): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    let total = 0;
    try {
      for (const packet of this.packets_.values()) {
        const original = (packet as StoredPubrel).original;
        const body = encode((original ?? packet) as PacketInput, { protocolVersion: 5 });
        const record = Buffer.allocUnsafe(HEADER + body.length);
        record[0] = original ? REL : PUT;
        record.writeUInt32BE(body.length, 1);
        record.set(body, HEADER);
        writeSync(fd, record);
        total += record.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.fd_ !== undefined) closeSync(this.fd_);
    renameSync(tmp, this.path);
    this.fd_ = openSync(this.path, 'a');
    this.totalBytes_ = total;
    this.liveBytes_ = total;
  }
}

/** An outgoing and an incoming FileStore in `dir`, as the client options want them. */
export function fileStores(
  dir: string,
  options: Omit<FileStoreOptions, 'name'> = {},
): { outgoingStore: FileStore; incomingStore: FileStore } {
  return {
    outgoingStore: new FileStore(dir, { ...options, name: 'outgoing.log' }),
    incomingStore: new FileStore(dir, { ...options, name: 'incoming.log' }),
  };
}
