/* global process */
// Loaded with `node --import`: this process's clock runs CLOCK_SKEW_MS off the machine's (a
// negative value: behind), for `Date.now()` and `new Date()` alike, as on a host whose clock drifted.
const skewMs = Number(process.env.CLOCK_SKEW_MS ?? 0);
const RealDate = Date;

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + skewMs);
    else super(...args);
  }

  static now() {
    return RealDate.now() + skewMs;
  }
}

globalThis.Date = SkewedDate;
