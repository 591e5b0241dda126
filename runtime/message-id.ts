/**
 * Packet identifier providers, with MQTT.js's method names so a user's custom provider plugs in
 * unchanged. Identifiers are 1..65535; 0 is never valid [MQTT-2.2.1-3].
 */

export interface MessageIdProvider {
  /** The next identifier, or `null` when none is free. */
  allocate(): number | null;
  /** The identifier `allocate()` last returned (`null` if it never has). */
  getLastAllocated(): number | null;
  /** Marks `id` as in use (e.g. restored from a store); `false` if it already was. */
  register(id: number): boolean;
  deallocate(id: number): void;
  clear(): void;
}

const MAX_ID = 0xffff;

/**
 * MQTT.js's default: a counter from a random start, wrapping 65535 -> 1. It does not track which
 * ids are busy, so after 65535 allocations it may hand out one still in flight.
 */
export class DefaultMessageIdProvider implements MessageIdProvider {
  private nextId_: number;

  constructor() {
    this.nextId_ = Math.max(1, Math.floor(Math.random() * MAX_ID));
  }

  allocate(): number {
    const id = this.nextId_;
    this.nextId_ = id === MAX_ID ? 1 : id + 1;
    return id;
  }

  getLastAllocated(): number {
    return this.nextId_ === 1 ? MAX_ID : this.nextId_ - 1;
  }

  register(_id: number): boolean {
    return true;
  }

  deallocate(_id: number): void {}

  clear(): void {}
}

const WORDS = (MAX_ID + 1) / 32; // 2048 words of 32 bits cover ids 0..65535
const FULL = 0xffffffff;

/**
 * Never hands out an id that is in use. Ids come from `last + 1` with wrap-around (not the lowest
 * free id as in MQTT.js), so a just-released id is not reused at once.
 *
 *   used: Uint32Array(2048)   word w, bit b  <->  id = w * 32 + b      (bit 0 of word 0 = id 0,
 *   ┌────────┬────────┬─────┬────────┐                                  kept set: never free)
 *   │ 0..31  │ 32..63 │ ... │ ..65535│
 *   └────────┴────────┴─────┴────────┘
 *
 * A search skips full words 32 ids at a time, so the worst case is 2048 word reads, not 65535.
 */
export class UniqueMessageIdProvider implements MessageIdProvider {
  private readonly used_ = new Uint32Array(WORDS);
  private inUse_ = 0;
  private last_: number | null = null;

  constructor() {
    this.used_[0] = 1;
  }

  allocate(): number | null {
    if (this.inUse_ === MAX_ID) return null;
    const start = this.last_ === null || this.last_ === MAX_ID ? 1 : this.last_ + 1;
    const id = this.findFree_(start) ?? this.findFree_(1);
    if (id === null) return null;
    this.mark_(id);
    this.last_ = id;
    return id;
  }

  getLastAllocated(): number | null {
    return this.last_;
  }

  register(id: number): boolean {
    if (!isValidId(id) || this.isUsed(id)) return false;
    this.mark_(id);
    return true;
  }

  deallocate(id: number): void {
    if (!isValidId(id) || !this.isUsed(id)) return;
    this.used_[id >>> 5] &= ~(1 << (id & 31));
    this.inUse_--;
  }

  clear(): void {
    this.used_.fill(0);
    this.used_[0] = 1;
    this.inUse_ = 0;
  }

  /** Number of ids in use. */
  get size(): number {
    return this.inUse_;
  }

  isUsed(id: number): boolean {
    return (this.used_[id >>> 5] & (1 << (id & 31))) !== 0;
  }

  private mark_(id: number): void {
    this.used_[id >>> 5] |= 1 << (id & 31);
    this.inUse_++;
  }

  /** Lowest free id >= `from`, or null. */
  private findFree_(from: number): number | null {
    let word = from >>> 5;
    // Treat the bits below `from` in its first word as used.
    let free = ~this.used_[word] & (FULL << (from & 31));
    while (free === 0) {
      if (++word === WORDS) return null;
      if (this.used_[word] === FULL) continue;
      free = ~this.used_[word];
    }
    // Isolate the lowest set bit; 31 - clz32 gives its index.
    return (word << 5) | (31 - Math.clz32(free & -free));
  }
}

function isValidId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_ID;
}
