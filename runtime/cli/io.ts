/** Reading standard input, for `pub -s`, `pub -M`, `decode -` and `encode -`. */
import { createInterface } from 'node:readline';

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Lines of standard input as they arrive, without the line ending (LF or CRLF). */
export function stdinLines(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
}

/** Writes to stdout and waits when its buffer is full, so a slow pipe slows us down. */
export function writeOut(data: string | Uint8Array): Promise<void> | undefined {
  if (process.stdout.write(data)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}
