/**
 * Time arithmetic and display with the built-in Date and Intl only.
 *
 * Instants are milliseconds since the epoch; targets are elapsed time (24x7), so adding minutes
 * never depends on a zone. Zones matter only for display: the offset shown is the one in force
 * at that instant in that zone (so a DST change between creation and due time shows two
 * offsets), computed from Intl's wall-clock parts rather than from the host's zone.
 */
import type { Lang } from './types.js';

/** True when Intl knows `zone` (an IANA name such as Asia/Shanghai, or UTC). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Wall-clock fields of instant `ms` in `zone`. */
export function wallClock(ms: number, zone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts['year']!, month: parts['month']!, day: parts['day']!, hour: parts['hour']! % 24, minute: parts['minute']!, second: parts['second']! };
}

/** Offset of `zone` from UTC at instant `ms`, in minutes (Asia/Shanghai: +480). */
export function offsetMinutes(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `+08:00`, `-04:00`, `+00:00`. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/**
 * `2025-03-01 09:12 (UTC+08:00)` for an instant in a zone; seconds are shown only when not zero.
 * The same for every host zone and locale.
 */
export function formatInstant(ms: number, zone: string): string {
  const w = wallClock(ms, zone);
  const time = `${pad(w.hour)}:${pad(w.minute)}${w.second ? `:${pad(w.second)}` : ''}`;
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${time} (UTC${formatOffset(offsetMinutes(ms, zone))})`;
}

/** An instant as ISO 8601 in `zone`'s offset at that instant, e.g. `2025-03-01T09:12:00+08:00`. */
export function isoInZone(ms: number, zone: string): string {
  const w = wallClock(ms, zone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${formatOffset(offsetMinutes(ms, zone))}`;
}

/** A duration in words: `1 h 25 min`, `2 d 3 h`, `< 1 min`; zh-CN `1 小时 25 分钟`. */
export function formatDuration(ms: number, lang: Lang): string {
  const total = Math.floor(Math.abs(ms) / 60000);
  if (total === 0) return lang === 'en' ? '< 1 min' : '不到 1 分钟';
  const d = Math.floor(total / 1440);
  const h = Math.floor((total % 1440) / 60);
  const m = total % 60;
  const units = lang === 'en' ? ['d', 'h', 'min'] : ['天', '小时', '分钟'];
  const parts: string[] = [];
  if (d) parts.push(`${d} ${units[0]}`);
  if (h) parts.push(`${h} ${units[1]}`);
  if (m && !d) parts.push(`${m} ${units[2]}`);
  return parts.join(' ');
}

/** A whole number of minutes in words (`2 h`, `30 min`, `1 d`). */
export function formatMinutes(minutes: number, lang: Lang): string {
  return formatDuration(minutes * 60000, lang);
}

/** Parses an ISO 8601 time with offset (already validated) to epoch milliseconds. */
export function parseInstant(iso: string): number {
  return Date.parse(iso);
}
