// Translates an RE2 pattern into the same pattern for ripgrep's (Rust) regex engine in its
// default Unicode mode.
//
// The one semantic difference that matters here: in RE2, \d \w \s \b (and \D \W \S \B) are
// ASCII-only; in Rust's Unicode mode they are Unicode-aware, so rg would match other text and,
// worse for a benchmark, its DFA gives up on a Unicode word boundary as soon as it meets
// non-ASCII input. rg's --no-unicode would fix both but (rg 13) then rejects every pattern with a
// CJK literal or \p{Han}, even inside (?u:…). So the Perl classes are spelled out as ASCII
// classes and \b becomes (?-u:\b); everything else (including (?i), which folds like RE2 in
// Unicode mode) is left as is.
const PERL = {
  d: '[0-9]',
  D: '[^0-9]',
  w: '[0-9A-Za-z_]',
  W: '[^0-9A-Za-z_]',
  s: '[\\t\\n\\f\\r ]',
  S: '[^\\t\\n\\f\\r ]',
};

export function re2ToRg(p) {
  let out = '';
  let inClass = false;
  let classStart = false; // just after "[" or "[^": a "]" here is a literal
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') {
      const n = p[i + 1];
      i++;
      if (n === undefined) {
        out += '\\';
        break;
      }
      classStart = false;
      // Inside a class Rust accepts a nested class ([x[0-9]]), so the same spelling works there.
      if (PERL[n]) out += PERL[n];
      else if ((n === 'b' || n === 'B') && !inClass) out += `(?-u:\\${n})`;
      else out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (ch === '[' && p[i + 1] === ':') {
        const end = p.indexOf(':]', i + 2);
        if (end > 0) {
          out += p.slice(i, end + 2);
          i = end + 1;
          classStart = false;
          continue;
        }
      }
      if (ch === ']' && !classStart) inClass = false;
      classStart = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      classStart = true;
      out += ch;
      if (p[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    out += ch;
  }
  return out;
}
