/**
 * Incident coordination (issue 8): the library surface, re-exported from the package root. The
 * incident-file type is exported as `IncidentFile` (`Incident` is the bulk-archiving folder type).
 */
export { loadIncident, loadClassificationPolicy, loadSlaPolicy, IncidentError, DEFAULT_CLASSIFICATION_POLICY, DEFAULT_SLA_POLICY } from './load.js';
export { classify, severityLabel, API_SEVERITY_NAMES, API_SEVERITY_SOURCE } from './classify.js';
export type { Classification } from './classify.js';
export { computeSla, displayZone, matchPlan } from './sla.js';
export type { SlaClock, TargetStatus, BreachRecord, TargetKind, SlaGap } from './sla.js';
export { openQuestions, STATUS_PAGES } from './questions.js';
export type { OpenQuestion } from './questions.js';
export { renderTicketMd } from './render.js';
export type { TicketInput } from './render.js';
export { assess, loadPolicies, ticketMarkdown, incidentBundleEntries, createScrub, defaultLang, loadManifestFile, scrubIncident } from './ticket.js';
export type { Assessment, Policies, Scrub } from './ticket.js';
export { incidentInit, incidentRender, slaCommand } from './commands.js';
export type { IncidentIo, RenderOptions, SlaOptions, SlaReport } from './commands.js';
export { INCIDENT_TEMPLATE } from './template.js';
export { formatInstant, isoInZone, offsetMinutes, isValidTimeZone } from './time.js';
export type { Incident as IncidentFile, LoadedIncident, ClassificationPolicy, SlaPolicy, SlaTargetRow, Level, Site, Lang, LangOption, Scope } from './types.js';
