package dev.sandboxmetrics.metricserver.discovery;

import dev.sandboxmetrics.snapshot.json.RunscTime;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The {@code iteration} label: tells two sandboxes apart that reused one sandbox ID. It must equal runsc's
 * value exactly, or every series would change its identity when a user switches between runsc and us
 * (docs/runsc-protocol.md section 6): the first 8 bytes of SHA-256 over {@code <sandboxID>:<createdAt>}, read as
 * a big-endian unsigned integer and written in base 36, where createdAt is the root container's creation
 * time in UTC formatted as Go's {@code time.Time.String()}.
 */
public final class IterationId {
  private IterationId() {}

  /** The iteration of sandbox {@code sandboxId} whose root container was created at {@code createdAt}. */
  public static String of(String sandboxId, Instant createdAt) {
    String hashed = sandboxId + ":" + RunscTime.formatGoString(createdAt);
    byte[] digest = Sha256.digest(hashed.getBytes(StandardCharsets.UTF_8));
    long first8 = 0;
    for (int i = 0; i < 8; i++) {
      first8 = (first8 << 8) | (digest[i] & 0xff);
    }
    return Long.toUnsignedString(first8, 36);
  }
}
