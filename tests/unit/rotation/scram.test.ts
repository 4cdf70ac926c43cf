import { createHash, createHmac } from 'node:crypto'
import {
  deriveScramKeys,
  formatScramVerifier,
  parseScramVerifier,
  scramSha256Verifier,
  SCRAM_VERIFIER_PATTERN,
} from '../../../src/rotation/scram'

// RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
const RFC = {
  password: 'pencil',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
}

describe('SCRAM-SHA-256 verifier', () => {
  it('derives a ServerKey that reproduces the RFC 7677 server signature', () => {
    // Act
    const keys = deriveScramKeys(RFC.password, RFC.salt, 4096)
    // Assert
    expect(createHmac('sha256', keys.serverKey).update(RFC.authMessage).digest('base64')).toBe(
      RFC.serverSignature,
    )
  })

  it('derives the StoredKey the RFC 7677 client proof was made with', () => {
    // Arrange: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and StoredKey = H(ClientKey)
    const keys = deriveScramKeys(RFC.password, RFC.salt, 4096)
    const signature = createHmac('sha256', keys.storedKey).update(RFC.authMessage).digest()
    const proof = Buffer.from(RFC.clientProof, 'base64')
    // Act
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)))
    // Assert
    expect(createHash('sha256').update(clientKey).digest().equals(keys.storedKey)).toBe(true)
  })

  it("formats PostgreSQL's SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>", () => {
    // Act
    const verifier = formatScramVerifier(deriveScramKeys(RFC.password, RFC.salt, 4096))
    // Assert
    expect(verifier).toMatch(SCRAM_VERIFIER_PATTERN)
    expect(verifier.startsWith('SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$')).toBe(true)
    expect(
      parseScramVerifier(verifier)?.serverKey.equals(deriveScramKeys(RFC.password, RFC.salt).serverKey),
    ).toBe(true)
  })

  it('takes a 16-byte salt from the injected randomness and never contains the password', () => {
    // Arrange
    const sizes: number[] = []
    // Act
    const verifier = scramSha256Verifier('CANARY-pw-1', (n) => (sizes.push(n), Buffer.alloc(n, 1)))
    // Assert
    expect(sizes).toEqual([16])
    expect(parseScramVerifier(verifier)?.salt).toEqual(Buffer.alloc(16, 1))
    expect(verifier).not.toContain('CANARY')
  })

  it('gives different verifiers for different salts', () => {
    expect(scramSha256Verifier('same', (n) => Buffer.alloc(n, 1))).not.toBe(
      scramSha256Verifier('same', (n) => Buffer.alloc(n, 2)),
    )
  })

  it('refuses non-ASCII passwords (SASLprep would change them) without quoting them', () => {
    expect(() => scramSha256Verifier('pässwörd-CANARY', (n) => Buffer.alloc(n))).toThrow(
      /^SCRAM: the password must be non-empty ASCII without NUL$/,
    )
  })

  it('rejects a malformed verifier when parsing', () => {
    expect(parseScramVerifier("SCRAM-SHA-256$4096:abc$x':y")).toBeUndefined()
  })
})
