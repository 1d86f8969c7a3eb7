// Hand-written SVG: stacked panels of horizontal bars (one bar per library or configuration).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLORS = { highlight: '#d9480f', reference: '#1c7ed6', other: '#868e96', missing: '#dee2e6' };

/**
 * panels: [{ title, bars: [{ label, value, kind?: 'highlight'|'reference'|'other', note? }],
 *            format: (v) => string, goal?: { value, label } }]
 * Bars with a non-finite value are drawn as "n/a". legend: [[kind, name]] under the panels.
 */
export function barChart({ title, subtitle, panels, width = 760, labelW = 210, legend = [['highlight', 'arenacache'], ['reference', 'reference'], ['other', 'peers']] }) {
  const valueW = 110;
  const barMax = width - labelW - valueW - 20;
  const rowH = 20;
  const out = [];
  let y = 28;
  out.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">${esc(title)}</text>`);
  if (subtitle) {
    y += 18;
    out.push(`<text x="10" y="${y}" font-size="11" fill="#495057">${esc(subtitle)}</text>`);
  }
  y += 14;
  for (const p of panels) {
    y += 22;
    const hasGoal = p.goal && Number.isFinite(p.goal.value);
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(p.title)}${hasGoal ? `<tspan font-weight="normal" font-size="11" fill="#2b8a3e">  ┆ dashed: ${esc(p.goal.label)}</tspan>` : ''}</text>`);
    y += 8;
    const finite = p.bars.map((b) => b.value).filter((v) => Number.isFinite(v));
    const max = Math.max(...finite, p.goal && Number.isFinite(p.goal.value) ? p.goal.value : 0, 1e-12);
    const top = y;
    for (const b of p.bars) {
      const ok = Number.isFinite(b.value);
      const w = ok ? Math.max(1, (b.value / max) * barMax) : 0;
      const color = COLORS[ok ? b.kind ?? 'other' : 'missing'];
      out.push(`<text x="${labelW - 6}" y="${y + 14}" font-size="12" text-anchor="end">${esc(b.label)}</text>`);
      out.push(`<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`);
      const txt = ok ? p.format(b.value) : b.note ?? 'n/a';
      out.push(`<text x="${(labelW + w + 5).toFixed(1)}" y="${y + 14}" font-size="11" fill="#212529">${esc(txt)}${b.note && ok ? ' ' + esc(b.note) : ''}</text>`);
      y += rowH;
    }
    if (p.goal && Number.isFinite(p.goal.value)) {
      const gx = labelW + (p.goal.value / max) * barMax;
      out.push(`<line x1="${gx.toFixed(1)}" y1="${top}" x2="${gx.toFixed(1)}" y2="${y}" stroke="#2b8a3e" stroke-dasharray="4 3" stroke-width="1.5"/>`);
    }
  }
  y += 16;
  const legendY = y;
  let lx = 10;
  for (const [k, name] of legend) {
    out.push(`<rect x="${lx}" y="${legendY - 9}" width="10" height="10" fill="${COLORS[k]}"/><text x="${lx + 14}" y="${legendY}" font-size="11">${esc(name)}</text>`);
    lx += 24 + name.length * 6.5;
  }
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}
