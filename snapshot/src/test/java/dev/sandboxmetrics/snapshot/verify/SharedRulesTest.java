package dev.sandboxmetrics.snapshot.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricField;
import dev.sandboxmetrics.snapshot.MetricMetadata;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.TestData;
import dev.sandboxmetrics.snapshot.Value;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Verifiers of equal registrations share their rules (one copy per node instead of one per sandbox) and
 * never their memory; the sharing is bounded, survives hash collisions, and does not change what an
 * invalid registration is told.
 */
class SharedRulesTest {
  private static final Instant NOW = Instant.parse("2024-01-02T03:04:05.678Z");

  @Test
  void sandboxesWithEqualRegistrationsShareRulesButNotMemory() throws Exception {
    // Two sandboxes' state files, parsed separately: equal content, different objects.
    Verifier first = Verifier.forRegistration(benchRegistration());
    Verifier second = Verifier.forRegistration(benchRegistration());
    assertThat(second.rules()).isSameAs(first.rules());

    Snapshot bench = benchSnapshot();
    first.verify(at(NOW.minusSeconds(2), counters(bench, 100)), NOW);
    // The second sandbox's counters are far below the first's: its own history is empty, so they are fine.
    second.verify(at(NOW.minusSeconds(2), counters(bench, 0)), NOW);
    second.verify(at(NOW.minusSeconds(1), counters(bench, 1)), NOW);

    DataPoint firstCounter = firstCounter(bench);
    long base = firstCounter.value().longValue();
    assertThatThrownBy(() -> first.verify(at(NOW, counters(bench, 1)), NOW))
        .isInstanceOf(VerificationException.class)
        .hasMessage("metric \"" + firstCounter.metric().name() + "\": counter value decreased from " + (base + 100)
            + " to " + (base + 1));
    assertThatThrownBy(() -> second.verify(at(NOW, counters(bench, 0)), NOW))
        .hasMessage("metric \"" + firstCounter.metric().name() + "\": counter value decreased from " + (base + 1)
            + " to " + base);
  }

  @Test
  void registrationsThatDifferOnlyInStagesShareRules() throws Exception {
    Registration bench = benchRegistration();
    Verifier a = Verifier.forRegistration(bench);
    Verifier b = Verifier.forRegistration(new Registration(bench.metrics(), List.of("other", "stages")));
    assertThat(b.rules()).isSameAs(a.rules());
  }

  @Test
  void differentRegistrationsGetTheirOwnRules() throws Exception {
    Verifier a = Verifier.forRegistration(new Registration(List.of(counter("opens", "Opens.")), null));
    Verifier b = Verifier.forRegistration(new Registration(List.of(counter("opens", "Opens, again.")), null));
    assertThat(b.rules()).isNotSameAs(a.rules());
    Metric opens = new Metric("opens", MetricType.COUNTER, "Opens.");
    a.verify(snapshot(NOW, DataPoint.of(opens, Labels.EMPTY, Value.ofInt(1))), NOW);
    assertThatThrownBy(() -> b.verify(snapshot(NOW, DataPoint.of(opens, Labels.EMPTY, Value.ofInt(1))), NOW))
        .hasMessageStartingWith("metric \"opens\": invalid metric definition");
  }

  @Test
  void registrationsWhoseHashesCollideAreStillToldApart() throws Exception {
    // "Aa" and "BB" have the same String hash, and so do two registrations differing only there.
    Registration aa = new Registration(List.of(counter("opens", "Aa")), null);
    Registration bb = new Registration(List.of(counter("opens", "BB")), null);
    assertThat(aa.metrics().hashCode()).as("precondition: the hashes collide").isEqualTo(bb.metrics().hashCode());

    Verifier a = Verifier.forRegistration(aa);
    Verifier b = Verifier.forRegistration(bb);
    assertThat(b.rules()).isNotSameAs(a.rules());
    b.verify(snapshot(NOW, DataPoint.of(new Metric("opens", MetricType.COUNTER, "BB"), Labels.EMPTY, Value.ofInt(1))), NOW);
    assertThatThrownBy(() -> b.verify(
            snapshot(NOW, DataPoint.of(new Metric("opens", MetricType.COUNTER, "Aa"), Labels.EMPTY, Value.ofInt(2))), NOW))
        .hasMessageStartingWith("metric \"opens\": invalid metric definition");
    a.verify(snapshot(NOW, DataPoint.of(new Metric("opens", MetricType.COUNTER, "Aa"), Labels.EMPTY, Value.ofInt(1))), NOW);
  }

  @Test
  void theSharingRemembersOnlyAHandfulOfRegistrations() throws Exception {
    int many = 3 * RegistrationRules.SHARED_REGISTRATIONS;
    List<Verifier> verifiers = new ArrayList<>();
    for (int i = 0; i < many; i++) {
      verifiers.add(Verifier.forRegistration(new Registration(List.of(counter("opens_" + i, "")), null)));
      assertThat(RegistrationRules.sharedCount()).isLessThanOrEqualTo(RegistrationRules.SHARED_REGISTRATIONS);
    }
    // Forgotten by the sharing, still used by its verifier, which works as before.
    Verifier oldest = verifiers.get(0);
    Verifier again = Verifier.forRegistration(new Registration(List.of(counter("opens_0", "")), null));
    assertThat(again.rules()).isNotSameAs(oldest.rules());
    Metric opens0 = new Metric("opens_0", MetricType.COUNTER, "");
    oldest.verify(snapshot(NOW.minusSeconds(1), DataPoint.of(opens0, Labels.EMPTY, Value.ofInt(5))), NOW);
    again.verify(snapshot(NOW.minusSeconds(1), DataPoint.of(opens0, Labels.EMPTY, Value.ofInt(1))), NOW);
    assertThatThrownBy(() -> oldest.verify(snapshot(NOW, DataPoint.of(opens0, Labels.EMPTY, Value.ofInt(4))), NOW))
        .hasMessage("metric \"opens_0\": counter value decreased from 5 to 4");
  }

  @Test
  void anInvalidRegistrationIsRefusedTheSameWayEveryTimeAndNotRemembered() throws Exception {
    Registration invalid = new Registration(List.of(counter("opens", ""), counter("meta_opens", "")), null);
    int before = RegistrationRules.sharedCount();
    for (int i = 0; i < 3; i++) {
      assertThatThrownBy(() -> Verifier.forRegistration(invalid))
          .isInstanceOf(InvalidRegistrationException.class)
          .hasMessage("metric \"meta_opens\": metric name \"meta_opens\" starts with \"meta_\" which is a reserved prefix");
    }
    assertThat(RegistrationRules.sharedCount()).isLessThanOrEqualTo(before);
    // The valid part alone is fine, and the invalid one is still refused after it.
    Verifier.forRegistration(new Registration(List.of(counter("opens", "")), null));
    assertThatThrownBy(() -> Verifier.forRegistration(invalid)).isInstanceOf(InvalidRegistrationException.class);
  }

  @Test
  void verifiersSharingRulesVerifyConcurrentlyEachAgainstItsOwnHistory() throws Exception {
    Registration registration = benchRegistration();
    Snapshot bench = benchSnapshot();
    DataPoint firstCounter = firstCounter(bench);
    long base = firstCounter.value().longValue();
    int threads = 4;
    int steps = 200;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Verifier>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long stride = t + 1;
        Verifier v = Verifier.forRegistration(registration);
        done.add(pool.submit(() -> {
          start.await();
          for (int k = 1; k <= steps; k++) {
            Instant when = NOW.minusMillis(steps - k);
            v.verify(at(when, counters(bench, k * stride)), NOW);
            long now = k * stride;
            // One step back is refused with this verifier's own last value, whatever the others accepted.
            assertThatThrownBy(() -> v.verify(at(when, counters(bench, now - 1)), NOW))
                .hasMessage("metric \"" + firstCounter.metric().name() + "\": counter value decreased from "
                    + (base + now) + " to " + (base + now - 1));
          }
          return v;
        }));
      }
      start.countDown();
      Verifier shared = null;
      for (Future<Verifier> f : done) {
        Verifier v = f.get(2, TimeUnit.MINUTES);
        assertThat(shared == null || v.rules() == shared.rules()).isTrue();
        shared = v;
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void metricsBeyondTheArrayBudgetAreTrackedSparselyAndStillChecked() throws Exception {
    // 32 x 32 = 1024 combinations each: a counter takes 2048 entries (mark and number), so only 32 such
    // metrics fit the budget and the others are kept in hash maps.
    List<String> values = IntStream.range(0, 32).mapToObj(i -> "v" + i).collect(Collectors.toList());
    int metrics = RegistrationRules.DENSE_BUDGET / 2048 + 8;
    List<MetricMetadata> wide = new ArrayList<>();
    for (int i = 0; i < metrics; i++) {
      wide.add(new MetricMetadata("/wide" + i, "wide_" + i, "", true, false, 0, 0,
          List.of(new MetricField("a", values), new MetricField("b", values)), List.of()));
    }
    Verifier v = Verifier.forRegistration(new Registration(wide, null));
    assertThat(v.rules().hasSparse()).isTrue();
    Labels labels = Labels.of("a", "v31", "b", "v30");
    List<DataPoint> first = new ArrayList<>();
    List<DataPoint> lower = new ArrayList<>();
    for (int i = 0; i < metrics; i++) {
      Metric m = new Metric("wide_" + i, MetricType.COUNTER, "");
      first.add(DataPoint.of(m, labels, Value.ofInt(10)));
      lower.add(DataPoint.of(m, labels, Value.ofInt(i == metrics - 1 ? 9 : 10)));
    }
    v.verify(new Snapshot(NOW.minusSeconds(1), first), NOW);
    assertThatThrownBy(() -> v.verify(new Snapshot(NOW, lower), NOW))
        .hasMessage("metric \"wide_" + (metrics - 1) + "\": counter value decreased from 10 to 9");
    List<DataPoint> twice = new ArrayList<>(first);
    twice.add(first.get(metrics - 1));
    assertThatThrownBy(() -> v.verify(new Snapshot(NOW, twice), NOW))
        .hasMessage("metric \"wide_" + (metrics - 1) + "\": combination of field values \"v31,v30\" was already seen");
    v.verify(new Snapshot(NOW, first), NOW);
  }

  @Test
  void histogramsWithManyFieldCombinationsAreRememberedToo() throws Exception {
    List<String> values = IntStream.range(0, 40).mapToObj(i -> "v" + i).collect(Collectors.toList());
    MetricMetadata wide = new MetricMetadata("/lat", "lat_ns", "", false, false, MetricMetadata.TYPE_DISTRIBUTION,
        MetricMetadata.UNITS_NANOSECONDS, List.of(new MetricField("a", values), new MetricField("b", values)),
        List.of(0L, 10L));
    Verifier v = Verifier.forRegistration(new Registration(List.of(wide), null));
    assertThat(v.rules().hasSparse()).isTrue();
    Metric lat = new Metric("lat_ns", MetricType.HISTOGRAM, "");
    Labels one = Labels.of("a", "v1", "b", "v2");
    Labels other = Labels.of("a", "v2", "b", "v1");
    v.verify(snapshot(NOW.minusSeconds(3), DataPoint.of(lat, one, histogram(5, 9, 1.5, 1, 2, 0))), NOW);
    // Another combination has its own history.
    v.verify(snapshot(NOW.minusSeconds(2), DataPoint.of(lat, other, histogram(1, 1, 0, 1, 0, 0)),
        DataPoint.of(lat, one, histogram(5, 9, 1.5, 1, 2, 0))), NOW);
    assertThatThrownBy(() -> v.verify(snapshot(NOW, DataPoint.of(lat, one, histogram(5, 9, 1.5, 1, 1, 0))), NOW))
        .hasMessage("metric \"lat_ns\": number of samples in bucket 1 (0-based) decreased from 2 to 1");
    assertThatThrownBy(() -> v.verify(snapshot(NOW, DataPoint.of(lat, one, histogram(6, 9, 1.5, 1, 2, 1))), NOW))
        .hasMessage("metric \"lat_ns\": minimum value strictly increased: from 5 to 6");
    assertThatThrownBy(() -> v.verify(snapshot(NOW, DataPoint.of(lat, one, histogram(5, 9, 1.0, 1, 2, 1))), NOW))
        .hasMessage("metric \"lat_ns\": sum of squared deviations decreased from 1.500000 to 1.000000");
    v.verify(snapshot(NOW, DataPoint.of(lat, one, histogram(5, 12, 2.5, 1, 2, 1)),
        DataPoint.of(lat, other, histogram(1, 1, 0, 1, 0, 0))), NOW);
  }

  // ---- helpers ----

  private static Registration benchRegistration() throws Exception {
    byte[] json = TestData.bytes("bench/registration-175.json");
    return RunscJson.readRegistration(json, 0, json.length);
  }

  private static Snapshot benchSnapshot() throws Exception {
    byte[] json = TestData.bytes("bench/snapshot-175.json");
    return RunscJson.readSnapshot(json, 0, json.length);
  }

  private static DataPoint firstCounter(Snapshot s) {
    return s.data().stream().filter(d -> d.metric().type() == MetricType.COUNTER).findFirst().orElseThrow();
  }

  /** The snapshot with every counter raised by {@code plus}. */
  private static List<DataPoint> counters(Snapshot s, long plus) {
    List<DataPoint> out = new ArrayList<>(s.data().size());
    for (DataPoint d : s.data()) {
      out.add(d.metric().type() == MetricType.COUNTER
          ? DataPoint.of(d.metric(), d.labels(), Value.ofInt(d.value().longValue() + plus))
          : d);
    }
    return out;
  }

  private static Snapshot at(Instant when, List<DataPoint> data) {
    return new Snapshot(when, data);
  }

  private static Snapshot snapshot(Instant when, DataPoint... data) {
    return new Snapshot(when, List.of(data));
  }

  private static MetricMetadata counter(String promName, String help) {
    return new MetricMetadata("/" + promName, promName, help, true, false, 0, 0, List.of(), List.of());
  }

  /** A histogram with bounds 0, 10, +Inf; integer min and max, float ssd. */
  private static Histogram histogram(long min, long max, double ssd, long... counts) {
    Value[] bounds = {Value.ZERO, Value.ofInt(10), Value.ofFloat(Double.POSITIVE_INFINITY)};
    List<Bucket> buckets = new ArrayList<>();
    long total = 0;
    for (int i = 0; i < counts.length; i++) {
      buckets.add(new Bucket(bounds[i], counts[i]));
      total += counts[i];
    }
    return new Histogram(Value.ofInt(total), Value.ofInt(min), Value.ofInt(max), Value.ofFloat(ssd), buckets);
  }
}
