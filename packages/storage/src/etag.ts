/** ETags travel quoted in HTTP; the contract compares and sends them without quotes. */
export function unquoteEtag(etag: string): string {
  return etag.replace(/^(W\/)?"|"$/g, '');
}
