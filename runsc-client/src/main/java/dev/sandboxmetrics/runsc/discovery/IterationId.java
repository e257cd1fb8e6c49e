package dev.sandboxmetrics.runsc.discovery;

import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;

/**
 * The {@code iteration} label: tells two sandboxes apart that reused one sandbox ID. It must equal runsc's
 * value exactly, or every series would change its identity when a user switches between runsc and us
 * (docs/runsc-protocol.md section 6): the first 8 bytes of SHA-256 over {@code <sandboxID>:<createdAt>}, read as
 * a big-endian unsigned integer and written in base 36, where createdAt is the root container's creation
 * time in UTC formatted as Go's {@code time.Time.String()}.
 *
 * <p>The JDK's SHA-256: its first use starts the security providers, which {@code export-metrics} does
 * meanwhile on its warm-up thread (measured: no difference in wall time against a hand-written SHA-256).
 */
public final class IterationId {
  private IterationId() {}

  /** The iteration of sandbox {@code sandboxId} whose root container was created at {@code createdAt}. */
  public static String of(String sandboxId, Instant createdAt) {
    String hashed = sandboxId + ":" + RunscTime.formatGoString(createdAt);
    byte[] digest;
    try {
      digest = MessageDigest.getInstance("SHA-256").digest(hashed.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    long first8 = 0;
    for (int i = 0; i < 8; i++) {
      first8 = (first8 << 8) | (digest[i] & 0xff);
    }
    return Long.toUnsignedString(first8, 36);
  }
}
