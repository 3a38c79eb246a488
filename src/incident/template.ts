/** `aliscrub incident init`: the commented incident-file template. */

/** The template written by `incident init`. Valid as it stands (an example P1 on the China site). */
export const INCIDENT_TEMPLATE = `# aliscrub incident file. Schema: schema/incident.schema.json
# Every time needs a zone offset: 2025-03-01T09:12:00+08:00 or 2025-03-01T01:12:00Z.
# Everything here is scrubbed before it enters a bundle, but keep secrets out of it anyway:
# anything support must see that is sensitive belongs in the ticket's SecretInfo field.

id: INC-0000-0001                 # your incident id (letters, digits, . _ -)
title: Orders API returns 502 in cn-hangzhou

account:
  site: cn                        # cn: China site (aliyun.com) | intl: international (alibabacloud.com)
  plan: Enterprise                # your support plan, matched against the SLA policy (e.g. 企业级支持计划)
  # timeZone: Asia/Shanghai       # default: Asia/Shanghai for cn, UTC for intl
  # accountManager: Name          # your account manager (客户经理), for the escalation path

affected:
  products: [SLB, ECS]
  regions: [cn-hangzhou]
  resourceIds: []                 # e.g. i-bp67acfmxazb4p****

impact:
  description: |
    What users see, since when, how many.
  # Classification questions: with all four answered, the level is derived from them.
  productionDown: true            # is a production service unavailable?
  dataLoss: false                 # has data been lost or corrupted?
  workaround: false               # is there a workaround that restores service?
  scope: single                   # all | partial | single | internal
  suspectedCause: unknown         # platform (Alibaba Cloud side: TICKET.md asks for an RCA) | own | unknown

# level: P1                       # optional: your chosen level P0-P3 (flagged if it contradicts the answers)

startedAt: 2025-01-01T09:00:00+08:00

# statusPage:                     # the status-page check (an open question until recorded)
#   page: status.aliyun.com       # status.aliyun.com (cn) | status.alibabacloud.com (intl)
#   checkedAt: 2025-01-01T09:05:00+08:00
#   incident: none                # the status page's incident number or title, or "none"

# ticket:                         # the Alibaba Cloud ticket, once filed
#   number: 0005PYGCW
#   createdAt: 2025-01-01T09:10:00+08:00      # the SLA clock starts here
#   firstResponseAt: 2025-01-01T09:40:00+08:00
#   lastUpdateAt: 2025-01-01T10:00:00+08:00   # our last update (follow-up cadence)
#   resolvedAt: 2025-01-01T11:00:00+08:00
#   rcaReceivedAt: 2025-01-03T18:00:00+08:00

stakeholders:
  - name: On-call lead
    role: incident commander
`;
