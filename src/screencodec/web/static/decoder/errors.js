// The decoder's errors. Every refusal of input is a DecodeError, so a caller
// needs one catch: it then asks the host for a keyframe.

/** Input the decoder refuses (malformed, inconsistent, or out of sync). */
export class DecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Input refused because it exceeds a size or work limit. */
export class LimitError extends DecodeError {
  constructor(message) {
    super(message);
    this.name = 'LimitError';
  }
}

/** An update whose framebuffer hash does not match the result. */
export class IntegrityError extends DecodeError {
  constructor(message) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** Run `fn`; turn anything it throws that is not a DecodeError (a RangeError
 * from a library fed hostile bytes, say) into a DecodeError saying `what`. */
export function guarded(what, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`${what}: ${e && e.message ? e.message : e}`);
  }
}
