// Reading secrets and message text for CLI commands: a hidden prompt on a terminal, stdin otherwise.
import { createInterface } from "node:readline";

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A password: prompted (not echoed) on a terminal, else the first line of stdin. */
export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = await readStdin();
    return text.split(/\r?\n/)[0] ?? "";
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlAny = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let muted = false;
  rlAny._writeToOutput = (s: string) => {
    if (!muted || s.includes(prompt)) rlAny.output.write(s);
  };
  const answer = await new Promise<string>((resolve) => {
    rl.question(prompt, resolve);
    muted = true;
  });
  rl.close();
  process.stderr.write("\n");
  return answer;
}
