package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * Checks a sandbox's snapshots against its trusted registration and against the last snapshot it accepted
 * (docs/runsc-protocol.md section 5). The metric server keeps one verifier per sandbox incarnation and runs every
 * exported snapshot through it before serving it; a rejected snapshot leaves its memory unchanged, so one bad
 * export does not poison the next. Thread-safe: calls are serialized.
 *
 * <p>A verifier is small: the rules of its registration are shared with every verifier of an equal
 * registration ({@link RegistrationRules}), and what it remembers is a few flat arrays
 * ({@link VerifierMemory}), so a server keeps a few KB per sandbox rather than a copy of every rule.
 *
 * <p>Messages follow gVisor's wording ({@code metric "fs_opens": counter value decreased from 10 to 5}) so
 * that they read like what runsc logs. Where gVisor is laxer than the spec we follow the spec, and a few
 * checks are added where a sandbox could otherwise break the writers:
 * <ul>
 *   <li>metric names must be ASCII {@code [a-z][a-z0-9_]*} (gVisor accepts any Unicode lower-case letter);
 *   <li>{@code external_labels} from a sandbox are rejected (gVisor ignores them when verifying, so a
 *       sandbox could add arbitrary labels to its series);
 *   <li>a histogram whose sample counts add up to more than 64 bits is rejected;
 *   <li>float counters and min/max are compared as floats (gVisor compares the integer parts of integral
 *       floats, which are zero, so it never caught a float going backwards);
 *   <li>field combinations are keyed by value indices, not by joining values with commas.
 * </ul>
 * A number with both {@code int} and {@code float} set reaches the verifier as its integer (gVisor's
 * reading); the one case gVisor's verifier rejects (a value whose float part is not an integer) is rejected
 * by the server's decoding policy already, since our model holds one kind (see {@code RunscJson}).
 */
public final class Verifier {
  /** How old a snapshot may be when verified. */
  static final Duration MAX_STALENESS = Duration.ofSeconds(10);

  /** Shared with every verifier of an equal registration; read-only. */
  private final RegistrationRules rules;
  /** This verifier's own memory of accepted values, which the rules index into. */
  private final VerifierMemory memory;
  private Instant lastAccepted;

  // Per-call scratch, reused: the key of each sparse data point between the passes. Only registrations
  // with metrics too wide for arrays have one.
  private MetricRule.ComboKey[] pointKeys;

  // What was met at each position of earlier snapshots: the metric and label objects, their rule and dense
  // slot (-1: sparse). The decoder hands out one instance per distinct metric and label set, and a sandbox
  // sends its metrics in the same order every time, so the next snapshot mostly repeats these instances:
  // then the rule needs no lookup by name, the definition no comparison, the labels no lookups by value.
  // Each entry is a fact about immutable objects (this metric fits this rule, these labels are that slot),
  // true whether or not the snapshot it came from was accepted, so the first pass records it as soon as a
  // data point's shape checked out; the later passes read the rule and slot of every position from here.
  private Metric[] knownMetrics = new Metric[0];
  private MetricRule[] knownRules = new MetricRule[0];
  private Labels[] knownLabels = new Labels[0];
  private int[] knownSlots = new int[0];

  private Verifier(RegistrationRules rules) {
    this.rules = rules;
    this.memory = rules.newMemory();
  }

  /**
   * Validates the registration and returns a verifier with no memory yet. Verifiers of equal registrations
   * share their rules (validated and built once while any such verifier is alive), never their memory.
   */
  public static Verifier forRegistration(Registration registration) throws InvalidRegistrationException {
    return new Verifier(RegistrationRules.forRegistration(registration));
  }

  /**
   * The most series (exposition lines) the registration allows: every label combination of every metric,
   * a histogram counting its bucket, sum and count lines. The metric server refuses to query a sandbox
   * whose registration allows more than {@code --max-series-per-sandbox}.
   */
  public long registeredSeries() {
    return rules.series();
  }

  /** The rules this verifier checks against, for tests of the sharing. */
  RegistrationRules rules() {
    return rules;
  }

  /** Accepts the snapshot and remembers its values, or throws and remembers nothing. */
  public synchronized void verify(Snapshot snapshot, Instant now) throws VerificationException {
    Instant when = snapshot.when();
    if (when.isAfter(now)) {
      throw new VerificationException(
          "snapshot is from the future: it is from " + Go.time(when) + ", now is " + Go.time(now));
    }
    if (isStale(when, now)) {
      Instant oldest = now.minus(MAX_STALENESS);
      throw new VerificationException(
          "snapshot is too old; it is from " + Go.time(when) + ", expected at least " + Go.time(oldest)
              + " (" + MAX_STALENESS.toSeconds() + "s from now)");
    }

    int n = snapshot.pointCount();
    ensureCapacity(n);
    memory.nextStamp();

    // Pass 1: the shape of every data point, read-only but for the per-snapshot duplicate marks and the
    // position facts.
    boolean anySparse = false;
    for (int i = 0; i < n; i++) {
      DataPoint d = snapshot.point(i);
      Metric metric = d.metric();
      Labels labels = d.labels();
      boolean known = knownMetrics[i] == metric;
      MetricRule rule = known ? knownRules[i] : rules.rule(metric.name());
      if (rule == null) {
        throw new VerificationException("snapshot contains unknown metric " + Go.quote(metric.name()));
      }
      int knownSlot = known && knownLabels[i] == labels ? knownSlots[i] : -1;
      int slot = rule.check(d, memory, pointKeys, i, known, knownSlot);
      anySparse |= slot < 0;
      // Mostly the same instances as last time: storing them again would only leave dirty cards for G1's
      // refinement threads to scan (see MetricRule on why values are remembered as numbers).
      if (!known || knownLabels[i] != labels) {
        knownMetrics[i] = metric;
        knownRules[i] = rule;
        knownLabels[i] = labels;
      }
      knownSlots[i] = slot;
    }

    if (lastAccepted != null && lastAccepted.isAfter(when)) {
      throw new VerificationException(
          "consecutive snapshots are not chronologically ordered: last verified snapshot was exported at "
              + Go.time(lastAccepted) + ", this one is from " + Go.time(when));
    }

    // Pass 2: nothing went backwards since the last accepted snapshot.
    for (int i = 0; i < n; i++) {
      MetricRule rule = knownRules[i];
      if (rule.remembers()) {
        rule.checkIncrease(snapshot.point(i), memory, knownSlots[i], anySparse ? pointKeys[i] : null);
      }
    }

    // Pass 3: accepted; only now change memory.
    lastAccepted = when;
    for (int i = 0; i < n; i++) {
      MetricRule rule = knownRules[i];
      if (rule.remembers()) {
        rule.remember(snapshot.point(i), memory, knownSlots[i], anySparse ? pointKeys[i] : null);
      }
    }
    if (anySparse) {
      Arrays.fill(pointKeys, 0, n, null);
    }
  }

  /**
   * {@code when} is before {@code now - MAX_STALENESS}; compared field by field because the Instant that
   * {@code minus} makes was not always optimized away, and it was the only allocation of a verify call.
   */
  private static boolean isStale(Instant when, Instant now) {
    long oldestSecond = now.getEpochSecond() - MAX_STALENESS.getSeconds();
    int oldestNano = now.getNano() - MAX_STALENESS.getNano();
    if (oldestNano < 0) {
      oldestNano += 1_000_000_000;
      oldestSecond--;
    }
    return when.getEpochSecond() < oldestSecond
        || (when.getEpochSecond() == oldestSecond && when.getNano() < oldestNano);
  }

  private void ensureCapacity(int n) {
    if (knownMetrics.length < n) {
      int size = Math.max(n, knownMetrics.length * 2);
      knownMetrics = Arrays.copyOf(knownMetrics, size);
      knownRules = Arrays.copyOf(knownRules, size);
      knownLabels = Arrays.copyOf(knownLabels, size);
      knownSlots = Arrays.copyOf(knownSlots, size);
      if (rules.hasSparse()) {
        pointKeys = new MetricRule.ComboKey[size];
      }
    }
  }
}
