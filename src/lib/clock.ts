/** Time as a side effect: production passes `systemClock`, tests a FakeClock they advance by hand. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
