/**
 * Hides credentials in URLs before they reach logs, errors or metrics: camera URLs routinely
 * carry `user:password@` userinfo or token query parameters.
 */

// scheme://userinfo@ — userinfo is everything up to the last '@' before the path; greedy so
// that an unencoded '@' inside a password is covered too.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi;
const SECRET_PARAM = /([?&;](?:password|passwd|pwd|pass|token|access_token|auth|apikey|api_key|key|secret|signature|sig|x-amz-signature|x-amz-credential)=)[^&;#\s'"]*/gi;

/** `rtsp://user:pass@host/x?token=abc` → `rtsp://***@host/x?token=***`. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}

/** Redacts every URL inside free text (e.g. ffmpeg's stderr, which echoes the input URL). */
export function redactText(text: string): string {
  return redactUrl(text);
}
