package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.UntrustedText;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import dev.sandboxmetrics.snapshot.text.PrometheusNumbers;
import java.time.Instant;

/**
 * Formatting for verification messages, modelled on what gVisor's verifier prints with Go's {@code %q} and
 * {@code %v}, so that a message from us reads like the one runsc would log for the same snapshot.
 */
final class Go {
  private Go() {}

  /**
   * Go's {@code %q} of at most {@link UntrustedText#MAX_CHARS} characters: what the verifier quotes comes
   * from the sandbox (a metric name of a million characters must not make a million-character message).
   */
  static String quote(String s) {
    return UntrustedText.quote(s);
  }

  /**
   * gVisor's {@code Number.String()}: integers in decimal, floats as Go's {@code %f}, +Inf, -Inf, NaN; as the
   * exposition prints them (Java's {@code %f} would round the shortest decimal half-up where Go rounds the
   * exact binary value half-to-even: 5e-7 is 0.000000 in Go).
   */
  static String number(Value v) {
    return PrometheusNumbers.toText(v);
  }

  /** Go's {@code %v} of a UTC time, or ISO 8601 for instants Go could not print either. */
  static String time(Instant t) {
    try {
      return RunscTime.formatGoString(t);
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      return t.toString();
    }
  }
}
