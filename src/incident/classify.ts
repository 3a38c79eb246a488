/**
 * Classification: the internal level (P0-P3) from the incident's answers, by the first matching
 * rule of a {@link ClassificationPolicy}, and the ticket API severity for that level.
 *
 * The ticket API (workorder 2021-06-10, CreateTicket.Severity) has exactly two severities:
 * 1 = Normal (一般) and 2 = Urgent (紧急). Which internal level maps to which is *our* policy
 * (policy/classification.json), never presented as an Alibaba Cloud rule.
 */
import type { ClassificationPolicy, Incident, Lang, Level, Localized } from './types.js';
import { LEVELS } from './types.js';

/** Where the two API severities are defined (verified: research notes §2.2, source S29). */
export const API_SEVERITY_SOURCE = 'https://www.alibabacloud.com/help/en/ticket-system-api/latest/api-workorder-2021-06-10-createticket';

/** Names of the ticket API severities, as the API documentation gives them. */
export const API_SEVERITY_NAMES: Readonly<Record<1 | 2, Localized>> = {
  1: { en: 'Normal', 'zh-CN': '一般' },
  2: { en: 'Urgent', 'zh-CN': '紧急' },
};

/** The outcome of classifying one incident. */
export interface Classification {
  /** The level in effect: the one chosen in the file, else the derived one. */
  readonly level: Level;
  /** `chosen`: the file's `level`; `derived`: from the answers. */
  readonly basis: 'chosen' | 'derived';
  /** The level the answers give; undefined when some answer is missing. */
  readonly derived?: Level;
  /** Why the answers give that level (the matching rule's reason). */
  readonly reason?: Localized;
  /** Answers not given (as field names under `impact`). */
  readonly missingAnswers: readonly string[];
  /** Set when the chosen level differs from the derived one, in words. */
  readonly contradiction?: Localized;
  /** Ticket API severity for the level in effect (by policy). */
  readonly apiSeverity: 1 | 2;
  /** Escalation steps for the level in effect. */
  readonly escalation: Localized<readonly string[]>;
}

const rank = (l: Level): number => LEVELS.indexOf(l);

/**
 * Classifies an incident under a policy. Pure: same inputs, same result.
 * A chosen level stays in effect even when it contradicts the answers (it may already be on a
 * filed ticket); the contradiction is reported instead, for a person to resolve.
 */
export function classify(incident: Incident, policy: ClassificationPolicy): Classification {
  const i = incident.impact;
  const missingAnswers = (['productionDown', 'dataLoss', 'workaround', 'scope'] as const).filter((k) => i[k] === undefined);
  let derived: Level | undefined;
  let reason: Localized | undefined;
  if (missingAnswers.length === 0) {
    for (const r of policy.rules) {
      const w = r.when;
      if (w.productionDown !== undefined && w.productionDown !== i.productionDown) continue;
      if (w.dataLoss !== undefined && w.dataLoss !== i.dataLoss) continue;
      if (w.workaround !== undefined && w.workaround !== i.workaround) continue;
      if (w.scope !== undefined && !w.scope.includes(i.scope!)) continue;
      derived = r.level;
      reason = r.reason;
      break;
    }
  }
  const chosen = incident.level;
  // The schema guarantees a level or all four answers; a policy whose rules match nothing leaves
  // the least severe level, flagged as having no rule.
  const level: Level = chosen ?? derived ?? 'P3';
  let contradiction: Localized | undefined;
  if (chosen && derived && reason && chosen !== derived) {
    contradiction =
      rank(chosen) > rank(derived)
        ? {
            en: `${chosen} chosen but ${reason.en} (the answers give ${derived})`,
            'zh-CN': `选择了 ${chosen}，但${reason['zh-CN']}（按回答应为 ${derived}）`,
          }
        : {
            en: `${chosen} chosen but the answers give ${derived}: ${reason.en}`,
            'zh-CN': `选择了 ${chosen}，但按回答应为 ${derived}：${reason['zh-CN']}`,
          };
  }
  const lp = policy.levels[level];
  return {
    level,
    basis: chosen ? 'chosen' : 'derived',
    derived,
    reason,
    missingAnswers,
    contradiction,
    apiSeverity: lp.apiSeverity,
    escalation: lp.escalation,
  };
}

/** `2 (Urgent / 紧急)` style label for an API severity in a language. */
export function severityLabel(sev: 1 | 2, lang: Lang): string {
  const n = API_SEVERITY_NAMES[sev];
  return lang === 'en' ? `${sev} (${n.en} / ${n['zh-CN']})` : `${sev}（${n['zh-CN']} / ${n.en}）`;
}
