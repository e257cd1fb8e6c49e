package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.Registration;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checks of one validated registration: a {@link MetricRule} per metric and how much memory a verifier
 * needs for them. Immutable, so every {@link Verifier} whose sandbox registered the same metrics shares one
 * (see {@link #forRegistration}); each verifier keeps only its {@link VerifierMemory}.
 *
 * <p>Why share: all sandboxes on a node normally run the same runsc, so their state files carry equal
 * registrations, and building the rules per sandbox kept the same ~120 rules, their strings, maps and arrays
 * (about 65 KB of the 75 KB a sandbox kept alive, by class histogram) once per sandbox.
 */
final class RegistrationRules {
  /**
   * How many distinct registrations the sharing remembers. A node runs one runsc, two during an upgrade;
   * more than a handful means state files that vary on purpose, and then sharing stops helping anyway.
   */
  static final int SHARED_REGISTRATIONS = 8;

  /**
   * Most entries (marks plus numbers) a verifier's flat arrays may take; metrics beyond it are kept sparse.
   * A real registration needs a few hundred; this keeps a wide one from costing megabytes per sandbox
   * before the sandbox has sent anything.
   */
  static final int DENSE_BUDGET = 1 << 16;

  /**
   * Recently built rules by the hash of their metrics, least recently used first. Values are weak: rules
   * live as long as some verifier uses them, not because they are listed here; keys are only hashes, so an
   * entry costs nothing when its rules are gone. A hash collision just means no sharing for one of the two.
   */
  private static final LinkedHashMap<Integer, WeakReference<RegistrationRules>> SHARED =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, WeakReference<RegistrationRules>> eldest) {
          return size() > SHARED_REGISTRATIONS;
        }
      };

  /** The registered metrics these rules were built from: what an equal registration is compared with. */
  private final List<MetricMetadata> metrics;
  private final Map<String, MetricRule> byName;
  private final int seenSize;
  private final int numbersSize;
  private final int sparseCount;
  private final long series;

  private RegistrationRules(List<MetricMetadata> metrics, Map<String, MetricRule> byName, MetricRule.Layout layout) {
    this.metrics = metrics;
    this.byName = byName;
    this.seenSize = layout.seenSize();
    this.numbersSize = layout.numbersSize();
    this.sparseCount = layout.sparseCount();
    this.series = seriesOf(metrics);
  }

  /**
   * The most exposition lines a sandbox with this registration can make: per metric, the product of its
   * fields' allowed values (every label combination), times the lines of one histogram (a bucket each, plus
   * {@code _sum} and {@code _count}) for a distribution. Saturates at {@link Long#MAX_VALUE}.
   */
  static long seriesOf(List<MetricMetadata> metrics) {
    long total = 0;
    for (MetricMetadata m : metrics) {
      long combinations = 1;
      for (dev.sandboxmetrics.snapshot.MetricField f : m.fields()) {
        combinations = saturatingMultiply(combinations, Math.max(1, f.allowedValues().size()));
      }
      long lines = m.type() == MetricMetadata.TYPE_DISTRIBUTION ? m.distributionBucketLowerBounds().size() + 3L : 1;
      total = saturatingAdd(total, saturatingMultiply(combinations, lines));
    }
    return total;
  }

  private static long saturatingMultiply(long a, long b) {
    return b != 0 && a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
  }

  private static long saturatingAdd(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  /** See {@link #seriesOf}. */
  long series() {
    return series;
  }

  /**
   * The rules of a registration: those already built for an equal one if a verifier still uses them, else
   * validated and built now. An invalid registration is validated again every time (it fails the same way)
   * and is not remembered.
   */
  static RegistrationRules forRegistration(Registration registration) throws InvalidRegistrationException {
    if (registration == null) {
      throw new InvalidRegistrationException("the sandbox did not register any metrics");
    }
    List<MetricMetadata> metrics = registration.metrics();
    Integer hash = metrics.hashCode();
    // Built under the lock: sandboxes are registered one at a time anyway, and building takes well under a
    // millisecond for a real registration.
    synchronized (SHARED) {
      WeakReference<RegistrationRules> ref = SHARED.get(hash);
      RegistrationRules known = ref == null ? null : ref.get();
      if (known != null && (known.metrics == metrics || known.metrics.equals(metrics))) {
        return known;
      }
      RegistrationRules built = build(metrics);
      SHARED.put(hash, new WeakReference<>(built));
      return built;
    }
  }

  /** Validates a registration's metrics and builds their rules, without sharing. */
  static RegistrationRules build(List<MetricMetadata> metrics) throws InvalidRegistrationException {
    Map<String, MetricRule> rules = new HashMap<>(metrics.size() * 2);
    MetricRule.Layout layout = new MetricRule.Layout(DENSE_BUDGET);
    for (MetricMetadata m : metrics) {
      String name = m.prometheusName();
      if (rules.containsKey(name)) {
        throw new InvalidRegistrationException("metric " + Go.quote(name) + " registered twice");
      }
      try {
        rules.put(name, MetricRule.of(m, layout));
      } catch (MetricRule.Invalid e) {
        throw new InvalidRegistrationException("metric " + Go.quote(name) + ": " + e.getMessage());
      }
    }
    return new RegistrationRules(metrics, rules, layout);
  }

  /** The rule of a metric by its Prometheus name, or null when it was not registered. */
  MetricRule rule(String name) {
    return byName.get(name);
  }

  /** True when some metric is too wide for arrays and its combinations are hash keys. */
  boolean hasSparse() {
    return sparseCount > 0;
  }

  /** Empty memory for one verifier of these rules. */
  VerifierMemory newMemory() {
    return new VerifierMemory(seenSize, numbersSize, sparseCount);
  }

  /** How many registrations the sharing lists right now, for tests of its bound. */
  static int sharedCount() {
    synchronized (SHARED) {
      return SHARED.size();
    }
  }
}
