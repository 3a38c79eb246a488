/**
 * The SLA clock: due times of the response targets that apply to an incident (plan × level from
 * an {@link SlaPolicy}), their status at a given instant, breach records, and the follow-up
 * cadence. Pure functions of (incident, level, policy, now): no clock is read here.
 *
 * Targets count elapsed time from the ticket's creation (24x7); a target is breached when the
 * event (first response, resolution) came after the due time, or has not come and `now` is past it.
 */
import type { Incident, Level, SlaPolicy, SlaTargetRow } from './types.js';
import { isoInZone, parseInstant } from './time.js';

/** What a target measures. */
export type TargetKind = 'firstResponse' | 'resolution';

/** One target's state. Times are ISO 8601 in the display zone. */
export interface TargetStatus {
  readonly kind: TargetKind;
  readonly minutes: number;
  readonly due: string;
  /** When the event happened, if it has. */
  readonly metAt?: string;
  /** `met`: in time; `pending`: not yet, not late; `breached`: late (met late, or still open past due). */
  readonly state: 'met' | 'pending' | 'breached';
  /** Due minus (event, else now), in ms: positive = time to spare, negative = late by. */
  readonly marginMs: number;
  readonly verified: boolean;
  readonly source: string;
  readonly sowVersion: string;
  readonly quotedAs?: string;
  readonly note?: string;
}

/** What a credit claim needs about one breach. Holds no free text from the incident. */
export interface BreachRecord {
  readonly incidentId: string;
  readonly ticketNumber?: string;
  readonly plan: string;
  readonly level: Level;
  readonly target: TargetKind;
  readonly targetMinutes: number;
  readonly ticketCreatedAt: string;
  readonly dueAt: string;
  /** When the event came; undefined while it still has not (the breach is ongoing). */
  readonly metAt?: string;
  readonly ongoing: boolean;
  /** Whole minutes late (as of `asOf` when ongoing). */
  readonly breachedByMinutes: number;
  readonly asOf: string;
  /** false: the target is not verified against your contract; check the SOW before claiming. */
  readonly verified: boolean;
  readonly source: string;
  readonly sowVersion: string;
}

/** Why no target could be computed, if so. */
export type SlaGap = 'no-plan' | 'unknown-plan' | 'no-targets' | 'no-ticket';

/** The SLA clock of one incident at one instant. */
export interface SlaClock {
  readonly incidentId: string;
  readonly zone: string;
  readonly now: string;
  readonly level: Level;
  /** The policy's plan id matched from `account.plan`. */
  readonly plan?: string;
  readonly ticketCreatedAt?: string;
  readonly targets: readonly TargetStatus[];
  readonly breaches: readonly BreachRecord[];
  readonly gaps: readonly SlaGap[];
  /** The policy's target row (plan × level), when there is one. */
  readonly row?: SlaTargetRow;
  readonly followUp: {
    readonly everyMinutes: number;
    readonly source: string;
    /** Next update due (from the last update, else the ticket's creation); none once resolved or before filing. */
    readonly nextDue?: string;
    /** Due minus now, in ms (negative: overdue). */
    readonly marginMs?: number;
  };
}

/** The zone times are shown in: `account.timeZone`, else Asia/Shanghai for cn and UTC for intl. */
export function displayZone(incident: Incident): string {
  return incident.account.timeZone ?? (incident.account.site === 'cn' ? 'Asia/Shanghai' : 'UTC');
}

/** The policy's plan id for the incident's `account.plan` (by id or name, case-insensitive). */
export function matchPlan(incident: Incident, policy: SlaPolicy): string | undefined {
  const want = incident.account.plan?.trim().toLowerCase();
  if (!want) return undefined;
  return policy.plans.find((p) => p.id === want || p.names.some((n) => n.trim().toLowerCase() === want))?.id;
}

/**
 * Computes the SLA clock.
 * @param level the level in effect (from classification).
 * @param now the instant the status is computed for (epoch ms).
 */
export function computeSla(incident: Incident, level: Level, policy: SlaPolicy, now: number): SlaClock {
  const zone = displayZone(incident);
  const plan = matchPlan(incident, policy);
  const gaps: SlaGap[] = [];
  if (!incident.account.plan) gaps.push('no-plan');
  else if (!plan) gaps.push('unknown-plan');
  const row = plan ? policy.targets.find((t) => t.plan === plan && t.level === level) : undefined;
  if (plan && (!row || (row.firstResponseMinutes === undefined && row.resolutionMinutes === undefined))) gaps.push('no-targets');
  const createdIso = incident.ticket?.createdAt;
  if (!createdIso) gaps.push('no-ticket');
  const targets: TargetStatus[] = [];
  const breaches: BreachRecord[] = [];
  if (row && createdIso) {
    const created = parseInstant(createdIso);
    const kinds: Array<[TargetKind, number | undefined, string | undefined]> = [
      ['firstResponse', row.firstResponseMinutes, incident.ticket?.firstResponseAt],
      ['resolution', row.resolutionMinutes, incident.ticket?.resolvedAt],
    ];
    for (const [kind, minutes, eventIso] of kinds) {
      if (minutes === undefined) continue;
      const due = created + minutes * 60000;
      const event = eventIso === undefined ? undefined : parseInstant(eventIso);
      const marginMs = due - (event ?? now);
      const state = marginMs < 0 ? 'breached' : event !== undefined ? 'met' : 'pending';
      const t: TargetStatus = {
        kind,
        minutes,
        due: isoInZone(due, zone),
        ...(event !== undefined ? { metAt: isoInZone(event, zone) } : {}),
        state,
        marginMs,
        verified: row.verified,
        source: row.source,
        sowVersion: row.sowVersion,
        ...(row.quotedAs ? { quotedAs: row.quotedAs } : {}),
        ...(row.note ? { note: row.note } : {}),
      };
      targets.push(t);
      if (state === 'breached') {
        breaches.push({
          incidentId: incident.id,
          ...(incident.ticket?.number ? { ticketNumber: incident.ticket.number } : {}),
          plan: plan!,
          level,
          target: kind,
          targetMinutes: minutes,
          ticketCreatedAt: isoInZone(created, zone),
          dueAt: t.due,
          ...(t.metAt ? { metAt: t.metAt } : {}),
          ongoing: event === undefined,
          breachedByMinutes: Math.floor(-marginMs / 60000),
          asOf: isoInZone(now, zone),
          verified: row.verified,
          source: row.source,
          sowVersion: row.sowVersion,
        });
      }
    }
  }
  const every = policy.followUp[level].everyMinutes;
  let nextDue: number | undefined;
  if (createdIso && !incident.ticket?.resolvedAt) nextDue = parseInstant(incident.ticket?.lastUpdateAt ?? createdIso) + every * 60000;
  return {
    incidentId: incident.id,
    zone,
    now: isoInZone(now, zone),
    level,
    ...(plan ? { plan } : {}),
    ...(createdIso ? { ticketCreatedAt: isoInZone(parseInstant(createdIso), zone) } : {}),
    targets,
    breaches,
    gaps,
    ...(row ? { row } : {}),
    followUp: {
      everyMinutes: every,
      source: policy.followUp.source,
      ...(nextDue !== undefined ? { nextDue: isoInZone(nextDue, zone), marginMs: nextDue - now } : {}),
    },
  };
}
