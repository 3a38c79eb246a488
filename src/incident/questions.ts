/**
 * Open questions: what still blocks closing the incident, derived from the incident file, its
 * classification, the SLA clock and (when given) the evidence manifest.
 */
import type { Manifest } from '../manifest.js';
import { leftOut } from '../manifest.js';
import type { Classification } from './classify.js';
import type { SlaClock } from './sla.js';
import type { Incident, Localized } from './types.js';

/** The status page for each site (research notes §2.5). */
export const STATUS_PAGES = {
  cn: { host: 'status.aliyun.com', url: 'https://status.aliyun.com/', verified: true },
  intl: { host: 'status.alibabacloud.com', url: 'https://status.alibabacloud.com/', verified: false },
} as const;

/** Evidence inputs that are not in the bundle although the user did not exclude them. */
export function leftOutFiles(m: Manifest): Manifest['files'] {
  return leftOut(m.files);
}

/** One open question, with a stable id (for JSON consumers and tests). */
export interface OpenQuestion {
  readonly id: string;
  readonly text: Localized;
}

/** Everything that still blocks closure, in a fixed order. */
export function openQuestions(incident: Incident, c: Classification, sla: SlaClock, manifest?: Manifest): OpenQuestion[] {
  const q: OpenQuestion[] = [];
  const add = (id: string, en: string, zh: string): void => void q.push({ id, text: { en, 'zh-CN': zh } });
  const expected = STATUS_PAGES[incident.account.site];
  const sp = incident.statusPage;
  if (!sp) add('status-page-unchecked', `Status page not checked: check ${expected.url} and record the result under statusPage (page, checkedAt, incident).`, `尚未查看健康看板：请查看 ${expected.url}，并在 statusPage 中记录结果（page、checkedAt、incident）。`);
  else if (sp.page !== expected.host)
    add('status-page-wrong-site', `${sp.page} was checked, but this is ${incident.account.site === 'cn' ? 'a China site' : 'an international'} account: check ${expected.url} too.`, `已查看 ${sp.page}，但这是${incident.account.site === 'cn' ? '中国站' : '国际站'}账号：请同时查看 ${expected.url}。`);
  if (c.contradiction) add('level-contradiction', `Resolve the level: ${c.contradiction.en}.`, `请确认级别：${c.contradiction['zh-CN']}。`);
  if (c.missingAnswers.length > 0)
    add('classification-answers', `Answer the classification questions: ${c.missingAnswers.map((a) => `impact.${a}`).join(', ')}.`, `请回答定级问题：${c.missingAnswers.map((a) => `impact.${a}`).join('、')}。`);
  if (sla.gaps.includes('no-ticket')) add('ticket-not-filed', 'File the ticket and record ticket.number and ticket.createdAt (the SLA clock starts there).', '请提交工单并记录 ticket.number 和 ticket.createdAt（SLA 计时从此开始）。');
  else if (!incident.ticket?.number) add('ticket-number', 'Record the ticket number (ticket.number).', '请记录工单号（ticket.number）。');
  if (incident.ticket?.createdAt && !incident.ticket.firstResponseAt) add('no-first-response', 'No first response from Alibaba Cloud support recorded yet (ticket.firstResponseAt).', '尚未记录阿里云技术支持的首次响应（ticket.firstResponseAt）。');
  if (!incident.ticket?.resolvedAt) add('not-resolved', 'Not resolved: record ticket.resolvedAt once service is restored and confirmed.', '尚未解决：服务恢复并确认后请记录 ticket.resolvedAt。');
  const cause = incident.impact.suspectedCause ?? 'unknown';
  if (cause === 'unknown') add('cause-unknown', 'Cause not established: Alibaba Cloud side or ours (impact.suspectedCause)?', '原因尚未确定：阿里云侧还是我方（impact.suspectedCause）？');
  if (cause === 'platform' && !incident.ticket?.rcaReceivedAt) add('rca-pending', 'Root-cause analysis (RCA) requested but not received (ticket.rcaReceivedAt).', '已申请根因分析（RCA），尚未收到（ticket.rcaReceivedAt）。');
  if (sla.gaps.includes('no-plan')) add('plan-unset', 'Support plan not set (account.plan): no response targets can be computed.', '未设置支持计划（account.plan）：无法计算响应时限。');
  if (sla.gaps.includes('unknown-plan')) add('plan-unknown', 'The support plan in account.plan is not in the SLA policy: use a listed name or supply your contract\'s targets with --sla-policy.', 'account.plan 中的支持计划不在 SLA 策略中：请使用已列出的名称，或用 --sla-policy 提供合同中的时限。');
  if (sla.gaps.includes('no-targets')) add('no-targets', `The SLA policy has no response target for plan ${sla.plan ?? ''} at ${sla.level}: add your contract's numbers with --sla-policy.`, `SLA 策略中没有支持计划 ${sla.plan ?? ''} 在 ${sla.level} 的响应时限：请用 --sla-policy 提供合同中的数值。`);
  if (sla.row && !sla.row.verified && (sla.row.firstResponseMinutes !== undefined || sla.row.resolutionMinutes !== undefined))
    add('sla-unverified', `The response targets used are unverified: confirm them against your contract (SOW ${sla.row.sowVersion}, ${sla.row.source}).`, `所用响应时限未经核实：请对照您的合同（工作说明书 ${sla.row.sowVersion}，${sla.row.source}）确认。`);
  if (sla.breaches.length > 0) add('sla-breached', 'An SLA target is breached: decide on a service-credit claim (breach record under SLA clock; check the target against your SOW first).', 'SLA 时限已超：请决定是否申请服务补偿（见“SLA 计时”中的超时记录；请先对照工作说明书核实时限）。');
  const out = manifest ? leftOutFiles(manifest) : [];
  if (out.length > 0) add('evidence-left-out', `${out.length} evidence file(s) were left out of the bundle: decide whether support needs them (see Evidence).`, `有 ${out.length} 个证据文件未放入附件包：请判断技术支持是否需要（见“证据”）。`);
  return q;
}
