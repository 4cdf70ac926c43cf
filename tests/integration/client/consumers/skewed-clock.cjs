// Preloaded with `node --require`: this process's clock runs 7 minutes behind, as a host's might. SigV4
// signatures then carry a time the broker refuses (it allows 5 minutes either way).
const OFFSET_MS = -7 * 60 * 1000
const RealDate = Date
class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + OFFSET_MS)
    else super(...args)
  }
  static now() {
    return RealDate.now() + OFFSET_MS
  }
}
globalThis.Date = SkewedDate
