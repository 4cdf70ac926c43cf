import type { Clock } from '../../src/lib/clock'

/** A clock tests move by hand: no sleeps, no global fake timers. */
export class FakeClock implements Clock {
  constructor(private t = Date.UTC(2026, 10, 28, 12, 0, 0)) {}
  now(): number {
    return this.t
  }
  advance(ms: number): void {
    this.t += ms
  }
}
