package dev.sandboxmetrics.snapshot.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** Every rule of docs/runsc-protocol.md section 5, each failing a registration or a snapshot for its reason. */
class VerifierTest {
  private static final Instant NOW = Instant.parse("2024-01-02T03:04:05.678Z");

  private static final MetricMetadata OPENS = counter("fs_opens", "Number of file opens.");
  private static final MetricMetadata SYSCALLS = new MetricMetadata("/syscalls", "syscalls", "Syscalls by op.",
      true, false, 0, 0, List.of(new MetricField("op", List.of("read", "write"))), List.of());
  private static final MetricMetadata MEM = new MetricMetadata("/mem", "mem_bytes", "Memory in use.",
      false, false, 0, 0, List.of(), List.of());
  private static final MetricMetadata LAT = new MetricMetadata("/lat", "lat_ns", "Latency in ns.",
      false, false, MetricMetadata.TYPE_DISTRIBUTION, MetricMetadata.UNITS_NANOSECONDS, List.of(),
      List.of(0L, 10L, 100L));
  private static final Registration REGISTRATION =
      new Registration(List.of(OPENS, SYSCALLS, MEM, LAT), List.of("start"));

  private static final Metric OPENS_METRIC = new Metric("fs_opens", MetricType.COUNTER, "Number of file opens.");
  private static final Metric SYSCALLS_METRIC = new Metric("syscalls", MetricType.COUNTER, "Syscalls by op.");
  private static final Metric MEM_METRIC = new Metric("mem_bytes", MetricType.GAUGE, "Memory in use.");
  private static final Metric LAT_METRIC = new Metric("lat_ns", MetricType.HISTOGRAM, "Latency in ns.");
  private static final Value INF = Value.ofFloat(Double.POSITIVE_INFINITY);

  // ---- registration ----

  @Test
  void aSoundRegistrationIsAccepted() {
    assertThatCode(() -> Verifier.forRegistration(REGISTRATION)).doesNotThrowAnyException();
    assertThatCode(() -> Verifier.forRegistration(Registration.EMPTY)).doesNotThrowAnyException();
  }

  @Test
  void noRegistrationAtAllIsRefused() {
    assertThatThrownBy(() -> Verifier.forRegistration(null))
        .isInstanceOf(InvalidRegistrationException.class).hasMessageContaining("did not register");
  }

  @Test
  void aMetricWithoutNameOrPrometheusNameIsRefused() {
    refused(new MetricMetadata("", "other_opens", "", true, false, 0, 0, null, null),
        "metric \"other_opens\": metric has no name");
    refused(new MetricMetadata("/fs/opens", "", "", true, false, 0, 0, null, null),
        "metric \"\": metric has no name");
  }

  @Test
  void processLevelNamesAreReserved() {
    for (String name : List.of("process_cpu_seconds_total", "process_open_fds", "process_max_fds",
        "process_virtual_memory_bytes", "process_virtual_memory_max_bytes", "process_resident_memory_bytes",
        "process_heap_bytes", "process_start_time_seconds", "process_threads")) {
      refused(counter(name, ""), "metric \"" + name + "\": metric name \"" + name
          + "\" is reserved by Prometheus for process-level metrics");
    }
    assertThatCode(() -> Verifier.forRegistration(new Registration(List.of(counter("process_other", "")), null)))
        .doesNotThrowAnyException();
  }

  @Test
  void theMetaPrefixIsReservedForTheServer() {
    refused(counter("meta_sandbox_presence", ""),
        "metric \"meta_sandbox_presence\": metric name \"meta_sandbox_presence\" starts with \"meta_\" which is a "
            + "reserved prefix");
  }

  @Test
  void namesMustBeLowerCaseLettersDigitsAndUnderscores() {
    refused(counter("Fs_opens", ""), "metric \"Fs_opens\": invalid initial character in prometheus metric name: \"Fs_opens\"");
    refused(counter("1fs", ""), "metric \"1fs\": invalid initial character in prometheus metric name: \"1fs\"");
    refused(counter("_fs", ""), "metric \"_fs\": invalid initial character in prometheus metric name: \"_fs\"");
    refused(counter("fs-opens", ""), "metric \"fs-opens\": invalid character - in prometheus metric name \"fs-opens\"");
    refused(counter("fs_Opens", ""), "metric \"fs_Opens\": invalid character O in prometheus metric name \"fs_Opens\"");
    refused(counter("fs_é", ""), "metric \"fs_é\": invalid character é in prometheus metric name \"fs_é\"");
    refused(counter("éfs", ""), "metric \"éfs\": invalid initial character in prometheus metric name: \"éfs\"");
  }

  @Test
  void fieldsMustBeDefinedOnceWithDistinctAllowedValues() {
    refused(withFields(new MetricField("op", List.of("a")), new MetricField("op", List.of("b"))),
        "metric \"m\": field op is defined twice");
    refused(withFields(new MetricField("op", List.of())), "metric \"m\": field op has no allowed values");
    refused(withFields(new MetricField("op", List.of("a", "b", "a"))),
        "metric \"m\": field op has duplicate allowed value \"a\"");
  }

  @Test
  void aMetricRegisteredTwiceIsRefused() {
    assertThatThrownBy(() -> Verifier.forRegistration(new Registration(List.of(OPENS, MEM, OPENS), null)))
        .isInstanceOf(InvalidRegistrationException.class).hasMessage("metric \"fs_opens\" registered twice");
  }

  @Test
  void distributionsNeedBetween1And255LowerBounds() {
    refused(distribution(0), "metric \"d\": unsupported number of buckets: 1");
    refused(distribution(256), "metric \"d\": unsupported number of buckets: 257");
    assertThatCode(() -> Verifier.forRegistration(new Registration(List.of(distribution(1)), null)))
        .doesNotThrowAnyException();
    assertThatCode(() -> Verifier.forRegistration(new Registration(List.of(distribution(255)), null)))
        .doesNotThrowAnyException();
  }

  @Test
  void onlyUint64AndDistributionTypesExist() {
    refused(new MetricMetadata("/x", "x", "", false, false, 2, 0, null, null), "metric \"x\": invalid type: 2");
    refused(new MetricMetadata("/x", "x", "", false, false, -1, 0, null, null), "metric \"x\": invalid type: -1");
  }

  // ---- time ----

  @Test
  void aSnapshotFromTheFutureIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW.plusMillis(1), opens(1)), "snapshot is from the future");
  }

  @Test
  void aSnapshotMoreThanTenSecondsOldIsRejected() throws Exception {
    Verifier v = verifier();
    rejected(v, snapshot(NOW.minusSeconds(10).minusNanos(1), opens(1)), "snapshot is too old; it is from 2024-01-02 03:03:55.677999999 +0000 UTC, expected at least 2024-01-02 03:03:55.678 +0000 UTC (10s from now)");
    v.verify(snapshot(NOW.minusSeconds(10), opens(1)), NOW);
  }

  @Test
  void theTenSecondLimitHoldsToTheNanosecondOnAWholeSecond() throws Exception {
    Instant now = Instant.parse("2024-01-02T03:04:05Z");
    Verifier v = verifier();
    assertThatThrownBy(() -> v.verify(snapshot(now.minusSeconds(10).minusNanos(1), opens(1)), now))
        .isInstanceOf(VerificationException.class)
        .hasMessage("snapshot is too old; it is from 2024-01-02 03:03:54.999999999 +0000 UTC, expected at least "
            + "2024-01-02 03:03:55 +0000 UTC (10s from now)");
    v.verify(new Snapshot(now.minusSeconds(10), List.of(opens(1))), now);
  }

  @Test
  void aSnapshotOlderThanTheLastAcceptedIsRejectedButAnEqualTimeIsNot() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(1), opens(1)), NOW);
    rejected(v, snapshot(NOW.minusSeconds(2), opens(2)),
        "consecutive snapshots are not chronologically ordered: last verified snapshot was exported at "
            + "2024-01-02 03:04:04.678 +0000 UTC, this one is from 2024-01-02 03:04:03.678 +0000 UTC");
    v.verify(snapshot(NOW.minusSeconds(1), opens(2)), NOW);
  }

  @Test
  void aRejectedSnapshotDoesNotMoveTheLastAcceptedTime() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(5), opens(10)), NOW);
    rejected(v, snapshot(NOW.minusSeconds(1), opens(5)), "metric \"fs_opens\": counter value decreased");
    v.verify(snapshot(NOW.minusSeconds(3), opens(10)), NOW);
  }

  // ---- shape of data points ----

  @Test
  void anUnknownMetricIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, DataPoint.of(new Metric("bogus", MetricType.COUNTER, ""), Labels.EMPTY,
        Value.ofInt(1))), "snapshot contains unknown metric \"bogus\"");
  }

  @Test
  void aMetricDefinitionDifferentFromTheRegistrationIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, DataPoint.of(new Metric("fs_opens", MetricType.GAUGE, "Number of file opens."),
            Labels.EMPTY, Value.ofInt(1))),
        "metric \"fs_opens\": invalid metric definition: got {name: \"fs_opens\", type: gauge, help: \"Number of "
            + "file opens.\"} want {name: \"fs_opens\", type: counter, help: \"Number of file opens.\"}");
    rejected(verifier(), snapshot(NOW, DataPoint.of(new Metric("fs_opens", MetricType.COUNTER, "Other."),
        Labels.EMPTY, Value.ofInt(1))), "metric \"fs_opens\": invalid metric definition");
    rejected(verifier(), snapshot(NOW, DataPoint.of(new Metric("lat_ns", MetricType.UNTYPED, "Latency in ns."),
        Labels.EMPTY, Value.ofInt(1))), "metric \"lat_ns\": invalid metric definition");
  }

  @Test
  void labelsMustBeExactlyTheRegisteredFields() throws Exception {
    rejected(verifier(), snapshot(NOW, syscalls(Labels.EMPTY, 1)), "metric \"syscalls\": invalid number of fields: got 0 want 1");
    rejected(verifier(), snapshot(NOW, syscalls(Labels.of("op", "read", "x", "y"), 1)),
        "metric \"syscalls\": invalid number of fields: got 2 want 1");
    rejected(verifier(), snapshot(NOW, syscalls(Labels.of("sysno", "read"), 1)),
        "metric \"syscalls\": did not specify field \"op\"");
    rejected(verifier(), snapshot(NOW, DataPoint.of(OPENS_METRIC, Labels.of("op", "read"), Value.ofInt(1))),
        "metric \"fs_opens\": invalid number of fields: got 1 want 0");
  }

  @Test
  void aFieldValueThatIsNotAllowedIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, syscalls(Labels.of("op", "exec"), 1)),
        "metric \"syscalls\": value \"exec\" is not allowed for field op");
  }

  @Test
  void theSameFieldCombinationTwiceIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, syscalls(Labels.of("op", "read"), 1), syscalls(Labels.of("op", "write"), 1),
        syscalls(Labels.of("op", "read"), 2)), "metric \"syscalls\": combination of field values \"read\" was already seen");
    rejected(verifier(), snapshot(NOW, opens(1), opens(1)),
        "metric \"fs_opens\": combination of field values \"\" was already seen");
  }

  @Test
  void externalLabelsFromASandboxAreRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, new DataPoint(OPENS_METRIC, Labels.EMPTY, Labels.of("sandbox", "other"),
        Value.ofInt(1), null)), "metric \"fs_opens\": external labels are not allowed from a sandbox");
  }

  @Test
  void exactlyOneOfValueAndHistogramMustBeSet() throws Exception {
    rejected(verifier(), snapshot(NOW, new DataPoint(OPENS_METRIC, Labels.EMPTY, null, null, null)),
        "metric \"fs_opens\": invalid number of value fields specified: 0");
    rejected(verifier(), snapshot(NOW, new DataPoint(LAT_METRIC, Labels.EMPTY, null, Value.ofInt(1),
        histogram(0, 1, 1, 0, 1, 0, 0, 0))), "metric \"lat_ns\": invalid number of value fields specified: 2");
    rejected(verifier(), snapshot(NOW, new DataPoint(MEM_METRIC, Labels.EMPTY, null, null,
        histogram(0, 1, 1, 0, 1, 0, 0, 0))), "metric \"mem_bytes\": expected number value for gauge or counter");
    rejected(verifier(), snapshot(NOW, DataPoint.of(LAT_METRIC, Labels.EMPTY, Value.ofInt(1))),
        "metric \"lat_ns\": expected histogram value for histogram");
  }

  @Test
  void aUint64MetricMustHaveAnIntegerValue() throws Exception {
    rejected(verifier(), snapshot(NOW, DataPoint.of(MEM_METRIC, Labels.EMPTY, Value.ofFloat(1.5))),
        "metric \"mem_bytes\": integer metric got non-integer value: 1.500000");
    rejected(verifier(), snapshot(NOW, DataPoint.of(OPENS_METRIC, Labels.EMPTY, Value.ofFloat(Double.NaN))),
        "metric \"fs_opens\": integer metric got non-integer value: NaN");
  }

  @Test
  void aHistogramMustHaveTheRegisteredBuckets() throws Exception {
    Histogram threeBuckets = new Histogram(Value.ZERO, Value.ZERO, Value.ZERO, Value.ZERO,
        List.of(new Bucket(Value.ZERO, 0), new Bucket(Value.ofInt(10), 0), new Bucket(INF, 0)));
    rejected(verifier(), snapshot(NOW, DataPoint.of(LAT_METRIC, Labels.EMPTY, threeBuckets)),
        "metric \"lat_ns\": invalid number of buckets: got 3 want 4");
    rejected(verifier(), snapshot(NOW, latency(bounds(Value.ZERO, Value.ofInt(10), Value.ofInt(99), INF))),
        "metric \"lat_ns\": invalid upper bound for bucket 2 (0-based): got 99 want 100");
    rejected(verifier(), snapshot(NOW, latency(bounds(Value.ZERO, Value.ofFloat(10), Value.ofInt(100), INF))),
        "metric \"lat_ns\": invalid upper bound for bucket 1 (0-based): got 10.000000 want 10");
    rejected(verifier(), snapshot(NOW, latency(bounds(Value.ZERO, Value.ofInt(10), Value.ofInt(100), Value.ofInt(1000)))),
        "metric \"lat_ns\": invalid upper bound for bucket 3 (0-based): got 1000 want +Inf");
  }

  @Test
  void anIntegerNonZeroSumOfSquaredDeviationsIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, DataPoint.of(LAT_METRIC, Labels.EMPTY, new Histogram(Value.ofInt(5),
        Value.ofInt(1), Value.ofInt(4), Value.ofInt(3), buckets(0, 2, 0, 0)))),
        "metric \"lat_ns\": sum of squared deviations must be a floating-point value, got 3");
    assertThatCode(() -> verifier().verify(snapshot(NOW, DataPoint.of(LAT_METRIC, Labels.EMPTY, new Histogram(
        Value.ofInt(5), Value.ofInt(1), Value.ofInt(4), Value.ofFloat(3.0), buckets(0, 2, 0, 0)))), NOW))
        .doesNotThrowAnyException();
  }

  @Test
  void aHistogramWhoseSampleCountOverflowsIsRejected() throws Exception {
    rejected(verifier(), snapshot(NOW, DataPoint.of(LAT_METRIC, Labels.EMPTY, new Histogram(Value.ZERO, Value.ZERO,
        Value.ZERO, Value.ZERO, buckets(Long.MAX_VALUE, 1, 0, 0)))),
        "metric \"lat_ns\": total number of samples does not fit in 64 bits");
  }

  // ---- monotonicity ----

  @Test
  void aCounterThatDecreasesIsRejected() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), opens(10)), NOW);
    rejected(v, snapshot(NOW.minusSeconds(1), opens(5)), "metric \"fs_opens\": counter value decreased from 10 to 5");
  }

  @Test
  void aCounterSeenForTheFirstTimeMustNotBeBelowZero() throws Exception {
    rejected(verifier(), snapshot(NOW, opens(-1)), "metric \"fs_opens\": counter value decreased from 0 to -1");
  }

  @Test
  void aCounterThatChangesBetweenIntegerAndFloatIsRejected() throws Exception {
    MetricMetadata floatCounter = counter("f", "");
    Verifier f = Verifier.forRegistration(new Registration(List.of(floatCounter), null));
    Metric metric = new Metric("f", MetricType.COUNTER, "");
    f.verify(snapshot(NOW.minusSeconds(2), DataPoint.of(metric, Labels.EMPTY, Value.ofInt(2))), NOW);
    // A uint64 counter never legitimately turns float; the integer check catches it first.
    rejected(f, snapshot(NOW.minusSeconds(1), DataPoint.of(metric, Labels.EMPTY, Value.ofFloat(2.5))),
        "metric \"f\": integer metric got non-integer value: 2.500000");
  }

  @Test
  void aCounterAbsentFromASnapshotIsStillRememberedLater() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(3), opens(10), syscalls(Labels.of("op", "read"), 4)), NOW);
    v.verify(snapshot(NOW.minusSeconds(2), syscalls(Labels.of("op", "read"), 5)), NOW);
    rejected(v, snapshot(NOW.minusSeconds(1), opens(9)), "metric \"fs_opens\": counter value decreased from 10 to 9");
  }

  @Test
  void eachFieldCombinationHasItsOwnMemory() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), syscalls(Labels.of("op", "read"), 100),
        syscalls(Labels.of("op", "write"), 1)), NOW);
    v.verify(snapshot(NOW.minusSeconds(1), syscalls(Labels.of("op", "read"), 100),
        syscalls(Labels.of("op", "write"), 2)), NOW);
    rejected(v, snapshot(NOW, syscalls(Labels.of("op", "write"), 1)),
        "metric \"syscalls\": counter value decreased from 2 to 1");
  }

  @Test
  void gaugesMayGoDown() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), DataPoint.of(MEM_METRIC, Labels.EMPTY, Value.ofInt(100))), NOW);
    v.verify(snapshot(NOW.minusSeconds(1), DataPoint.of(MEM_METRIC, Labels.EMPTY, Value.ofInt(-5))), NOW);
  }

  @Test
  void aRejectedSnapshotLeavesEveryValueUnremembered() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(3), opens(10), syscalls(Labels.of("op", "read"), 5)), NOW);
    // syscalls went up to 100, but fs_opens went down: nothing of this snapshot may be remembered.
    rejected(v, snapshot(NOW.minusSeconds(2), syscalls(Labels.of("op", "read"), 100), opens(5)),
        "metric \"fs_opens\": counter value decreased from 10 to 5");
    v.verify(snapshot(NOW.minusSeconds(1), opens(10), syscalls(Labels.of("op", "read"), 50)), NOW);
  }

  @Test
  void aHistogramBucketThatDecreasesIsRejected() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), latency(histogram(100, 1, 50, 10.5, 1, 2, 3, 4))), NOW);
    rejected(v, snapshot(NOW.minusSeconds(1), latency(histogram(100, 1, 50, 10.5, 1, 3, 2, 5))),
        "metric \"lat_ns\": number of samples in bucket 2 (0-based) decreased from 3 to 2");
  }

  @Test
  void theMinimumMayNotRiseNorTheMaximumFall() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), latency(histogram(100, 3, 50, 10.5, 1, 2, 3, 4))), NOW);
    rejected(v, snapshot(NOW.minusSeconds(1), latency(histogram(100, 4, 50, 10.5, 1, 2, 3, 4))),
        "metric \"lat_ns\": minimum value strictly increased: from 3 to 4");
    rejected(v, snapshot(NOW.minusSeconds(1), latency(histogram(100, 3, 49, 10.5, 1, 2, 3, 4))),
        "metric \"lat_ns\": maximum value strictly decreased: from 50 to 49");
    rejected(v, snapshot(NOW.minusSeconds(1), latency(histogram(100, 2.5, 50, 10.5, 1, 2, 3, 4))),
        "metric \"lat_ns\": minimum value type changed: 3 vs 2.500000");
    rejected(v, snapshot(NOW.minusSeconds(1), latency(histogram(100, 3, 50.5, 10.5, 1, 2, 3, 4))),
        "metric \"lat_ns\": maximum value type changed: 50 vs 50.500000");
    v.verify(snapshot(NOW.minusSeconds(1), latency(histogram(100, 2, 51, 10.5, 1, 2, 3, 4))), NOW);
  }

  @Test
  void floatMinimaAndMaximaCompareAsFloatsEvenWhenIntegral() throws Exception {
    // gVisor compares the integer parts of integral floats (both zero), so 3.0 -> 2.0 slipped through there.
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), latency(new Histogram(Value.ofFloat(5.5), Value.ofFloat(2.0),
        Value.ofFloat(3.0), Value.ofFloat(0.5), buckets(1, 2, 0, 0)))), NOW);
    rejected(v, snapshot(NOW.minusSeconds(1), latency(new Histogram(Value.ofFloat(5.5), Value.ofFloat(2.0),
        Value.ofFloat(2.0), Value.ofFloat(0.5), buckets(1, 2, 0, 0)))),
        "metric \"lat_ns\": maximum value strictly decreased: from 3.000000 to 2.000000");
  }

  @Test
  void minAndMaxAreOnlyComparedOnceThereWereSamples() throws Exception {
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(2), latency(histogram(0, 0, 0, 0, 0, 0, 0, 0))), NOW);
    v.verify(snapshot(NOW.minusSeconds(1), latency(histogram(7, 7, 7, 0, 0, 1, 0, 0))), NOW);
  }

  @Test
  void theSumOfSquaredDeviationsMayNotFallOnceThereWereTwoSamples() throws Exception {
    Verifier one = verifier();
    one.verify(snapshot(NOW.minusSeconds(2), latency(histogram(5, 5, 5, 2.0, 0, 1, 0, 0))), NOW);
    one.verify(snapshot(NOW.minusSeconds(1), latency(histogram(10, 5, 5, 1.0, 0, 2, 0, 0))), NOW);
    rejected(one, snapshot(NOW, latency(histogram(10, 5, 5, 0.5, 0, 2, 0, 0))),
        "metric \"lat_ns\": sum of squared deviations decreased from 1.000000 to 0.500000");
    rejected(one, snapshot(NOW, latency(histogram(10, 5, 5, 0, 0, 2, 0, 0))),
        "metric \"lat_ns\": sum of squared deviations decreased from 1.000000 to 0");
  }

  // ---- scale ----

  @Test
  void metricsWithManyFieldCombinationsAreTrackedToo() throws Exception {
    List<String> values = IntStream.range(0, 40).mapToObj(i -> "v" + i).collect(Collectors.toList());
    MetricMetadata wide = new MetricMetadata("/wide", "wide", "", true, false, 0, 0,
        List.of(new MetricField("a", values), new MetricField("b", values)), List.of());
    Verifier v = Verifier.forRegistration(new Registration(List.of(wide), null));
    Metric metric = new Metric("wide", MetricType.COUNTER, "");
    List<DataPoint> all = new ArrayList<>();
    for (String a : values) {
      for (String b : values) {
        all.add(DataPoint.of(metric, Labels.of("a", a, "b", b), Value.ofInt(7)));
      }
    }
    v.verify(new Snapshot(NOW.minusSeconds(3), all), NOW);
    List<DataPoint> twice = new ArrayList<>(all.subList(0, 3));
    twice.add(all.get(1));
    rejected(v, new Snapshot(NOW.minusSeconds(2), twice),
        "metric \"wide\": combination of field values \"v0,v1\" was already seen");
    rejected(v, snapshot(NOW.minusSeconds(2), DataPoint.of(metric, Labels.of("a", "v39", "b", "v38"), Value.ofInt(6))),
        "metric \"wide\": counter value decreased from 7 to 6");
    v.verify(snapshot(NOW.minusSeconds(1), DataPoint.of(metric, Labels.of("a", "v39", "b", "v38"), Value.ofInt(8))), NOW);
  }

  @Test
  void theBenchmarkWorkloadVerifiesAndItsCountersAreWatched() throws Exception {
    byte[] reg = TestData.bytes("bench/registration-175.json");
    byte[] snap = TestData.bytes("bench/snapshot-175.json");
    Verifier v = Verifier.forRegistration(RunscJson.readRegistration(reg, 0, reg.length));
    Snapshot s = RunscJson.readSnapshot(snap, 0, snap.length);
    v.verify(new Snapshot(NOW.minusSeconds(1), s.data()), NOW);
    List<DataPoint> lower = new ArrayList<>(s.data());
    DataPoint first = lower.get(0);
    lower.set(0, DataPoint.of(first.metric(), first.labels(), Value.ofInt(first.value().longValue() - 1)));
    rejected(v, new Snapshot(NOW, lower), "metric \"" + first.metric().name() + "\": counter value decreased");
    List<DataPoint> shuffled = new ArrayList<>(s.data());
    Collections.reverse(shuffled);
    v.verify(new Snapshot(NOW, shuffled), NOW);
  }

  @Test
  void repeatedMetricAndLabelObjectsAreCheckedAsFullyAsNewOnes() throws Exception {
    // The decoder hands out the same Metric and Labels instances on every scrape, and the verifier takes
    // shortcuts for instances it accepted before; none of them may let a broken snapshot through.
    Labels read = Labels.of("op", "read");
    Labels write = Labels.of("op", "write");
    Verifier v = verifier();
    v.verify(snapshot(NOW.minusSeconds(3), syscalls(read, 5), syscalls(write, 5), opens(1)), NOW);

    rejected(v, snapshot(NOW.minusSeconds(2), syscalls(read, 6), syscalls(read, 6), opens(1)),
        "metric \"syscalls\": combination of field values \"read\" was already seen");
    rejected(v, snapshot(NOW.minusSeconds(2), syscalls(read, 4), syscalls(write, 5), opens(1)),
        "metric \"syscalls\": counter value decreased from 5 to 4");
    rejected(v, snapshot(NOW.minusSeconds(2), syscalls(read, 6), syscalls(write, 6),
        DataPoint.of(OPENS_METRIC, Labels.EMPTY, Value.ofFloat(1.5))),
        "metric \"fs_opens\": integer metric got non-integer value");
    // Another metric object at a known position, and a known one at another position.
    Metric wrongHelp = new Metric("syscalls", MetricType.COUNTER, "Not what was registered.");
    rejected(v, snapshot(NOW.minusSeconds(2), DataPoint.of(wrongHelp, read, Value.ofInt(6)), syscalls(write, 6)),
        "metric \"syscalls\": invalid metric definition");
    rejected(v, snapshot(NOW.minusSeconds(2), syscalls(Labels.of("op", "exec"), 6)),
        "metric \"syscalls\": value \"exec\" is not allowed for field op");
    v.verify(snapshot(NOW.minusSeconds(1), opens(2), syscalls(write, 7), syscalls(read, 7)), NOW);
    rejected(v, snapshot(NOW, opens(2), syscalls(write, 6), syscalls(read, 7)),
        "metric \"syscalls\": counter value decreased from 7 to 6");
  }

  // ---- helpers ----

  private static MetricMetadata counter(String promName, String help) {
    return new MetricMetadata("/" + promName, promName, help, true, false, 0, 0, List.of(), List.of());
  }

  private static MetricMetadata withFields(MetricField... fields) {
    return new MetricMetadata("/m", "m", "", true, false, 0, 0, List.of(fields), List.of());
  }

  private static MetricMetadata distribution(int lowerBounds) {
    return new MetricMetadata("/d", "d", "", false, false, MetricMetadata.TYPE_DISTRIBUTION, 0, List.of(),
        LongStream.range(0, lowerBounds).boxed().collect(Collectors.toList()));
  }

  private static void refused(MetricMetadata m, String message) {
    assertThatThrownBy(() -> Verifier.forRegistration(new Registration(List.of(OPENS, m), List.of())))
        .isInstanceOf(InvalidRegistrationException.class).hasMessage(message);
  }

  private static Verifier verifier() throws InvalidRegistrationException {
    return Verifier.forRegistration(REGISTRATION);
  }

  private static void rejected(Verifier v, Snapshot s, String messageStart) {
    assertThatThrownBy(() -> v.verify(s, NOW)).isInstanceOf(VerificationException.class)
        .hasMessageStartingWith(messageStart);
  }

  private static Snapshot snapshot(Instant when, DataPoint... data) {
    return new Snapshot(when, List.of(data));
  }

  private static DataPoint opens(long n) {
    return DataPoint.of(OPENS_METRIC, Labels.EMPTY, Value.ofInt(n));
  }

  private static DataPoint syscalls(Labels labels, long n) {
    return DataPoint.of(SYSCALLS_METRIC, labels, Value.ofInt(n));
  }

  private static DataPoint latency(Histogram h) {
    return DataPoint.of(LAT_METRIC, Labels.EMPTY, h);
  }

  private static Value number(double d) {
    if (d == 0) {
      return Value.ZERO;
    }
    return d == Math.rint(d) ? Value.ofInt((long) d) : Value.ofFloat(d);
  }

  /** A histogram of lat_ns; integral numbers become ints, others floats; ssd is always a float. */
  private static Histogram histogram(double total, double min, double max, double ssd, long... counts) {
    return new Histogram(number(total), number(min), number(max), ssd == 0 ? Value.ZERO : Value.ofFloat(ssd),
        buckets(counts));
  }

  private static List<Bucket> buckets(long... counts) {
    Value[] bounds = {Value.ZERO, Value.ofInt(10), Value.ofInt(100), INF};
    List<Bucket> result = new ArrayList<>();
    for (int i = 0; i < counts.length; i++) {
      result.add(new Bucket(bounds[i], counts[i]));
    }
    return result;
  }

  private static Histogram bounds(Value... upperBounds) {
    List<Bucket> result = new ArrayList<>();
    for (Value b : upperBounds) {
      result.add(new Bucket(b, 1));
    }
    return new Histogram(Value.ofInt(4), Value.ZERO, Value.ofInt(5), Value.ofFloat(1.5), result);
  }
}
