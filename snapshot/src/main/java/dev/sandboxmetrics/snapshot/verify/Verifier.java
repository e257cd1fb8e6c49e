package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a sandbox's snapshots against its trusted registration and against the last snapshot it accepted
 * (runsc-compat.md section 5). The metric server keeps one verifier per sandbox incarnation and runs every
 * exported snapshot through it before serving it; a rejected snapshot leaves its memory unchanged, so one bad
 * export does not poison the next. Thread-safe: calls are serialized.
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
 * A number with both {@code int} and {@code float} set cannot reach the verifier: the strict decoder rejects
 * it (see {@code RunscJson}).
 */
public final class Verifier {
  /** How old a snapshot may be when verified. */
  static final Duration MAX_STALENESS = Duration.ofSeconds(10);

  private final Map<String, MetricRule> rules;

  // Memory across calls.
  private Instant lastAccepted;
  private int stamp;

  // Per-call scratch, reused: the rule and combination of each data point between the passes.
  private MetricRule[] pointRules = new MetricRule[0];
  private int[] pointSlots = new int[0];
  private MetricRule.ComboKey[] pointKeys = new MetricRule.ComboKey[0];

  // What the last accepted snapshot had at each position: its metric and label objects, their rule and
  // dense slot. The decoder hands out one instance per distinct metric and label set, and a sandbox sends
  // its metrics in the same order every time, so the next snapshot mostly repeats these instances: then
  // the rule needs no lookup by name, the definition no comparison, the labels no lookups by value.
  private Metric[] knownMetrics = new Metric[0];
  private MetricRule[] knownRules = new MetricRule[0];
  private Labels[] knownLabels = new Labels[0];
  private int[] knownSlots = new int[0];

  private Verifier(Map<String, MetricRule> rules) {
    this.rules = rules;
  }

  /** Validates the registration and returns a verifier with no memory yet. */
  public static Verifier forRegistration(Registration registration) throws InvalidRegistrationException {
    if (registration == null) {
      throw new InvalidRegistrationException("the sandbox did not register any metrics");
    }
    Map<String, MetricRule> rules = new HashMap<>(registration.metrics().size() * 2);
    for (MetricMetadata m : registration.metrics()) {
      String name = m.prometheusName();
      if (rules.containsKey(name)) {
        throw new InvalidRegistrationException("metric " + Go.quote(name) + " registered twice");
      }
      try {
        rules.put(name, MetricRule.of(m));
      } catch (MetricRule.Invalid e) {
        throw new InvalidRegistrationException("metric " + Go.quote(name) + ": " + e.getMessage());
      }
    }
    return new Verifier(rules);
  }

  /** Accepts the snapshot and remembers its values, or throws and remembers nothing. */
  public synchronized void verify(Snapshot snapshot, Instant now) throws VerificationException {
    Instant when = snapshot.when();
    if (when.isAfter(now)) {
      throw new VerificationException(
          "snapshot is from the future: it is from " + Go.time(when) + ", now is " + Go.time(now));
    }
    Instant oldest = now.minus(MAX_STALENESS);
    if (when.isBefore(oldest)) {
      throw new VerificationException(
          "snapshot is too old; it is from " + Go.time(when) + ", expected at least " + Go.time(oldest)
              + " (" + MAX_STALENESS.toSeconds() + "s from now)");
    }

    List<DataPoint> data = snapshot.data();
    int n = data.size();
    ensureScratch(n);
    nextStamp();

    // Pass 1: the shape of every data point, read-only but for the per-snapshot duplicate marks.
    boolean anySparse = false;
    for (int i = 0; i < n; i++) {
      DataPoint d = data.get(i);
      Metric metric = d.metric();
      boolean known = i < knownMetrics.length && knownMetrics[i] == metric;
      MetricRule rule = known ? knownRules[i] : rules.get(metric.name());
      if (rule == null) {
        throw new VerificationException("snapshot contains unknown metric " + Go.quote(metric.name()));
      }
      if (pointRules[i] != rule) {
        pointRules[i] = rule;
      }
      int knownSlot = known && knownLabels[i] == d.labels() ? knownSlots[i] : -1;
      pointSlots[i] = rule.check(d, stamp, pointKeys, i, known, knownSlot);
      anySparse |= pointSlots[i] < 0;
    }

    if (lastAccepted != null && lastAccepted.isAfter(when)) {
      throw new VerificationException(
          "consecutive snapshots are not chronologically ordered: last verified snapshot was exported at "
              + Go.time(lastAccepted) + ", this one is from " + Go.time(when));
    }

    // Pass 2: nothing went backwards since the last accepted snapshot.
    for (int i = 0; i < n; i++) {
      MetricRule rule = pointRules[i];
      if (rule.remembers()) {
        rule.checkIncrease(data.get(i), pointSlots[i], pointKeys[i]);
      }
    }

    // Pass 3: accepted; only now change memory.
    lastAccepted = when;
    if (knownMetrics.length < n) {
      knownMetrics = Arrays.copyOf(knownMetrics, n);
      knownRules = Arrays.copyOf(knownRules, n);
      knownLabels = Arrays.copyOf(knownLabels, n);
      knownSlots = Arrays.copyOf(knownSlots, n);
    }
    for (int i = 0; i < n; i++) {
      MetricRule rule = pointRules[i];
      DataPoint d = data.get(i);
      if (rule.remembers()) {
        rule.remember(d, pointSlots[i], pointKeys[i]);
      }
      // Mostly the same instances as last time: storing them again would only leave dirty cards for G1's
      // refinement threads to scan (see MetricRule on why counters are remembered as numbers).
      if (knownMetrics[i] != d.metric() || knownLabels[i] != d.labels() || knownRules[i] != rule) {
        knownMetrics[i] = d.metric();
        knownRules[i] = rule;
        knownLabels[i] = d.labels();
      }
      knownSlots[i] = pointSlots[i];
    }
    if (anySparse) {
      Arrays.fill(pointKeys, 0, n, null);
    }
  }

  private void ensureScratch(int n) {
    if (pointRules.length < n) {
      int size = Math.max(n, pointRules.length * 2);
      pointRules = new MetricRule[size];
      pointSlots = new int[size];
      pointKeys = new MetricRule.ComboKey[size];
    }
  }

  /** A new mark for "seen in this snapshot"; marks start at 1 so that fresh arrays (all 0) mean unseen. */
  private void nextStamp() {
    if (stamp == Integer.MAX_VALUE) {
      for (MetricRule rule : rules.values()) {
        rule.clearSeen();
      }
      stamp = 0;
    }
    stamp++;
  }
}
