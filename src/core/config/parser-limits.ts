// The parser limits of a stream kind (c2s, s2s) from its config section: the normal ones and the smaller
// ones that apply until the stream authenticates.
import type { StreamParserLimits } from "../xml/stream-parser.js";

interface LimitKeys {
  max_stanza_size: number;
  max_elements_per_stanza: number;
  max_attributes_per_element: number;
  pre_auth: { max_stanza_size: number; max_elements_per_stanza: number };
}

export function parserLimits(section: LimitKeys, maxDepth: number): { limits: StreamParserLimits; preAuthLimits: StreamParserLimits } {
  const limits = {
    maxStanzaBytes: section.max_stanza_size,
    maxDepth,
    maxElements: section.max_elements_per_stanza,
    maxAttributes: section.max_attributes_per_element,
  };
  return {
    limits,
    preAuthLimits: {
      ...limits,
      // Never larger than the normal limits, whatever the config says.
      maxStanzaBytes: Math.min(section.pre_auth.max_stanza_size, section.max_stanza_size),
      maxElements: Math.min(section.pre_auth.max_elements_per_stanza, section.max_elements_per_stanza),
    },
  };
}
