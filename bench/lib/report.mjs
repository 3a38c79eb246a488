// Formatting: plain-text tables, number formats, baseline comparison.

/** Renders rows (arrays of cells) as an aligned table; numeric-looking cells are right-aligned. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))));
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = (s) => /^[<>~≥≤]?-?[\d.,]+(?:[a-z%×]*)?$/i.test(s) || s === '-' || s === 'n/a';
  const line = (r) =>
    r
      .map((c, i) => (i > 0 && numeric(c) ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join('  ')
      .trimEnd();
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** Renders the same rows as a GitHub-flavoured Markdown table. */
export function markdownTable(header, rows) {
  const esc = (c) => (c === undefined || c === null ? '' : String(c)).replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** 3 significant digits, no exponent. */
export function sig(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 10 ** digits) return String(Math.round(x));
  const d = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return x.toFixed(Math.min(d, 6));
}

export function secs(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1);
}

export function fmtBytes(n) {
  if (n >= 1e9) return `${sig(n / 1e9)} GB`;
  if (n >= 1e6) return `${sig(n / 1e6)} MB`;
  if (n >= 1e3) return `${sig(n / 1e3)} KB`;
  return `${n} B`;
}

export function fmtCount(n) {
  if (n === null || n === undefined) return 'n/a';
  if (n >= 1e6) return `${sig(n / 1e6)}M`;
  if (n >= 1e4) return `${sig(n / 1e3)}k`;
  return String(n);
}

/** A ratio with its bound marker: '<0.012' when the measured side timed out. */
export function fmtRatio(r, threshold) {
  if (!r || r.value === null || r.value === undefined) return 'n/a';
  // Next to a threshold, 3 significant digits can round a miss up to it (1.696 shown as 1.70 FAIL).
  const shown = threshold !== undefined && r.value < threshold && Number(sig(r.value)) >= threshold ? r.value.toFixed(4) : sig(r.value);
  return `${r.bound === 'upper' ? '<' : r.bound === 'lower' ? '>' : ''}${shown}`;
}

// ---------------------------------------------------------------------------------------------
// Baseline comparison

/** Flattens a results object into {key: {value, better: 'higher'|'lower', kind}}. */
export function flattenMetrics(results) {
  const out = {};
  for (const [key, c] of Object.entries(results.cases ?? {})) {
    if (!c.summary || c.summary.status === 'skipped' || c.summary.status === 'error') continue;
    const s = c.summary;
    const exact = s.status === 'ok';
    if (!exact) continue; // a timed-out run only gives a bound; not comparable
    // One throughput figure per case (files/s for many small files, MB/s for bulk data, wall
    // time for start-up), plus CPU time and peak RSS.
    if (c.files >= 1000 && s.filesps !== null) out[`${key} files/s`] = { value: s.filesps, better: 'higher', kind: 'time' };
    else if (c.bytes >= 1e6 && s.mbps !== null) out[`${key} MB/s`] = { value: s.mbps, better: 'higher', kind: 'time' };
    else if (s.wall !== null) out[`${key} wall ms`] = { value: s.wall * 1000, better: 'lower', kind: 'time' };
    if (s.cpu !== null) out[`${key} CPU s`] = { value: s.cpu, better: 'lower', kind: 'time' };
    if (s.rssMB !== null) out[`${key} peak RSS MB`] = { value: s.rssMB, better: 'lower', kind: 'memory' };
  }
  for (const [key, r] of Object.entries(results.ratios ?? {})) {
    if (r.value === null || r.bound) continue;
    out[`ratio ${key}`] = { value: r.value, better: 'higher', kind: 'ratio' };
  }
  return out;
}

/**
 * Compares two results objects. A metric is marked when it is worse than the baseline by more
 * than `threshold` (0.15): time metrics take 15 % longer (throughput below baseline/1.15), memory
 * is 15 % higher, a ratio to the reference tool is 15 % lower.
 */
export function compareResults(base, cur, threshold = 0.15) {
  const a = flattenMetrics(base);
  const b = flattenMetrics(cur);
  const rows = [];
  let regressions = 0;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const missing = [];
  for (const k of keys) {
    if (!a[k] || !b[k]) {
      missing.push(`${k} (${a[k] ? 'not measured now' : 'not in baseline'})`);
      continue;
    }
    const x = a[k].value;
    const y = b[k].value;
    const delta = x === 0 ? null : (y - x) / x;
    // "worse by": how much longer / bigger / lower, expressed so that 0.15 means a 15 % slowdown.
    const worse = a[k].better === 'lower' ? (x > 0 ? y / x - 1 : 0) : y > 0 ? x / y - 1 : Infinity;
    let mark = '';
    if (worse > threshold) {
      regressions++;
      mark = a[k].kind === 'memory' ? 'MORE MEMORY >15%' : a[k].kind === 'ratio' ? 'WORSE vs ref >15%' : 'SLOWER >15%';
    } else if (-worse / (1 + worse) > threshold) mark = 'better';
    rows.push([k, sig(x), sig(y), delta === null ? 'n/a' : `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)}%`, mark]);
  }
  // Condense "only in one run" to case names.
  const byCase = new Map();
  for (const m of missing) {
    const [, name, why] = /^(.*?) (?:MB\/s|files\/s|wall ms|CPU s|peak RSS MB|)\s*\((.*)\)$/.exec(m) ?? [null, m, ''];
    const k = `${why}`;
    if (!byCase.has(k)) byCase.set(k, new Set());
    byCase.get(k).add(name.replace(/ (MB\/s|files\/s|wall ms|CPU s|peak RSS MB)$/, ''));
  }
  const missingSummary = [...byCase].map(([why, set]) => `${why}: ${[...set].join(', ')}`);
  return { rows, regressions, missing: missingSummary };
}
