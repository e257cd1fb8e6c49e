package dev.sandboxmetrics.snapshot;

/**
 * A runsc {@code Number}: either a signed 64-bit integer or a double, never both. The empty JSON object
 * {@code {}} is the integer zero, as in gVisor.
 *
 * <p>Instances are immutable. Integers keep all 64 bits (gVisor's writer loses digits at 10^18; we don't).
 *
 * <p>One {@code long} holds either kind (a double as its raw bits): 24 bytes an instance instead of 32 with a
 * field per kind. The scrape path makes one for every integer data point of every sandbox (17,500 per
 * scrape of 100 bench sandboxes), so this is a few percent of what a scrape allocates.
 */
public final class Value {
  /** The integer zero, what runsc encodes as {@code {}}. */
  public static final Value ZERO = new Value(true, 0L);

  private static final Value[] SMALL_INTS = new Value[256];

  static {
    SMALL_INTS[0] = ZERO;
    for (int i = 1; i < SMALL_INTS.length; i++) {
      SMALL_INTS[i] = new Value(true, i);
    }
  }

  private final boolean integer;
  /** The integer, or the double's raw bits ({@link Double#doubleToRawLongBits}: NaN payloads kept). */
  private final long bits;

  private Value(boolean integer, long bits) {
    this.integer = integer;
    this.bits = bits;
  }

  public static Value ofInt(long v) {
    // 0 <= v < 256 in one test, which keeps this within C1's inlining limit of 35 bytes of bytecode.
    return (v & ~0xffL) == 0 ? SMALL_INTS[(int) v] : new Value(true, v);
  }

  public static Value ofFloat(double v) {
    return new Value(false, Double.doubleToRawLongBits(v));
  }

  /** True for an integer (including {@link #ZERO}), false for a float. */
  public boolean isInteger() {
    return integer;
  }

  /** The integer value; only meaningful when {@link #isInteger()}. */
  public long longValue() {
    return integer ? bits : 0L;
  }

  /** The float value; only meaningful when not {@link #isInteger()}. */
  public double doubleValue() {
    return integer ? 0d : Double.longBitsToDouble(bits);
  }

  /** The value as a double, whichever kind it is. */
  public double toDouble() {
    return integer ? (double) bits : Double.longBitsToDouble(bits);
  }

  /** True when the value is zero of either kind. */
  public boolean isZero() {
    return integer ? bits == 0 : Double.longBitsToDouble(bits) == 0d;
  }

  /** Same kind (integer or float) as {@code other}. */
  public boolean sameKind(Value other) {
    return integer == other.integer;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Value)) {
      return false;
    }
    Value v = (Value) o;
    return integer == v.integer
        && (integer
            ? bits == v.bits
            : Double.doubleToLongBits(doubleValue()) == Double.doubleToLongBits(v.doubleValue()));
  }

  @Override
  public int hashCode() {
    return integer ? Long.hashCode(bits) : Double.hashCode(doubleValue()) * 31 + 1;
  }

  @Override
  public String toString() {
    return integer ? Long.toString(bits) : Double.toString(doubleValue());
  }
}
