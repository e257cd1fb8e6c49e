package dev.sandboxmetrics.snapshot;

/**
 * A runsc {@code Number}: either a signed 64-bit integer or a double, never both. The empty JSON object
 * {@code {}} is the integer zero, as in gVisor.
 *
 * <p>Instances are immutable. Integers keep all 64 bits (gVisor's writer loses digits at 10^18; we don't).
 */
public final class Value {
  /** The integer zero, what runsc encodes as {@code {}}. */
  public static final Value ZERO = new Value(true, 0L, 0d);

  private static final Value[] SMALL_INTS = new Value[256];

  static {
    SMALL_INTS[0] = ZERO;
    for (int i = 1; i < SMALL_INTS.length; i++) {
      SMALL_INTS[i] = new Value(true, i, 0d);
    }
  }

  private final boolean integer;
  private final long longValue;
  private final double doubleValue;

  private Value(boolean integer, long longValue, double doubleValue) {
    this.integer = integer;
    this.longValue = longValue;
    this.doubleValue = doubleValue;
  }

  public static Value ofInt(long v) {
    // 0 <= v < 256 in one test, which keeps this within C1's inlining limit of 35 bytes of bytecode.
    return (v & ~0xffL) == 0 ? SMALL_INTS[(int) v] : new Value(true, v, 0d);
  }

  public static Value ofFloat(double v) {
    return new Value(false, 0L, v);
  }

  /** True for an integer (including {@link #ZERO}), false for a float. */
  public boolean isInteger() {
    return integer;
  }

  /** The integer value; only meaningful when {@link #isInteger()}. */
  public long longValue() {
    return longValue;
  }

  /** The float value; only meaningful when not {@link #isInteger()}. */
  public double doubleValue() {
    return doubleValue;
  }

  /** The value as a double, whichever kind it is. */
  public double toDouble() {
    return integer ? (double) longValue : doubleValue;
  }

  /** True when the value is zero of either kind. */
  public boolean isZero() {
    return integer ? longValue == 0 : doubleValue == 0d;
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
            ? longValue == v.longValue
            : Double.doubleToLongBits(doubleValue) == Double.doubleToLongBits(v.doubleValue));
  }

  @Override
  public int hashCode() {
    return integer ? Long.hashCode(longValue) : Double.hashCode(doubleValue) * 31 + 1;
  }

  @Override
  public String toString() {
    return integer ? Long.toString(longValue) : Double.toString(doubleValue);
  }
}
