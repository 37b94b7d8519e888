// systemd readiness (Type=notify) without a native addon: Node cannot send on the unix datagram socket named
// by NOTIFY_SOCKET, so `systemd-notify --ready` does it for us once every listener is up. The unit sets
// NotifyAccess=all because the message comes from that child, not the main process; `--pid` names us as the
// main process, and systemd-notify waits until systemd has read the message (sd_notify_barrier, systemd ≥ 246),
// so the child exiting first is no race.
import { spawn } from "node:child_process";
import type { Logger } from "pino";

export function notifySystemd(log: Logger, status = "serving"): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const child = spawn("systemd-notify", ["--ready", `--pid=${process.pid}`, `--status=${status}`], { stdio: "ignore" });
  child.on("error", (err) => log.warn({ err: err.message }, "systemd-notify could not run: systemd will not see the server ready"));
  child.on("exit", (code) => {
    if (code === 0) log.debug("told systemd the server is ready");
    else log.warn({ code }, "systemd-notify failed: systemd will not see the server ready");
  });
}
