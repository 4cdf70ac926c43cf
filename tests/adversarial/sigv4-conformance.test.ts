import { execFileSync } from 'node:child_process'
import { verifySigV4, type SigV4Credential, type SignedRequest } from '../../src/lib/auth/sigv4-verifier'
import { UnauthenticatedError } from '../../src/lib/errors'
import { asDelivered, signWithBotocore, type BotocoreRequest } from '../support/botocore-signer'
import { FakeClock } from '../support/fake-clock'
import { recordFigures } from './support/adversarial'
import { controlsOf, mutationsOf, type Mutation } from './support/sigv4-mutations'
import {
  CASES,
  ENDPOINT_HOST,
  formsOf,
  OTHER_USER,
  ROLLED_DAY,
  SECOND_60,
  SESSION,
  SIGNED_AT,
  SIGNED_AT_MS,
  USER,
  type Category,
  type ConformanceCase,
} from './support/sigv4-cases'

/**
 * SigV4 conformance of the local verifier, in-process: each case of ./support/sigv4-cases.ts is signed by
 * botocore (the machine's Python, an independent signer) in the header and the query-string form, then
 * verified as API Gateway would receive it. The valid request and the controls (changes to what was not
 * signed) must be accepted; every mutation, every request botocore signed over a wrong host, date form,
 * scope or key, and every request outside its time window must be refused. Figures go to
 * .tmp/adversarial-figures.json (suite "sigv4-conformance").
 */
const SESSION_ARN = 'arn:aws:sts::123456789012:assumed-role/conformance-role/conformance-session'
const KEYS = new Map<string, SigV4Credential>([
  [
    USER.accessKeyId,
    { secretAccessKey: USER.secretAccessKey, principalArn: 'arn:aws:iam::123456789012:user/conformance' },
  ],
  [
    OTHER_USER.accessKeyId,
    { secretAccessKey: OTHER_USER.secretAccessKey, principalArn: 'arn:aws:iam::123456789012:user/other' },
  ],
  [
    SESSION.accessKeyId,
    {
      secretAccessKey: SESSION.secretAccessKey,
      principalArn: SESSION_ARN,
      session: { token: SESSION.sessionToken, expiresAt: SIGNED_AT_MS + 3_600_000 },
    },
  ],
])
const VERIFIED_AT = SIGNED_AT_MS + 30_000
const EXPIRES_SECONDS = 300

const verifyAt = (req: SignedRequest, atMs = VERIFIED_AT) =>
  verifySigV4(req, {
    region: 'us-east-1',
    service: 'execute-api',
    clock: new FakeClock(atMs),
    lookup: (id) => KEYS.get(id),
    endpointHosts: [ENDPOINT_HOST],
  })

interface Entry {
  readonly c: ConformanceCase
  readonly form: 'header' | 'query'
  readonly valid: SignedRequest
  /** Requests botocore signed correctly over something API Gateway refuses. */
  readonly wronglySigned: readonly Mutation[]
}

function signEverything(): Entry[] {
  const plan: { c: ConformanceCase; form: 'header' | 'query'; label: string; req: BotocoreRequest }[] = []
  for (const c of CASES) {
    for (const form of formsOf(c)) {
      const credentials =
        c.session !== true
          ? USER
          : c.tokenAfterSigning === true
            ? { accessKeyId: SESSION.accessKeyId, secretAccessKey: SESSION.secretAccessKey }
            : SESSION
      const base: BotocoreRequest = {
        method: c.method,
        url: `https://${ENDPOINT_HOST}${c.target}`,
        headers: c.headers ?? [],
        ...(c.body === undefined ? {} : { body: c.body }),
        credentials,
        form,
        expires: EXPIRES_SECONDS,
        timestamp: SIGNED_AT,
      }
      const variant = (label: string, change: Partial<BotocoreRequest>) =>
        plan.push({ c, form, label, req: { ...base, ...change } })
      variant('valid', {})
      variant('signed for another host', { headers: [['Host', 'evil.example.com'], ...(c.headers ?? [])] })
      variant('signed for the host with a port', {
        headers: [['Host', `${ENDPOINT_HOST}:8443`], ...(c.headers ?? [])],
      })
      variant('signed with X-Amz-Date second 60', { timestamp: SECOND_60 })
      variant('signed on the 59th day of the month', { timestamp: ROLLED_DAY })
      variant('signed for another region', { region: 'us-west-2' })
      variant('signed for another service', { service: 'apigateway' })
      variant('signed by an unknown key', {
        credentials: { ...credentials, accessKeyId: 'AKIDCONFORMANCEUNKNWN' },
      })
      variant('signed with another secret under this key id', {
        credentials: { ...credentials, secretAccessKey: OTHER_USER.secretAccessKey },
      })
      if (form === 'query') variant('signed with X-Amz-Expires beyond seven days', { expires: 604_801 })
      if (c.session === true && c.tokenAfterSigning !== true)
        variant('signed with another session token', {
          credentials: { ...SESSION, sessionToken: 'another-token' },
        })
    }
  }
  const signed = signWithBotocore(plan.map((p) => p.req))
  const entries = new Map<
    string,
    { c: ConformanceCase; form: 'header' | 'query'; valid?: SignedRequest; wrong: Mutation[] }
  >()
  plan.forEach((p, i) => {
    const key = `${p.c.id}/${p.form}`
    const entry = entries.get(key) ?? { c: p.c, form: p.form, wrong: [] }
    entries.set(key, entry)
    const out = signed[i]!
    const headers =
      p.c.tokenAfterSigning === true
        ? [...out.headers, ['X-Amz-Security-Token', SESSION.sessionToken] as const]
        : out.headers
    const request = asDelivered({ ...out, headers })
    if (p.label === 'valid') entry.valid = request
    else entry.wrong.push({ label: p.label, request })
  })
  return [...entries.values()].map((e) => ({ c: e.c, form: e.form, valid: e.valid!, wronglySigned: e.wrong }))
}

const ENTRIES = signEverything()
const figures = {
  accepted: 0,
  controlsAccepted: 0,
  mutationsRefused: 0,
  wronglySignedRefused: 0,
  timeWindowRefused: 0,
  notRefused: [] as string[],
  byLabel: new Map<string, number>(),
}

function refusedAll(id: string, mutations: readonly Mutation[], at?: number): string[] {
  const accepted: string[] = []
  for (const m of mutations) {
    try {
      verifyAt(m.request, at)
      accepted.push(m.label)
    } catch (err) {
      if (!(err instanceof UnauthenticatedError)) throw err
      figures.byLabel.set(m.label, (figures.byLabel.get(m.label) ?? 0) + 1)
    }
  }
  figures.notRefused.push(...accepted.map((l) => `${id}: ${l}`))
  return accepted
}

describe.each(ENTRIES.map((e) => [e.c.id, e.form, e] as const))('%s (%s form)', (id, form, entry) => {
  it('accepts the request botocore signed, and the same request with unsigned parts changed', () => {
    const who = verifyAt(entry.valid)
    expect(who).toMatchObject({
      form,
      principalArn: entry.c.session === true ? SESSION_ARN : expect.stringMatching(/:user\/conformance$/),
    })
    figures.accepted += 1
    for (const control of controlsOf(entry.valid)) {
      expect([control.label, verifyAt(control.request).form]).toEqual([control.label, form])
      figures.controlsAccepted += 1
    }
  })

  it('refuses every mutation of it', () => {
    const mutations = mutationsOf(entry.valid, form, entry.c)
    expect(mutations.length).toBeGreaterThan(25)
    expect(refusedAll(`${id}/${form}`, mutations)).toEqual([])
    figures.mutationsRefused += mutations.length
  })

  it('refuses what botocore signed over a foreign host, an inexact date, another scope or a wrong key', () => {
    expect(refusedAll(`${id}/${form}`, entry.wronglySigned)).toEqual([])
    figures.wronglySignedRefused += entry.wronglySigned.length
  })

  it('is valid exactly within its time window', () => {
    const fiveMinutes = 5 * 60_000
    const inside =
      form === 'header'
        ? [SIGNED_AT_MS - fiveMinutes, SIGNED_AT_MS + fiveMinutes]
        : [SIGNED_AT_MS - fiveMinutes, SIGNED_AT_MS + EXPIRES_SECONDS * 1000]
    const outside =
      form === 'header'
        ? [SIGNED_AT_MS - fiveMinutes - 1000, SIGNED_AT_MS + fiveMinutes + 1000]
        : [SIGNED_AT_MS - fiveMinutes - 1000, SIGNED_AT_MS + EXPIRES_SECONDS * 1000 + 1]
    for (const at of inside) expect(verifyAt(entry.valid, at).form).toBe(form)
    for (const at of outside) expect(() => verifyAt(entry.valid, at)).toThrow(UnauthenticatedError)
    figures.timeWindowRefused += outside.length
  })
})

describe('the conformance run', () => {
  it('covers every category in both forms where the form exists, and records its figures', () => {
    const categories = new Map<Category, Set<string>>()
    for (const e of ENTRIES)
      for (const cat of e.c.categories) categories.set(cat, (categories.get(cat) ?? new Set()).add(e.form))
    expect([...categories.keys()].sort()).toEqual(
      [
        'vanilla',
        'empty path',
        'dotted paths',
        'slashes',
        'path encoding',
        'unreserved characters',
        'UTF-8',
        'query order',
        'query encoding',
        'empty query values',
        'repeated headers',
        'multi-line headers',
        'header trimming',
        'header case',
        'POST body',
        'session tokens',
      ].sort(),
    )
    for (const [cat, forms] of categories)
      if (cat !== 'POST body') expect([cat, [...forms].sort()]).toEqual([cat, ['header', 'query']])
    expect(figures.notRefused).toEqual([])
    const botocoreVersion = execFileSync('python3', ['-c', 'import botocore; print(botocore.__version__)'], {
      encoding: 'utf8',
    }).trim()
    recordFigures('sigv4-conformance', {
      signer: `botocore ${botocoreVersion}`,
      cases: CASES.length,
      signedRequests: ENTRIES.length,
      headerForm: ENTRIES.filter((e) => e.form === 'header').length,
      queryForm: ENTRIES.filter((e) => e.form === 'query').length,
      accepted: figures.accepted,
      controlsAccepted: figures.controlsAccepted,
      mutationsRefused: figures.mutationsRefused,
      wronglySignedRefused: figures.wronglySignedRefused,
      timeWindowRefused: figures.timeWindowRefused,
      refusedTotal: figures.mutationsRefused + figures.wronglySignedRefused + figures.timeWindowRefused,
      mutationKinds: figures.byLabel.size,
      categories: Object.fromEntries([...categories].map(([k, v]) => [k, [...v].sort()])),
    })
  })
})
