// One progress line on stderr: which section and case runs, and how far the run is.
const isTTY = process.stderr.isTTY;
let last = '';
let lastPrint = 0;
const t0 = Date.now();

function elapsed() {
  const s = Math.round((Date.now() - t0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export const progress = {
  enabled: true,
  /** Show `[section i/n] text`; on a terminal it rewrites one line, else one line per change (rate-limited). */
  update(section, text) {
    if (!this.enabled) return;
    const line = `[${elapsed()}] ${section}: ${text}`;
    if (line === last) return;
    last = line;
    if (isTTY) {
      const cols = process.stderr.columns || 120;
      process.stderr.write('\r\x1b[2K' + line.slice(0, cols - 1));
    } else {
      const nowMs = Date.now();
      if (nowMs - lastPrint < 250) return;
      lastPrint = nowMs;
      process.stderr.write(line + '\n');
    }
  },
  /** Clear the progress line before normal output. */
  clear() {
    if (isTTY && last) process.stderr.write('\r\x1b[2K');
    last = '';
  },
};
