/**
 * Types of the incident file (schema/incident.schema.json) and of the two policies shipped in
 * policy/ (classification.json, sla.json). All of them are data: validated, then read-only.
 */

/** Internal incident level. P0 is the most severe. */
export type Level = 'P0' | 'P1' | 'P2' | 'P3';
/** Every level, most severe first. */
export const LEVELS: readonly Level[] = ['P0', 'P1', 'P2', 'P3'];

/** `cn`: China site (aliyun.com); `intl`: international site (alibabacloud.com). */
export type Site = 'cn' | 'intl';
/** Languages TICKET.md is written in. */
export type Lang = 'en' | 'zh-CN';
/** `--lang` values. */
export type LangOption = Lang | 'both';
/** How widely the impact reaches. */
export type Scope = 'all' | 'partial' | 'single' | 'internal';

/** Text in both languages. */
export interface Localized<T = string> {
  readonly en: T;
  readonly 'zh-CN': T;
}

/** The incident file, as written (after validation). Times are ISO 8601 strings with an offset. */
export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly account: {
    readonly site: Site;
    readonly plan?: string;
    readonly timeZone?: string;
    readonly accountManager?: string;
  };
  readonly affected?: {
    readonly products?: readonly string[];
    readonly regions?: readonly string[];
    readonly resourceIds?: readonly string[];
  };
  readonly impact: {
    readonly description: string;
    readonly productionDown?: boolean;
    readonly dataLoss?: boolean;
    readonly workaround?: boolean;
    readonly scope?: Scope;
    readonly suspectedCause?: 'platform' | 'own' | 'unknown';
  };
  readonly level?: Level;
  readonly startedAt: string;
  readonly statusPage?: {
    readonly page: 'status.aliyun.com' | 'status.alibabacloud.com';
    readonly checkedAt: string;
    readonly incident: string;
  };
  readonly ticket?: {
    readonly number?: string;
    readonly createdAt?: string;
    readonly firstResponseAt?: string;
    readonly lastUpdateAt?: string;
    readonly resolvedAt?: string;
    readonly rcaReceivedAt?: string;
  };
  readonly stakeholders?: ReadonlyArray<{ readonly name: string; readonly role?: string; readonly contact?: string }>;
}

/** A validated incident file with where it came from. */
export interface LoadedIncident {
  readonly incident: Incident;
  /** Absolute path. */
  readonly file: string;
  /** The name used in messages. */
  readonly shown: string;
  /** The file's bytes as read (what `pack` scrubs into the bundle). */
  readonly bytes: Buffer;
  /** `yaml` or `json`. */
  readonly format: 'yaml' | 'json';
}

/** policy/classification.json. */
export interface ClassificationPolicy {
  readonly policyVersion: 1;
  readonly source: string;
  readonly rules: ReadonlyArray<{
    readonly level: Level;
    readonly when: {
      readonly productionDown?: boolean;
      readonly dataLoss?: boolean;
      readonly workaround?: boolean;
      readonly scope?: readonly Scope[];
    };
    readonly reason: Localized;
  }>;
  readonly levels: Readonly<Record<Level, { readonly apiSeverity: 1 | 2; readonly escalation: Localized<readonly string[]> }>>;
}

/** One response-target row of an SLA policy. */
export interface SlaTargetRow {
  readonly plan: string;
  readonly level: Level;
  readonly firstResponseMinutes?: number;
  readonly resolutionMinutes?: number;
  readonly quotedAs?: string;
  readonly source: string;
  readonly verified: boolean;
  readonly sowVersion: string;
  readonly note?: string;
}

/** policy/sla.json (or a user's `--sla-policy` file). */
export interface SlaPolicy {
  readonly policyVersion: 1;
  readonly description?: string;
  readonly plans: ReadonlyArray<{ readonly id: string; readonly names: readonly string[]; readonly note?: string }>;
  readonly targets: readonly SlaTargetRow[];
  readonly followUp: { readonly source: string } & Readonly<Record<Level, { readonly everyMinutes: number }>>;
}
