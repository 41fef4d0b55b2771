// One self-overwriting status line on stderr for long CLI work; plain lines at most every few
// seconds when stderr is not a terminal (logs, CI), so nothing floods.

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function bar(fraction: number, widthChars = 24): string {
  const f = Math.min(Math.max(fraction, 0), 1);
  const full = Math.round(f * widthChars);
  return `[${'#'.repeat(full)}${'-'.repeat(widthChars - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

export class ProgressLine {
  private lastPlainMs = 0;
  private shown = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly plainEveryMs = 5000) {}

  update(text: string): void {
    if (this.stream.isTTY) {
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${text.slice(0, cols - 1).padEnd(cols - 1)}`);
      this.shown = true;
    } else if (Date.now() - this.lastPlainMs >= this.plainEveryMs) {
      this.lastPlainMs = Date.now();
      this.stream.write(`${text}\n`);
    }
  }

  /** Prints a permanent line (an epoch summary, a warning) without garbling the status line. */
  log(text: string): void {
    this.done();
    this.stream.write(`${text}\n`);
  }

  done(): void {
    if (this.shown) this.stream.write('\n');
    this.shown = false;
  }
}
