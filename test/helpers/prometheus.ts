/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), written to the format's
 * grammar (https://prometheus.io/docs/instrumenting/exposition_formats/) so that tests catch
 * malformed output — and accept everything Prometheus accepts:
 *
 *   line      = comment | sample | blank
 *   comment   = "# HELP " name " " escaped-text  |  "# TYPE " name " " type  |  "#" anything
 *   sample    = name [ "{" [ label { "," label } [","] ] "}" ] " " value [ " " timestamp ]
 *   label     = label-name "=" '"' escaped-value '"'      (escapes: \\  \"  \n)
 *   value     = a Go ParseFloat float: decimal / exponent, or NaN / Inf / +Inf / -Inf / Infinity in
 *               any letter case (prom-client prints `Nan` before the event-loop monitor has a sample)
 *   timestamp = an integer (ms)
 *
 * The npm package `parse-prometheus-text-format` was considered: it keeps values as strings and does
 * not check them (a value of `garbage` parses), which is what this helper must catch.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface Exposition {
  samples: Sample[];
  /** Family name → type. */
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;

/** A float as Go's strconv.ParseFloat reads it (what Prometheus uses); throws on anything else. */
export function parseFloatGo(text: string): number {
  const s = SPECIAL.exec(text);
  if (s) {
    if (s[2]!.toLowerCase() === 'nan') return NaN;
    return s[1] === '-' ? -Infinity : Infinity;
  }
  if (!DECIMAL.test(text)) throw new Error(`not a float: ${JSON.stringify(text)}`);
  return Number(text);
}

function unescape(text: string, allowQuote: boolean): string {
  return text.replace(/\\(.)/g, (all, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && allowQuote) return '"';
    return all; // kept as is, as Prometheus does
  });
}

function parseLabels(s: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let rest = s.slice(1); // after "{"
  for (;;) {
    rest = rest.replace(/^\s*/, '');
    if (rest.startsWith('}')) return { labels, rest: rest.slice(1) };
    const n = LABEL_NAME.exec(rest);
    if (!n) throw new Error(`bad label name: ${line}`);
    rest = rest.slice(n[0].length).replace(/^\s*/, '');
    if (!rest.startsWith('="') && !rest.startsWith('= "')) throw new Error(`expected ="…" after label ${n[0]}: ${line}`);
    rest = rest.slice(rest.indexOf('"') + 1);
    let value = '';
    let i = 0;
    for (; i < rest.length; i++) {
      const c = rest[i]!;
      if (c === '\\') {
        value += c + (rest[i + 1] ?? '');
        i++;
      } else if (c === '"') break;
      else value += c;
    }
    if (i >= rest.length) throw new Error(`unterminated label value: ${line}`);
    if (n[0] in labels) throw new Error(`duplicate label ${n[0]}: ${line}`);
    labels[n[0]] = unescape(value, true);
    rest = rest.slice(i + 1).replace(/^\s*/, '');
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (!rest.startsWith('}')) throw new Error(`expected , or } in labels: ${line}`);
  }
}

/** Parse an exposition; throws with the offending line. Every sample must belong to a TYPEd family. */
export function parsePrometheus(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // any other comment
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3] ?? '')) throw new Error(`bad type: ${line}`);
        if (types.has(m[2]!)) throw new Error(`second TYPE for ${m[2]}: ${line}`);
        types.set(m[2]!, m[3]!);
      } else help.set(m[2]!, unescape(m[3] ?? '', false));
      continue;
    }
    const n = NAME.exec(line);
    if (!n) throw new Error(`bad metric name: ${line}`);
    let rest = line.slice(n[0].length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error(`bad sample line: ${line}`);
    let value: number;
    try {
      value = parseFloatGo(parts[0]!);
    } catch {
      throw new Error(`bad value: ${line}`);
    }
    const sample: Sample = { name: n[0], labels, value };
    if (parts[1] !== undefined) {
      if (!/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp: ${line}`);
      sample.timestamp = Number(parts[1]);
    }
    const family = types.has(n[0]) ? n[0] : n[0].replace(/_(bucket|sum|count|total|created)$/, '');
    if (!types.has(family)) throw new Error(`sample without a TYPE: ${line}`);
    samples.push(sample);
  }
  return { samples, types, help };
}
