import type { NetworkInterface } from "../../protocol/network-interface.js";
import { boundInterfaceReport } from "./bound-interface-report.js";
import type { InterfaceReader } from "./read-network-interfaces.js";

export interface NetworkInterfaceMonitorOptions {
  read: InterfaceReader;
  /** How often the interfaces are read again, so a cable plugged in shows. Default 10 s. */
  refreshMs?: number;
  /** Hears of a read that failed after one that did not (not of each failure in a row); the last good list stays. */
  onError?: (error: unknown) => void;
  /** Hears that a read found the interfaces changed (not of the first read). */
  onChange?: () => void;
  /**
   * A cheap look between reads (e.g. the addresses Node lists, no command run): when what it
   * returns changes, the interfaces are read at once instead of at the next refresh.
   */
  watch?: () => string;
  /** How often `watch` looks. Default 2 s. */
  watchMs?: number;
}

const defaultRefreshMs = 10_000;
const defaultWatchMs = 2_000;

/**
 * Keeps this machine's interface list fresh for the node profile, which is built synchronously
 * every few seconds while reading the interfaces takes I/O (and on macOS, commands).
 */
export class NetworkInterfaceMonitor {
  private latest: NetworkInterface[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private disposed = false;
  private failing = false;

  constructor(private readonly options: NetworkInterfaceMonitorOptions) {}

  /** Reads the interfaces once, then again every `refreshMs` and whenever `watch` sees a change. */
  async start(): Promise<void> {
    const { watch } = this.options;
    let seen = watch?.();
    await this.refresh();
    if (this.disposed) return;
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? defaultRefreshMs);
    this.timer.unref();
    if (watch) {
      this.watcher = setInterval(() => {
        const now = watch();
        if (now === seen) return;
        seen = now;
        void this.refresh();
      }, this.options.watchMs ?? defaultWatchMs);
      this.watcher.unref();
    }
  }

  /** The last list read; undefined until a read has succeeded. */
  current(): NetworkInterface[] | undefined {
    return this.latest;
  }

  /** Reads the interfaces now (a read already under way is reused). */
  refresh(): Promise<void> {
    this.reading ??= this.options
      .read()
      .then(
        (interfaces) => {
          const previous = this.latest;
          this.latest = boundInterfaceReport(interfaces);
          this.failing = false;
          if (previous && JSON.stringify(previous) !== JSON.stringify(this.latest)) this.options.onChange?.();
        },
        (error: unknown) => {
          if (!this.failing) this.options.onError?.(error);
          this.failing = true;
        },
      )
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.timer);
    clearInterval(this.watcher);
    await this.reading;
  }
}
