/**
 * Buffer allocation for encoders. In Node the encoder allocates with `Buffer.allocUnsafe`
 * (pooled, not zero-filled: every byte is written before the buffer is returned); elsewhere
 * a plain `Uint8Array`. Reaching `Buffer` through globalThis keeps the codec free of Node imports.
 */
type Allocator = (size: number) => Uint8Array;

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe: Allocator } }).Buffer;

export const alloc: Allocator = NodeBuffer
  ? (size) => NodeBuffer.allocUnsafe(size)
  : (size) => new Uint8Array(size);
