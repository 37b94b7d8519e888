// What the presence scenario reads from one client's socket after bind: whole top-level <presence/> and <iq/>
// stanzas, cut from the byte stream without a full XML parser (thousands of sessions share the load
// generator's core). After bind a server sends only stanzas, each a complete element whose start tag is the
// first thing after the previous one; none of the ones this scenario gets nests an element of its own name
// (a roster result holds <query><item/>…</query>, a presence <show/> and <status/>).

export interface PresenceStanza {
  /** The sender's bare JID ("" when there is no from). */
  fromBare: string;
  /** The type attribute, undefined for available presence (RFC 6121 §4.7.1). */
  type: string | undefined;
  /** The <status/> text, undefined when there is none. */
  status: string | undefined;
}

export interface IqStanza {
  id: string;
  type: string;
  xml: string;
}

const START = /<([A-Za-z][\w:.-]*)/y;
const FROM = /\sfrom=["']([^"'/]+)(?:\/[^"']*)?["']/;
const TYPE = /\stype=["']([^"']+)["']/;
const ID = /\sid=["']([^"']+)["']/;
const STATUS = /<status(?:\s[^>]*)?>([^<]*)<\/status>/;

export class PresenceStream {
  private rest = "";

  constructor(
    private readonly onPresence: (p: PresenceStanza) => void,
    private readonly onIq: (iq: IqStanza) => void,
  ) {}

  feed(chunk: string): void {
    const s = this.rest === "" ? chunk : this.rest + chunk;
    let pos = 0;
    for (;;) {
      const lt = s.indexOf("<", pos);
      if (lt < 0) {
        pos = s.length;
        break;
      }
      START.lastIndex = lt;
      const m = START.exec(s);
      const gt = s.indexOf(">", lt);
      if (m === null || gt < 0) {
        // An end tag (</stream:stream>) or a tag cut by the chunk boundary.
        if (s[lt + 1] === "/" && gt >= 0) {
          pos = gt + 1;
          continue;
        }
        pos = lt;
        break;
      }
      const name = m[1] ?? "";
      let end: number;
      if (s[gt - 1] === "/") end = gt + 1;
      else {
        const close = s.indexOf(`</${name}>`, gt);
        if (close < 0) {
          pos = lt;
          break;
        }
        end = close + name.length + 3;
      }
      const xml = s.slice(lt, end);
      const head = s.slice(lt, gt + 1);
      pos = end;
      if (name === "presence") {
        this.onPresence({
          fromBare: FROM.exec(head)?.[1] ?? "",
          type: TYPE.exec(head)?.[1],
          status: STATUS.exec(xml)?.[1],
        });
      } else if (name === "iq") {
        this.onIq({ id: ID.exec(head)?.[1] ?? "", type: TYPE.exec(head)?.[1] ?? "", xml });
      }
    }
    this.rest = pos >= s.length ? "" : s.slice(pos);
  }
}
