package dev.sandboxmetrics.snapshot;

import java.util.Objects;

/**
 * One histogram bucket as runsc sends it: its upper bound ({@code le}) and the number of samples that fell
 * in this bucket only (not cumulative). The count is an unsigned 64-bit integer in Go; we keep it in a
 * {@code long} and the decoder rejects counts above {@link Long#MAX_VALUE}.
 */
public record Bucket(Value upperBound, long count) {
  public Bucket {
    Objects.requireNonNull(upperBound, "upperBound");
  }
}
