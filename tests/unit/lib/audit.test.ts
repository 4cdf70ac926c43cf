import {
  createAuditSink,
  PartialWriteError,
  writeFully,
  type AuditRecord,
  type WriteSyncFn,
} from '../../../src/lib/audit'

const record = {
  audit: 'secret.access',
  time: '2026-11-28T00:00:00.000Z',
  requestId: 'r-1',
  principal: 'arn:aws:iam::123456789012:role/orders',
  secretName: 'orders/db',
  outcome: 'allowed',
  status: 200,
} as unknown as AuditRecord

/** A non-blocking pipe: takes at most `chunk` bytes per call and answers EAGAIN on the calls listed. */
function choppyPipe(chunk: number, eagainOn: Set<number>) {
  const received: number[] = []
  let call = 0
  const write: WriteSyncFn = (_fd, buffer, offset) => {
    call += 1
    if (eagainOn.has(call))
      throw Object.assign(new Error('EAGAIN: resource temporarily unavailable'), { code: 'EAGAIN' })
    const part = buffer.subarray(offset, Math.min(buffer.length, offset + chunk))
    received.push(...part)
    return part.length
  }
  return { write, text: () => Buffer.from(received).toString('utf8'), calls: () => call }
}

describe('the audit sink', () => {
  it('writes the whole record as one line even when the pipe takes it piecewise and answers EAGAIN', () => {
    const pipe = choppyPipe(7, new Set([2, 3, 9]))
    createAuditSink({ fd: 99, writeSync: pipe.write }).write(record)
    const lines = pipe.text().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[1]).toBe('')
    expect(JSON.parse(lines[0] ?? '')).toEqual(record)
  })

  it('gives up after a bounded number of EAGAINs, so the request fails closed instead of hanging', () => {
    const always: WriteSyncFn = () => {
      throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' })
    }
    let calls = 0
    const counting: WriteSyncFn = (...args) => {
      calls += 1
      return always(...args)
    }
    expect(() => writeFully(99, Buffer.from('x'), counting)).toThrow(PartialWriteError)
    expect(calls).toBeGreaterThan(1)
    expect(calls).toBeLessThanOrEqual(201)
  })

  it('fails at once on any other write error', () => {
    let calls = 0
    const broken: WriteSyncFn = () => {
      calls += 1
      throw Object.assign(new Error('EBADF'), { code: 'EBADF' })
    }
    expect(() => writeFully(99, Buffer.from('x'), broken)).toThrow(PartialWriteError)
    expect(calls).toBe(1)
  })

  it('treats a write that takes nothing like EAGAIN: bounded, never an endless loop', () => {
    let calls = 0
    const stalled: WriteSyncFn = () => {
      calls += 1
      return 0
    }
    expect(() => writeFully(99, Buffer.from('x'), stalled)).toThrow(PartialWriteError)
    expect(calls).toBeLessThanOrEqual(201)
  })

  it('starts the next record on a fresh line after a line was cut short', () => {
    const received: number[] = []
    let stall = false
    const write: WriteSyncFn = (_fd, buffer, offset) => {
      if (stall && offset > 0) return 0
      const part = buffer.subarray(offset, Math.min(buffer.length, offset + 10))
      received.push(...part)
      return part.length
    }
    const sink = createAuditSink({ fd: 99, writeSync: write })
    stall = true
    expect(() => sink.write(record)).toThrow(PartialWriteError)
    stall = false
    sink.write(record)
    const lines = Buffer.from(received).toString('utf8').split('\n')
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[1] ?? '')).toEqual(record)
  })
})
