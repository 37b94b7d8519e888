// Structured logs (pino): one JSON line per event, to stdout by default.
import { type DestinationStream, type Logger, pino } from "pino";

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { name: "natter" }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
