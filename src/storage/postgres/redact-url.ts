/** A PostgreSQL URL fit for logs and error messages: the password (and any `password=` parameter) replaced. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}
