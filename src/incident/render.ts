/**
 * TICKET.md: the ticket draft and coordination sheet for one incident, in English and/or
 * Simplified Chinese. A pure function of its inputs (incident, classification, SLA clock,
 * manifest, "now"): the same inputs give the same bytes, so a bundle stays reproducible.
 *
 * The text still holds whatever the incident file holds; callers scrub it with the redaction
 * engine before it is printed or written (see ticket.ts).
 */
import type { Manifest } from '../manifest.js';
import { VERSION } from '../version.js';
import type { Classification } from './classify.js';
import { API_SEVERITY_SOURCE, severityLabel } from './classify.js';
import type { OpenQuestion } from './questions.js';
import { STATUS_PAGES, leftOutFiles, openQuestions } from './questions.js';
import type { SlaClock, TargetStatus } from './sla.js';
import { formatDuration, formatInstant, formatMinutes, parseInstant } from './time.js';
import type { Incident, Lang, LangOption } from './types.js';

/** Everything TICKET.md is made from. */
export interface TicketInput {
  readonly incident: Incident;
  readonly classification: Classification;
  readonly sla: SlaClock;
  /** The bundle's manifest, for the evidence summary. */
  readonly manifest?: Manifest;
  /** The instant the document describes (epoch ms). */
  readonly now: number;
  /** Name of the (scrubbed) incident file next to TICKET.md in a bundle. */
  readonly bundledIncidentName?: string;
}

/** The SOW that support plans and channels are defined in (research notes §2.1, S38). */
const SOW_URL = 'https://help.aliyun.com/document_detail/37231.html';

/** Escapes text for a Markdown table cell or a single line. */
function cell(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

/** Multi-line user text as a Markdown block quote. */
function quote(s: string): string[] {
  return s.trimEnd().split(/\r?\n/).map((l) => (l ? `> ${l}` : '>'));
}

const LEFT_OUT_REASONS: Readonly<Record<string, { en: string; 'zh-CN': string }>> = {
  binary: { en: 'binary file, not text', 'zh-CN': '二进制文件，非文本' },
  excluded: { en: 'excluded with --exclude', 'zh-CN': '通过 --exclude 排除' },
  'too-large': { en: 'larger than --max-file-size', 'zh-CN': '超过 --max-file-size' },
  'symlink-outside-root': { en: 'symbolic link pointing outside the input', 'zh-CN': '指向输入目录之外的符号链接' },
  'special-file': { en: 'not a regular file', 'zh-CN': '非普通文件' },
  'unsafe-path': { en: 'archive member with an unsafe path', 'zh-CN': '压缩包成员路径不安全' },
  link: { en: 'link inside an archive', 'zh-CN': '压缩包内的链接' },
  encrypted: { en: 'encrypted archive member', 'zh-CN': '加密的压缩包成员' },
  'archive-bomb': { en: 'decompresses too much (archive bomb)', 'zh-CN': '解压后过大（压缩炸弹）' },
  'too-many-entries': { en: 'archive has too many entries', 'zh-CN': '压缩包条目过多' },
  'archive-depth': { en: 'archives nested too deeply', 'zh-CN': '压缩包嵌套过深' },
  'duplicate-name': { en: 'archive member with the same name as an earlier one', 'zh-CN': '压缩包成员与之前的成员同名' },
  undecodable: { en: 'not valid text in its encoding', 'zh-CN': '编码无效，无法解码' },
  unreadable: { en: 'could not be read', 'zh-CN': '无法读取' },
  vanished: { en: 'disappeared during the run', 'zh-CN': '运行期间文件消失' },
  changed: { en: 'changed during the run', 'zh-CN': '运行期间文件被修改' },
  corrupt: { en: 'corrupt or truncated', 'zh-CN': '文件损坏或不完整' },
  'scan-error': { en: 'could not be scanned', 'zh-CN': '无法扫描' },
};

interface Ctx {
  readonly in: TicketInput;
  readonly lang: Lang;
  readonly zone: string;
  readonly at: (iso: string | number) => string;
  readonly questions: readonly OpenQuestion[];
}

const T = {
  en: {
    title: (i: Incident) => `# Ticket draft ${i.id}: ${cell(i.title)}`,
    preface: (c: Ctx) => [
      `Prepared by aliscrub ${VERSION}. Status as of ${c.at(c.in.now)}; times in ${c.zone}.`,
      'Sections 1 to 4 are for the ticket description (plain text only). Anything support must see that is sensitive goes in the ticket\'s confidential field (SecretInfo), never in the description or a normal attachment.',
    ],
    scope: '## 1. Incident scope',
    site: { cn: 'China site account (aliyun.com): file in the China site console (CN-*).', intl: 'International account (alibabacloud.com): file in the international console.' },
    products: 'Products', regions: 'Regions', resources: 'Resource IDs', started: 'Impact started', impact: 'Impact', none: 'not given',
    answers: 'Answers',
    answerWords: (i: Incident) =>
      [
        i.impact.productionDown === undefined ? undefined : `production down: ${i.impact.productionDown ? 'yes' : 'no'}`,
        i.impact.dataLoss === undefined ? undefined : `data loss: ${i.impact.dataLoss ? 'yes' : 'no'}`,
        i.impact.workaround === undefined ? undefined : `workaround: ${i.impact.workaround ? 'yes' : 'no'}`,
        i.impact.scope === undefined ? undefined : `scope: ${{ all: 'all users', partial: 'part of the users', single: 'a single resource or customer', internal: 'internal only' }[i.impact.scope]}`,
      ].filter((x): x is string => x !== undefined).join('; ') || 'not given',
    cause: { platform: 'suspected Alibaba Cloud side', own: 'our side', unknown: 'not established' },
    causeLabel: 'Cause',
    statusTitle: '## 2. Status page',
    statusPageFor: (c: Ctx) => {
      const sp = STATUS_PAGES[c.in.incident.account.site];
      return `Status page for this account: ${sp.url}${sp.verified ? '' : ' (international status page; not confirmed from an official Alibaba Cloud page)'}.`;
    },
    statusResult: (c: Ctx) => {
      const sp = c.in.incident.statusPage;
      if (!sp) return 'Not checked yet (see open questions).';
      const none = sp.incident.trim().toLowerCase() === 'none';
      return `Checked ${sp.page} at ${c.at(sp.checkedAt)}: ${none ? 'no incident shown.' : `incident shown: ${cell(sp.incident)}.`}`;
    },
    sevTitle: '## 3. Severity',
    level: (c: Classification) => `Internal level: **${c.level}** (${c.basis === 'chosen' ? (c.derived ? `chosen; the answers give ${c.derived}` : 'chosen; not derived: answers missing') : 'derived from the answers'}).`,
    api: (c: Classification) => `Ticket severity: **${severityLabel(c.apiSeverity, 'en')}**. The ticket API has two severities, 1 = Normal (一般) and 2 = Urgent (紧急) (${API_SEVERITY_SOURCE}); mapping P0/P1 to Urgent and P2/P3 to Normal is our policy (policy/classification.json), not an Alibaba Cloud rule.`,
    rationale: (c: Classification) => `Rationale: ${c.reason ? `${c.reason.en}.` : 'the classification questions are not all answered, so the level is the one chosen in the incident file.'}`,
    contradiction: (s: string) => `**Contradiction:** ${s}.`,
    evTitle: '## 4. Evidence',
    noManifest: 'No evidence manifest given (aliscrub pack --incident, or incident render --manifest, adds the summary here).',
    collected: (m: Manifest) => {
      const t = m.totals;
      return `Collected: ${t.files} file(s); ${t.redacted} redacted, ${t.clean} clean${t.stripped ? `, ${t.stripped} screenshot(s) with metadata removed (pixels not scanned: check them by eye)` : ''}.`;
    },
    byCategory: (m: Manifest) => `Redacted: ${m.totals.findings} value(s): secrets ${m.totals.byCategory.secret}, personal data ${m.totals.byCategory.pii}, identifiers ${m.totals.byCategory.identifier}. Each is replaced by a [REDACTED:detector:fingerprint] token; equal values have equal tokens.`,
    leftOut: 'Left out, and why:',
    leftOutNone: 'Left out: nothing.',
    userExcluded: (n: number) => `Excluded on purpose (--exclude): ${n} file(s).`,
    secretInfo: 'Anything support must see that was redacted (for example a password needed for a restore) goes in the ticket\'s confidential field, SecretInfo, never in the description or a normal attachment.',
    bundled: (n: string) => `The incident file is in this bundle as ${n}, scrubbed like the evidence.`,
    escTitle: '## 5. Escalation path',
    manager: (n: string) => `Account manager (客户经理): ${cell(n)}.`,
    channels: `Support channels in the support-plan SOW: ticket, phone, online chat, dedicated enterprise group, dedicated TAM; which of them your plan includes is in your contract (${SOW_URL}).`,
    slaTitle: '## 6. SLA clock',
    slaHead: ['Target', 'Plan / level', 'Target time', 'Due', 'Status', 'Verified', 'Source'],
    kind: { firstResponse: 'First response', resolution: 'Resolution' },
    state: (t: TargetStatus) =>
      t.state === 'met' ? `met ${formatDuration(t.marginMs, 'en')} early` : t.state === 'pending' ? `due in ${formatDuration(t.marginMs, 'en')}` : `breached by ${formatDuration(t.marginMs, 'en')}${t.metAt ? '' : ' (still open)'}`,
    verified: (t: TargetStatus) => (t.verified ? `verified (SOW ${t.sowVersion})` : `**unverified** (SOW ${t.sowVersion})`),
    minutes: (t: TargetStatus) => `${formatMinutes(t.minutes, 'en')}${t.verified ? '' : ' (unverified)'}`,
    slaNote: 'Targets count elapsed time (24x7) from the ticket\'s creation. An unverified target is an often-quoted figure that was not found in an official source: confirm it against your contract before relying on it or claiming a credit.',
    gap: { 'no-plan': 'No support plan set (account.plan): no response target.', 'unknown-plan': 'The support plan is not in the SLA policy: no response target.', 'no-targets': 'The SLA policy has no response target for this plan and level: it is whatever your contract says.', 'no-ticket': 'The ticket is not filed yet: the clock has not started.' },
    created: (s: string) => `Ticket created: ${s}.`,
    breaches: 'Breach record (for a service-credit claim):',
    cadenceTitle: '## 7. Follow-up cadence',
    cadence: (c: Ctx) => {
      const f = c.in.sla.followUp;
      const lines = [`${c.in.sla.level}: update the ticket and the stakeholders at least every ${formatMinutes(f.everyMinutes, 'en')} (${f.source}).`];
      if (f.nextDue !== undefined && f.marginMs !== undefined)
        lines.push(`Next update due: ${c.at(f.nextDue)} (${f.marginMs >= 0 ? `in ${formatDuration(f.marginMs, 'en')}` : `overdue by ${formatDuration(f.marginMs, 'en')}`}).`);
      return lines;
    },
    qTitle: '## 8. Open questions (block closure)',
    qNone: 'None.',
    rcaTitle: '## 9. RCA request',
    rca: (i: Incident) => [
      `We believe incident ${i.id} was caused on the Alibaba Cloud side. Please provide a root-cause analysis (RCA) covering: the timeline (start, detection, mitigation, recovery, with time zone); the root cause; the products, regions and resources affected, including ours listed above; what was done to restore service; and what will prevent a recurrence. Please also tell us whether a notice was or will be published on the status page.`,
      '',
      'Note for the team: whether your support plan entitles you to an RCA is not verified; ask your account manager.',
    ],
    updTitle: '## 10. Stakeholder update (template)',
    upd: (c: Ctx) => {
      const i = c.in.incident;
      const t = i.ticket;
      const fr = c.in.sla.targets.find((x) => x.kind === 'firstResponse');
      const frText = t?.firstResponseAt ? `received ${c.at(t.firstResponseAt)}` : fr ? `due ${c.at(fr.due)}${fr.verified ? '' : ' (unverified target)'}${fr.state === 'breached' ? ', overdue' : ''}` : 'no target';
      const sp = i.statusPage;
      return [
        `[${c.in.classification.level}] ${i.id}: ${cell(i.title)}: update ${c.at(c.in.now)}`,
        'Status: <investigating | waiting for Alibaba Cloud | mitigated | resolved>',
        `Impact: ${cell(i.impact.description.split(/\r?\n/)[0] ?? '')}`,
        `Alibaba Cloud ticket: ${t?.number ?? (t?.createdAt ? 'number not recorded' : 'not filed yet')}, severity ${severityLabel(c.in.classification.apiSeverity, 'en')}; first response: ${frText}`,
        `Status page (${STATUS_PAGES[i.account.site].host}): ${sp ? (sp.incident.trim().toLowerCase() === 'none' ? 'no incident shown' : cell(sp.incident)) : 'not checked'}`,
        `Next update: ${c.in.sla.followUp.nextDue ? c.at(c.in.sla.followUp.nextDue) : '<time>'}`,
      ];
    },
    to: (names: string) => `To: ${names}`,
  },
  'zh-CN': {
    title: (i: Incident) => `# 工单草稿 ${i.id}：${cell(i.title)}`,
    preface: (c: Ctx) => [
      `由 aliscrub ${VERSION} 生成。状态截至 ${c.at(c.in.now)}；时间以 ${c.zone} 显示。`,
      '第 1 至 4 节用于工单描述（仅支持纯文本）。技术支持必须查看的敏感信息请填写在工单的机密信息字段（SecretInfo）中，切勿写入描述或普通附件。',
    ],
    scope: '## 1. 事件范围',
    site: { cn: '中国站账号（aliyun.com）：请在中国站控制台（CN-*）提交工单。', intl: '国际站账号（alibabacloud.com）：请在国际站控制台提交工单。' },
    products: '产品', regions: '地域', resources: '资源 ID', started: '影响开始时间', impact: '影响', none: '未提供',
    answers: '定级回答',
    answerWords: (i: Incident) =>
      [
        i.impact.productionDown === undefined ? undefined : `生产中断：${i.impact.productionDown ? '是' : '否'}`,
        i.impact.dataLoss === undefined ? undefined : `数据丢失：${i.impact.dataLoss ? '是' : '否'}`,
        i.impact.workaround === undefined ? undefined : `临时解决方案：${i.impact.workaround ? '有' : '无'}`,
        i.impact.scope === undefined ? undefined : `范围：${{ all: '全部用户', partial: '部分用户', single: '单个资源或客户', internal: '仅内部' }[i.impact.scope]}`,
      ].filter((x): x is string => x !== undefined).join('；') || '未提供',
    cause: { platform: '疑似阿里云侧', own: '我方', unknown: '尚未确定' },
    causeLabel: '原因',
    statusTitle: '## 2. 健康看板',
    statusPageFor: (c: Ctx) => {
      const sp = STATUS_PAGES[c.in.incident.account.site];
      return `本账号对应的健康看板：${sp.url}${sp.verified ? '' : '（国际站状态页；未在阿里云官方页面中确认）'}。`;
    },
    statusResult: (c: Ctx) => {
      const sp = c.in.incident.statusPage;
      if (!sp) return '尚未查看（见待解决问题）。';
      const none = sp.incident.trim().toLowerCase() === 'none';
      return `已于 ${c.at(sp.checkedAt)} 查看 ${sp.page}：${none ? '未显示事件。' : `显示事件：${cell(sp.incident)}。`}`;
    },
    sevTitle: '## 3. 严重程度',
    level: (c: Classification) => `内部级别：**${c.level}**（${c.basis === 'chosen' ? (c.derived ? `人工选择；按回答应为 ${c.derived}` : '人工选择；定级回答不完整，未推导') : '根据回答推导'}）。`,
    api: (c: Classification) => `工单严重程度：**${severityLabel(c.apiSeverity, 'zh-CN')}**。工单 API 只有两个严重程度：1 = 一般（Normal），2 = 紧急（Urgent）（${API_SEVERITY_SOURCE}）；P0/P1 对应紧急、P2/P3 对应一般是我方策略（policy/classification.json），并非阿里云规定。`,
    rationale: (c: Classification) => `理由：${c.reason ? `${c.reason['zh-CN']}。` : '定级问题未全部回答，因此采用事件文件中选择的级别。'}`,
    contradiction: (s: string) => `**矛盾：**${s}。`,
    evTitle: '## 4. 证据',
    noManifest: '未提供证据清单（使用 aliscrub pack --incident 或 incident render --manifest 可在此加入摘要）。',
    collected: (m: Manifest) => {
      const t = m.totals;
      return `已收集：${t.files} 个文件；${t.redacted} 个已脱敏，${t.clean} 个无敏感信息${t.stripped ? `，${t.stripped} 张截图已移除元数据（像素未扫描：请人工检查）` : ''}。`;
    },
    byCategory: (m: Manifest) => `已脱敏：${m.totals.findings} 处：密钥/凭证 ${m.totals.byCategory.secret}，个人信息 ${m.totals.byCategory.pii}，标识符 ${m.totals.byCategory.identifier}。每处替换为 [REDACTED:检测器:指纹] 标记；相同的值对应相同的标记。`,
    leftOut: '未放入的文件及原因：',
    leftOutNone: '未放入的文件：无。',
    userExcluded: (n: number) => `按 --exclude 主动排除：${n} 个文件。`,
    secretInfo: '技术支持必须查看的已脱敏信息（例如恢复数据所需的密码）请填写在工单的机密信息字段（SecretInfo）中，切勿写入描述或普通附件。',
    bundled: (n: string) => `事件文件已作为 ${n} 放入本附件包，并与证据一样经过脱敏。`,
    escTitle: '## 5. 升级路径',
    manager: (n: string) => `客户经理：${cell(n)}。`,
    channels: `支持计划工作说明书中的服务渠道：工单、电话、在线、专属企业群、专属技术服务经理（TAM）；您的支持计划包含哪些渠道以合同为准（${SOW_URL}）。`,
    slaTitle: '## 6. SLA 计时',
    slaHead: ['时限', '支持计划 / 级别', '时限长度', '到期时间', '状态', '是否核实', '来源'],
    kind: { firstResponse: '首次响应', resolution: '解决' },
    state: (t: TargetStatus) =>
      t.state === 'met' ? `已按时达成（提前 ${formatDuration(t.marginMs, 'zh-CN')}）` : t.state === 'pending' ? `剩余 ${formatDuration(t.marginMs, 'zh-CN')}` : `已超时 ${formatDuration(t.marginMs, 'zh-CN')}${t.metAt ? '' : t.kind === 'firstResponse' ? '（仍未响应）' : '（仍未解决）'}`,
    verified: (t: TargetStatus) => (t.verified ? `已核实（工作说明书 ${t.sowVersion}）` : `**未核实 unverified**（工作说明书 ${t.sowVersion}）`),
    minutes: (t: TargetStatus) => `${formatMinutes(t.minutes, 'zh-CN')}${t.verified ? '' : '（未核实 unverified）'}`,
    slaNote: '时限按工单创建后经过的时间（7x24）计算。未核实的时限是常被引用、但未在官方来源中找到的数值：依赖它或申请补偿前，请对照您的合同确认。',
    gap: { 'no-plan': '未设置支持计划（account.plan）：无响应时限。', 'unknown-plan': '支持计划不在 SLA 策略中：无响应时限。', 'no-targets': 'SLA 策略中没有该支持计划和级别的响应时限：以合同为准。', 'no-ticket': '尚未提交工单：尚未开始计时。' },
    created: (s: string) => `工单创建时间：${s}。`,
    breaches: '超时记录（用于申请服务补偿）：',
    cadenceTitle: '## 7. 跟进频率',
    cadence: (c: Ctx) => {
      const f = c.in.sla.followUp;
      const lines = [`${c.in.sla.level}：至少每 ${formatMinutes(f.everyMinutes, 'zh-CN')}更新一次工单并通知相关人员（${f.source}）。`];
      if (f.nextDue !== undefined && f.marginMs !== undefined)
        lines.push(`下次更新时间：${c.at(f.nextDue)}（${f.marginMs >= 0 ? `剩余 ${formatDuration(f.marginMs, 'zh-CN')}` : `已逾期 ${formatDuration(f.marginMs, 'zh-CN')}`}）。`);
      return lines;
    },
    qTitle: '## 8. 待解决问题（关闭前须解决）',
    qNone: '无。',
    rcaTitle: '## 9. 根因分析（RCA）申请',
    rca: (i: Incident) => [
      `我们认为事件 ${i.id} 由阿里云侧原因导致。请提供根因分析（RCA）报告，内容包括：时间线（开始、发现、缓解、恢复时间，注明时区）；根本原因；受影响的产品、地域和资源（包括上文列出的我方资源）；为恢复服务采取的措施；以及防止再次发生的改进措施。另请告知健康看板是否已经或将会发布相关公告。`,
      '',
      '团队备注：您的支持计划是否包含 RCA 报告尚未核实；请向客户经理确认。',
    ],
    updTitle: '## 10. 相关人员通报（模板）',
    upd: (c: Ctx) => {
      const i = c.in.incident;
      const t = i.ticket;
      const fr = c.in.sla.targets.find((x) => x.kind === 'firstResponse');
      const frText = t?.firstResponseAt ? `已于 ${c.at(t.firstResponseAt)} 收到` : fr ? `到期 ${c.at(fr.due)}${fr.verified ? '' : '（时限未核实）'}${fr.state === 'breached' ? '，已超时' : ''}` : '无时限';
      const sp = i.statusPage;
      return [
        `[${c.in.classification.level}] ${i.id}：${cell(i.title)}：${c.at(c.in.now)} 更新`,
        '状态：<排查中 | 等待阿里云 | 已缓解 | 已解决>',
        `影响：${cell(i.impact.description.split(/\r?\n/)[0] ?? '')}`,
        `阿里云工单：${t?.number ?? (t?.createdAt ? '工单号未记录' : '尚未提交')}，严重程度 ${severityLabel(c.in.classification.apiSeverity, 'zh-CN')}；首次响应：${frText}`,
        `健康看板（${STATUS_PAGES[i.account.site].host}）：${sp ? (sp.incident.trim().toLowerCase() === 'none' ? '未显示事件' : cell(sp.incident)) : '尚未查看'}`,
        `下次更新：${c.in.sla.followUp.nextDue ? c.at(c.in.sla.followUp.nextDue) : '<时间>'}`,
      ];
    },
    to: (names: string) => `收件人：${names}`,
  },
} as const;

function renderOne(input: TicketInput, lang: Lang): string {
  const zone = input.sla.zone;
  const ctx: Ctx = {
    in: input,
    lang,
    zone,
    at: (v) => formatInstant(typeof v === 'number' ? v : parseInstant(v), zone),
    questions: openQuestions(input.incident, input.classification, input.sla, input.manifest),
  };
  const t = T[lang];
  const i = input.incident;
  const c = input.classification;
  const list = (xs: readonly string[] | undefined): string => (xs && xs.length > 0 ? xs.map(cell).join(lang === 'en' ? ', ' : '、') : t.none);
  const L: string[] = [t.title(i), '', ...t.preface(ctx), ''];
  const k = (label: string): string => (lang === 'en' ? `${label}: ` : `${label}：`);

  L.push(t.scope, '', `- ${t.site[i.account.site]}`);
  L.push(`- ${k(t.products)}${list(i.affected?.products)}`, `- ${k(t.regions)}${list(i.affected?.regions)}`, `- ${k(t.resources)}${list(i.affected?.resourceIds)}`);
  L.push(`- ${k(t.started)}${ctx.at(i.startedAt)}`, `- ${k(t.answers)}${t.answerWords(i)}`, `- ${k(t.causeLabel)}${t.cause[i.impact.suspectedCause ?? 'unknown']}`, `- ${k(t.impact).trimEnd()}`, '', ...quote(i.impact.description), '');

  L.push(t.statusTitle, '', `- ${t.statusPageFor(ctx)}`, `- ${t.statusResult(ctx)}`, '');

  L.push(t.sevTitle, '', `- ${t.level(c)}`, `- ${t.api(c)}`, `- ${t.rationale(c)}`);
  if (c.contradiction) L.push(`- ${t.contradiction(c.contradiction[lang])}`);
  L.push('');

  L.push(t.evTitle, '');
  const m = input.manifest;
  if (!m) L.push(`- ${t.noManifest}`);
  else {
    L.push(`- ${t.collected(m)}`, `- ${t.byCategory(m)}`);
    const out = leftOutFiles(m);
    if (out.length === 0) L.push(`- ${t.leftOutNone}`);
    else {
      L.push(`- ${t.leftOut}`);
      for (const f of out) {
        const reason = f.status === 'failed' || f.status === 'excluded' ? f.reason : '';
        L.push(`  - \`${cell(f.path)}\`${lang === 'en' ? ': ' : '：'}${LEFT_OUT_REASONS[reason]?.[lang] ?? reason}`);
      }
    }
    const excluded = m.files.filter((f) => f.status === 'excluded' && f.reason === 'excluded').length;
    if (excluded > 0) L.push(`- ${t.userExcluded(excluded)}`);
  }
  if (input.bundledIncidentName) L.push(`- ${t.bundled(input.bundledIncidentName)}`);
  L.push(`- ${t.secretInfo}`, '');

  L.push(t.escTitle, '');
  c.escalation[lang].forEach((s, k) => L.push(`${k + 1}. ${s}`));
  L.push('');
  if (i.account.accountManager) L.push(`- ${t.manager(i.account.accountManager)}`);
  L.push(`- ${t.channels}`, '');

  const sla = input.sla;
  L.push(t.slaTitle, '');
  if (sla.ticketCreatedAt) L.push(`- ${t.created(ctx.at(sla.ticketCreatedAt))}`);
  for (const g of sla.gaps) L.push(`- ${t.gap[g]}`);
  if (sla.targets.length > 0) {
    L.push('', `| ${t.slaHead.join(' | ')} |`, `|${t.slaHead.map(() => '---').join('|')}|`);
    for (const x of sla.targets)
      L.push(`| ${t.kind[x.kind]} | ${sla.plan ?? ''} / ${sla.level} | ${t.minutes(x)} | ${ctx.at(x.due)} | ${t.state(x)} | ${t.verified(x)} | ${cell(x.source)} |`);
    L.push('', t.slaNote);
  }
  if (sla.breaches.length > 0) L.push('', t.breaches, '', '```json', JSON.stringify(sla.breaches, null, 2), '```');
  L.push('');

  L.push(t.cadenceTitle, '', ...t.cadence(ctx).map((s) => `- ${s}`), '');

  L.push(t.qTitle, '');
  if (ctx.questions.length === 0) L.push(t.qNone);
  for (const q of ctx.questions) L.push(`- [ ] ${q.text[lang]}`);
  L.push('');

  const platform = i.impact.suspectedCause === 'platform';
  if (platform) L.push(t.rcaTitle, '', ...t.rca(i), '');
  const upd = platform ? t.updTitle : t.updTitle.replace('## 10.', '## 9.');
  L.push(upd, '', '```text');
  if (i.stakeholders && i.stakeholders.length > 0) L.push(t.to(i.stakeholders.map((s) => (s.role ? `${s.name} (${s.role})` : s.name)).map(cell).join(', ')));
  L.push(...t.upd(ctx), '```', '');
  return L.join('\n');
}

/**
 * Renders TICKET.md (unscrubbed; see ticket.ts for the scrubbed entry points).
 * @param lang `en`, `zh-CN`, or `both` (English, then Chinese, separated by a rule).
 */
export function renderTicketMd(input: TicketInput, lang: LangOption): string {
  if (lang === 'both') return `${renderOne(input, 'en')}\n---\n\n${renderOne(input, 'zh-CN')}`;
  return renderOne(input, lang);
}
