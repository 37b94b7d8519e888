// Structured logs (pino): one JSON line per event, to stdout by default or to a file (`log_file`).
import { type DestinationStream, type Logger, pino } from "pino";

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { name: "natter" }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}

/** A log file that can be reopened after logrotate moved it away (the same path, a new file). */
export interface LogFile {
  destination: DestinationStream;
  reopen(): void;
  /** Writes what is buffered now (before the process exits: the file is written asynchronously). */
  flush(): void;
}

export function openLogFile(path: string): LogFile {
  const destination = pino.destination({ dest: path, sync: false, mkdir: true });
  return {
    destination,
    reopen: () => destination.reopen(),
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // Not open yet (nothing written): nothing to flush.
      }
    },
  };
}
