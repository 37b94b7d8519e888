// IRC lines (RFC 1459 §2.3.1, RFC 2812 §2.3.1, IRCv3 message tags) parsed from and written to the wire. A hostile
// server may send anything: lines are capped (IrcLineReader), bytes that are not UTF-8 become U+FFFD, and a line
// that does not parse is dropped by the caller, never thrown past it.

export interface IrcMessage {
  /** The sender: "nick!user@host" or a server name; "" when absent. */
  prefix: string;
  /** Upper-cased command or three-digit numeric. */
  command: string;
  params: string[];
}

/** The nick of a "nick!user@host" prefix (or the whole prefix when it is a server name). */
export function nickOf(prefix: string): string {
  const bang = prefix.indexOf("!");
  return bang === -1 ? prefix : prefix.slice(0, bang);
}

/** Parses one line (without CR LF); undefined for a line with no command. */
export function parseIrcLine(line: string): IrcMessage | undefined {
  let rest = line;
  // IRCv3 message tags: we ask for none, a server may still send them; they are skipped.
  if (rest.startsWith("@")) {
    const sp = rest.indexOf(" ");
    if (sp === -1) return undefined;
    rest = rest.slice(sp + 1).trimStart();
  }
  let prefix = "";
  if (rest.startsWith(":")) {
    const sp = rest.indexOf(" ");
    if (sp === -1) return undefined;
    prefix = rest.slice(1, sp);
    rest = rest.slice(sp + 1).trimStart();
  }
  const params: string[] = [];
  let command = "";
  while (rest.length > 0) {
    if (command !== "" && rest.startsWith(":")) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(" ");
    const word = sp === -1 ? rest : rest.slice(0, sp);
    if (command === "") command = word.toUpperCase();
    else params.push(word);
    rest = sp === -1 ? "" : rest.slice(sp + 1).trimStart();
  }
  if (command === "" || !/^[A-Z]+$|^\d{3}$/.test(command)) return undefined;
  return { prefix, command, params };
}

/** Characters that would end or split an IRC line (RFC 2812 §2.3.1: no NUL, CR, LF). */
const LINE_BREAKERS = /[\0\r\n]/g;

/**
 * One line for the wire, with CR LF. Middle parameters lose spaces and a leading ':' (they cannot carry them);
 * the last one is sent as trailing when it needs to be. No parameter can inject a second command.
 */
export function serialiseIrcLine(command: string, ...params: string[]): string {
  const clean = params.map((p) => p.replace(LINE_BREAKERS, " "));
  const parts = [command];
  clean.forEach((p, i) => {
    const last = i === clean.length - 1;
    if (last && (p === "" || p.includes(" ") || p.startsWith(":"))) parts.push(`:${p}`);
    else parts.push(p.replaceAll(" ", "").replace(/^:+/, "") || "*");
  });
  return `${parts.join(" ")}\r\n`;
}

/**
 * Splits bytes from the socket into lines of at most `maxBytes`; a longer line is dropped whole (`onOverlong`
 * says so) and the buffer never holds more than `maxBytes`. Invalid UTF-8 is replaced, not fatal.
 */
export class IrcLineReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: () => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (!this.skipping) {
        if (this.size + piece.length > this.maxBytes) {
          this.skipping = true;
          this.buffered = [];
          this.size = 0;
          this.onOverlong();
        } else if (piece.length > 0) {
          this.buffered.push(piece);
          this.size += piece.length;
        }
      }
      if (nl === -1) break;
      if (!this.skipping) {
        const bytes = Buffer.concat(this.buffered);
        const line = this.decoder.decode(bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes);
        this.buffered = [];
        this.size = 0;
        if (line !== "") this.onLine(line);
      }
      this.skipping = false;
      start = nl + 1;
    }
  }
}

/** Splits text into pieces of at most `maxBytes` UTF-8 bytes without cutting a character in two. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const out: string[] = [];
  let current = "";
  let size = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (size + n > maxBytes && current !== "") {
      out.push(current);
      current = "";
      size = 0;
    }
    current += ch;
    size += n;
  }
  if (current !== "") out.push(current);
  return out;
}
