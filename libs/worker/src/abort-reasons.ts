/** Why a running handler's signal fired; `signal.reason` is one of these. */
export class AbortReason extends Error {
  constructor(
    readonly kind: 'timeout' | 'cancelled' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'AbortReason';
  }
}
