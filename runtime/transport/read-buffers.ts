/**
 * Where a TCP socket reads to (`net.connect`'s `onread`). Left to itself, Node gives every read
 * a fresh 64 KiB buffer and then copies what arrived into one of the right size.
 *
 * - A quiet connection reads into one 64 KiB buffer that all quiet connections share, and what
 *   arrived is copied out before the next read (reads happen one at a time, so the sharing is
 *   safe). Like Node, minus an allocation per read; an idle connection holds no buffer at all.
 * - A read that fills all 64 KiB means more was waiting: the connection is busy, and reads from
 *   then on go one after another into a 512 KiB slab of its own. Nothing is copied, one
 *   allocation serves many reads, and a read may take up to the slab's free room (fewer system
 *   calls and trips into JavaScript than 64 KiB at a time). Each read is handed on as a view of
 *   the slab, which later reads never overwrite: a slab is never reused, only dropped.
 * - A small read again (a quiet spell) drops the slab and the connection is quiet once more.
 *
 *   slab:  [ read 1 ][ read 2 ][ read 3 ][ free room: the next read goes here ...... ]
 *
 * A view keeps its whole slab alive: an application that keeps a payload for long keeps up to
 * 512 KiB with it (Node's own reads keep up to 64 KiB). Copy what you keep (`Buffer.from`).
 */

/** The shared buffer of quiet connections; a read that fills it makes its connection busy. */
export const SHARED_BYTES = 64 * 1024;
/**
 * A busy connection's slab. Against 256 KiB slabs (and 64 KiB minimum room), a 16 KiB QoS 1
 * subscriber through Mosquitto spent about 15% less CPU per message: more bytes per read.
 */
export const SLAB_BYTES = 512 * 1024;
/** A busy connection starts a new slab when less room than this is left. */
const MIN_ROOM = 128 * 1024;
/** A read smaller than this means the connection went quiet. */
export const QUIET_BYTES = 4 * 1024;

let shared: Buffer | undefined;

export class ReadBuffers {
  /** The busy connection's slab; undefined while quiet. */
  private slab_: Buffer | undefined;
  private offset_ = 0;

  /** Reading into a slab of its own (until a small read makes it quiet again). */
  get busy(): boolean {
    return this.slab_ !== undefined;
  }

  /** The room the next read goes to. */
  next(): Uint8Array {
    let slab = this.slab_;
    if (slab === undefined) {
      shared ??= Buffer.allocUnsafeSlow(SHARED_BYTES);
      return shared;
    }
    if (slab.length - this.offset_ < MIN_ROOM) {
      // allocUnsafeSlow: not zero-filled (only bytes a read wrote are handed on), not pooled.
      slab = this.slab_ = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.offset_ = 0;
    }
    return slab.subarray(this.offset_);
  }

  /** `length` bytes were read into `room` (the last `next()`): returns them, to keep. */
  filled(room: Uint8Array, length: number): Buffer {
    if (this.slab_ === undefined) {
      const bytes = Buffer.from(room.subarray(0, length)); // out of the shared buffer
      if (length === room.length) {
        this.slab_ = Buffer.allocUnsafeSlow(SLAB_BYTES);
        this.offset_ = 0;
      }
      return bytes;
    }
    const bytes = this.slab_.subarray(this.offset_, this.offset_ + length);
    this.offset_ += length;
    if (length < QUIET_BYTES) this.slab_ = undefined;
    return bytes;
  }
}
