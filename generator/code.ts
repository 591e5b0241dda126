/** An indented list of generated lines, shared by the encoder and decoder emitters. */
import { normative } from './names.js';

export class Code {
  readonly lines: string[] = [];
  depth = 1;

  line(s: string): void {
    this.lines.push('  '.repeat(this.depth) + s);
  }

  /** A line that enforces a rule, under a comment with the normative ids its spec carries. */
  check(spec: string | undefined, s: string): void {
    for (const c of normative(spec)) this.line(c);
    this.line(s);
  }

  /** `body` inside `if (cond) { … }`, or as it is when there is no condition. */
  block(cond: string | undefined, body: () => void): void {
    if (cond === undefined) {
      body();
      return;
    }
    this.line(`if (${cond}) {`);
    this.depth++;
    body();
    this.depth--;
    this.line('}');
  }
}
