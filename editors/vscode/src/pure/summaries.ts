// The latest coverage summary of every workspace folder, shared by the
// status bar and the coverage view. No `vscode` import.

import type { CoverageSummary } from './protocol';

export class SummaryStore {
  private readonly byRoot = new Map<string, CoverageSummary>();
  private readonly listeners: Array<() => void> = [];

  get all(): ReadonlyMap<string, CoverageSummary> {
    return this.byRoot;
  }

  set(summary: CoverageSummary): void {
    this.byRoot.set(summary.root, summary);
    this.changed();
  }

  /** A restarted server reports afresh; figures of the old one must not linger. */
  clear(): void {
    this.byRoot.clear();
    this.changed();
  }

  onChange(listener: () => void): { dispose(): void } {
    this.listeners.push(listener);
    return {
      dispose: () => {
        const i = this.listeners.indexOf(listener);
        if (i >= 0) this.listeners.splice(i, 1);
      },
    };
  }

  private changed(): void {
    for (const l of [...this.listeners]) {
      l();
    }
  }
}
