// The root element of an XML file, read from its first bytes only (choosing the entry files of a directory).
import { open } from "node:fs/promises";
import { SaxesParser } from "saxes";

export async function peekRoot(path: string): Promise<{ ns: string; name: string } | undefined> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(16 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const parser = new SaxesParser({ xmlns: true });
    let root: { ns: string; name: string } | undefined;
    parser.on("opentagstart", () => {});
    parser.on("opentag", (tag) => {
      root ??= { ns: tag.uri, name: tag.local };
    });
    try {
      parser.write(buf.subarray(0, bytesRead).toString("utf8"));
    } catch {
      // A root not within the first bytes, or not XML: not an entry file.
    }
    return root;
  } finally {
    await handle.close();
  }
}
