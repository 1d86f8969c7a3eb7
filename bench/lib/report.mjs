// Tables as aligned text (console) and as Markdown (results file).

export function textTable(headers, rows, { leftAll = false } = {}) {
  const all = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const w = headers.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => (i === 0 || leftAll ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(all[0]), w.map((x) => '-'.repeat(x)).join('  '), ...all.slice(1).map(line)];
}

export function mdTable(headers, rows) {
  const esc = (c) => String(c ?? '').replace(/\|/g, '\\|');
  const out = ['| ' + headers.map(esc).join(' | ') + ' |', '|' + headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|') + '|'];
  for (const r of rows) out.push('| ' + r.map(esc).join(' | ') + ' |');
  return out;
}

/**
 * A section's report: console lines and Markdown lines built together.
 */
export class Report {
  constructor() {
    this.text = [];
    this.md = [];
  }
  heading(s) {
    this.text.push('', s, '='.repeat([...s].length));
    this.md.push('', `### ${s}`, '');
  }
  para(s) {
    this.text.push(s);
    this.md.push(s, '');
  }
  note(s) {
    this.text.push('  note: ' + s);
    this.md.push(`> ${s}`, '');
  }
  table(title, headers, rows) {
    if (title) {
      this.text.push('', title);
      this.md.push(`**${title}**`, '');
    }
    this.text.push(...textTable(headers, rows).map((l) => '  ' + l));
    this.md.push(...mdTable(headers, rows), '');
  }
  chart(file, alt) {
    this.md.push(`![${alt}](${file})`, '');
  }
}

/** A target line: printed as a goal with reached / not reached, never asserted. */
export function target(section, goal, { value, reached, detail }) {
  return { section, goal, value, reached, detail };
}

export function targetMark(t) {
  if (t.info) return 'reported';
  return t.reached === true ? 'reached' : t.reached === false ? 'not reached' : 'not measured';
}
