package dev.sandboxmetrics.snapshot.json;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParser;
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
import dev.sandboxmetrics.snapshot.golang.RunscTime;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Decoding and encoding of well-formed runsc JSON: what the sandbox sends and what the simulator writes. */
class RunscJsonTest {
  private static final Instant WHEN = Instant.parse("2024-01-02T03:04:05.678Z");
  private static final Metric OPENS = new Metric("fs_opens", MetricType.COUNTER, "Number of file opens.");
  private static final Metric LATENCY = new Metric("lat_ns", MetricType.HISTOGRAM, "Latency in ns.");

  // ---- golden inputs ----

  @Test
  void everyGoldenInputSnapshotDecodes() throws Exception {
    List<Path> inputs = TestData.list("gvisor-golden", ".in.json");
    assertThat(inputs).hasSizeGreaterThanOrEqualTo(4);
    int snapshots = 0;
    for (Path file : inputs) {
      snapshots += GoldenInputs.snapshots(file, RunscJson.BothSetPolicy.INT_WINS).size();
    }
    assertThat(snapshots).isGreaterThanOrEqualTo(3);
  }

  @Test
  void basicGoldenSnapshotKeepsEveryDetail() throws Exception {
    Snapshot s = golden("01_single_basic.in.json");
    assertThat(s.when()).isEqualTo(WHEN);
    assertThat(s.data()).hasSize(10);
    assertThat(s.data().get(0)).isEqualTo(DataPoint.of(
        new Metric("fs_opens", MetricType.COUNTER, "Number of file opens."), Labels.EMPTY, Value.ofInt(42)));
    DataPoint net = s.data().get(3);
    assertThat(net.labels().asMap()).containsExactly(
        java.util.Map.entry("proto", "tcp"), java.util.Map.entry("zone", "z1"));
    assertThat(s.data().get(5).value()).isSameAs(Value.ZERO);
    assertThat(s.data().get(6).metric().type()).isEqualTo(MetricType.UNTYPED);
    assertThat(s.data().get(6).value()).isEqualTo(Value.ofInt(-5));
    assertThat(s.data().get(7).externalLabels()).isEqualTo(Labels.of("a", "x", "c", "y"));
    assertThat(s.data().get(9).value().longValue()).isEqualTo(1_000_000_000_000_000_000L);
  }

  @Test
  void floatGoldenSnapshotReadsSpecialValuesAndLetsTheIntWinWhenAsked() throws Exception {
    Snapshot s = golden("02_floats.in.json");
    assertThat(s.when()).isEqualTo(Instant.parse("2024-01-02T03:04:05Z"));
    assertThat(value(s, "f_half")).isEqualTo(Value.ofFloat(0.5));
    assertThat(value(s, "f_tiny")).isEqualTo(Value.ofFloat(1e-7));
    assertThat(value(s, "f_two")).isEqualTo(Value.ofFloat(2.0));
    assertThat(value(s, "f_zero")).isSameAs(Value.ZERO);
    assertThat(value(s, "f_both")).isEqualTo(Value.ofInt(5));
    assertThat(value(s, "f_posinf")).isEqualTo(Value.ofFloat(Double.POSITIVE_INFINITY));
    assertThat(value(s, "f_neginf")).isEqualTo(Value.ofFloat(Double.NEGATIVE_INFINITY));
    assertThat(value(s, "f_nan").doubleValue()).isNaN();
  }

  @Test
  void strictDecodingRejectsTheGoldenNumberWithBothIntAndFloat() {
    assertThatThrownBy(() -> GoldenInputs.snapshots(
            TestData.path("gvisor-golden/02_floats.in.json"), RunscJson.BothSetPolicy.REJECT))
        .isInstanceOf(RunscJsonException.class)
        .hasMessageStartingWith("data[8].val: both int and float are set");
  }

  @Test
  void histogramGoldenSnapshotReadsBucketsWithOmittedCounts() throws Exception {
    Snapshot s = golden("03_histogram.in.json");
    Histogram h = s.data().get(1).histogram();
    assertThat(h.total()).isEqualTo(Value.ofInt(12345));
    assertThat(h.ssd()).isEqualTo(Value.ofFloat(98765.4321));
    assertThat(h.buckets()).containsExactly(
        new Bucket(Value.ZERO, 1),
        new Bucket(Value.ofInt(10), 2),
        new Bucket(Value.ofInt(100), 0),
        new Bucket(Value.ofInt(1000), 4),
        new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 5));
    assertThat(h.sampleCount()).isEqualTo(12);
    assertThat(s.data().get(3).histogram().ssd()).isSameAs(Value.ZERO);
  }

  @Test
  void everyGoldenSnapshotSurvivesAnEncodeDecodeRoundTrip() throws Exception {
    for (Path file : TestData.list("gvisor-golden", ".in.json")) {
      for (Snapshot s : GoldenInputs.snapshots(file, RunscJson.BothSetPolicy.INT_WINS)) {
        assertThat(roundTrip(s)).as(file.getFileName().toString()).isEqualTo(s);
      }
    }
  }

  // ---- the benchmark workload ----

  @Test
  void benchSnapshotAndRegistrationDecodeAndRoundTrip() throws Exception {
    byte[] snapshotJson = TestData.bytes("bench/snapshot-175.json");
    Snapshot s = RunscJson.readSnapshot(snapshotJson, 0, snapshotJson.length);
    assertThat(s.data()).hasSize(175);
    assertThat(s.data().stream().filter(d -> d.histogram() != null).count()).isEqualTo(2);
    Histogram h = s.data().stream().filter(d -> d.histogram() != null).findFirst().get().histogram();
    assertThat(h.buckets().get(h.buckets().size() - 1).upperBound())
        .isEqualTo(Value.ofFloat(Double.POSITIVE_INFINITY));
    assertThat(roundTrip(s)).isEqualTo(s);

    byte[] registrationJson = TestData.bytes("bench/registration-175.json");
    Registration r = RunscJson.readRegistration(registrationJson, 0, registrationJson.length);
    assertThat(r.metrics()).hasSize(120);
    assertThat(r.stages()).containsExactly("start");
    MetricMetadata latency = r.metrics().stream()
        .filter(m -> m.prometheusName().equals("latency_0_nanoseconds")).findFirst().get();
    assertThat(latency.type()).isEqualTo(MetricMetadata.TYPE_DISTRIBUTION);
    assertThat(latency.units()).isEqualTo(MetricMetadata.UNITS_NANOSECONDS);
    assertThat(latency.distributionBucketLowerBounds()).hasSize(21).startsWith(0L, 101L);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeRegistration(out, r);
    assertThat(RunscJson.readRegistration(out.toByteArray(), 0, out.size())).isEqualTo(r);
  }

  @Test
  void consecutiveDataPointsOfOneMetricShareItsMetricObject() throws Exception {
    Snapshot s = golden("01_single_basic.in.json");
    assertThat(s.data().get(2).metric()).isSameAs(s.data().get(1).metric());
    assertThat(s.data().get(3).metric()).isNotSameAs(s.data().get(2).metric());
  }

  // ---- encoding shapes ----

  @Test
  void encodingOmitsWhatGoOmits() throws Exception {
    Snapshot s = new Snapshot(WHEN, List.of(
        DataPoint.of(OPENS, Labels.EMPTY, Value.ZERO),
        DataPoint.of(LATENCY, Labels.of("op", "read"), new Histogram(
            Value.ofInt(7), Value.ofInt(1), Value.ofInt(6), Value.ofFloat(12.5),
            List.of(new Bucket(Value.ZERO, 0), new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 2))))));
    assertThat(encode(s)).isEqualTo(
        "{\"when\":\"2024-01-02T03:04:05.678Z\",\"data\":["
            + "{\"metric\":{\"name\":\"fs_opens\",\"type\":2,\"help\":\"Number of file opens.\"},\"val\":{}},"
            + "{\"metric\":{\"name\":\"lat_ns\",\"type\":3,\"help\":\"Latency in ns.\"},\"labels\":{\"op\":\"read\"},"
            + "\"histogram\":{\"total\":{\"int\":7},\"min\":{\"int\":1},\"max\":{\"int\":6},\"ssd\":{\"float\":12.5},"
            + "\"buckets\":[{\"le\":{}},{\"le\":{\"float\":Infinity},\"n\":2}]}}]}");
  }

  @Test
  void anEmptySnapshotStillCarriesItsTime() throws Exception {
    assertThat(encode(new Snapshot(Instant.parse("2024-01-02T03:04:05Z"), List.of())))
        .isEqualTo("{\"when\":\"2024-01-02T03:04:05Z\"}");
  }

  @Test
  void nonFiniteFloatsAreWrittenAsBareTokensAndReadBack() throws Exception {
    Metric g = new Metric("g", MetricType.GAUGE, "");
    Snapshot s = new Snapshot(WHEN, List.of(
        DataPoint.of(g, Labels.of("k", "nan"), Value.ofFloat(Double.NaN)),
        DataPoint.of(g, Labels.of("k", "neg"), Value.ofFloat(Double.NEGATIVE_INFINITY))));
    String json = encode(s);
    assertThat(json).contains("{\"float\":NaN}").contains("{\"float\":-Infinity}");
    assertThat(decode(json)).isEqualTo(s);
  }

  @Test
  void registrationEncodingOmitsEveryEmptyMember() throws Exception {
    Registration r = new Registration(List.of(
        new MetricMetadata("/fs/opens", "fs_opens", "", true, false, 0, 0, List.of(), List.of()),
        new MetricMetadata("/lat", "lat_ns", "Latency.", false, true, 1, 1,
            List.of(new MetricField("op", List.of("read", "write"))), List.of(0L, 10L))),
        List.of());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeRegistration(out, r);
    assertThat(out.toString(UTF_8)).isEqualTo(
        "{\"metrics\":[{\"name\":\"/fs/opens\",\"prometheus_name\":\"fs_opens\",\"cumulative\":true},"
            + "{\"name\":\"/lat\",\"prometheus_name\":\"lat_ns\",\"description\":\"Latency.\",\"sync\":true,"
            + "\"type\":1,\"units\":1,\"fields\":[{\"field_name\":\"op\",\"allowed_values\":[\"read\",\"write\"]}],"
            + "\"distribution_bucket_lower_bounds\":[0,10]}]}");
    assertThat(RunscJson.readRegistration(out.toByteArray(), 0, out.size())).isEqualTo(r);
  }

  // ---- uRPC ----

  @Test
  void callsAreWrittenAsRunscWritesThem() throws Exception {
    assertThat(call(UrpcCall.EXPORT, "")).isEqualTo("{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"\"}}");
    assertThat(call(UrpcCall.EXPORT, null)).isEqualTo("{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"\"}}");
    assertThat(call("Metrics.GetRegisteredMetrics", "ignored"))
        .isEqualTo("{\"method\":\"Metrics.GetRegisteredMetrics\",\"arg\":{}}");
    assertThat(call(UrpcCall.EXPORT, "fs_\"x\\.*"))
        .isEqualTo("{\"method\":\"Metrics.Export\",\"arg\":{\"only_metrics\":\"fs_\\\"x\\\\.*\"}}");
  }

  private static String call(String method, String onlyMetrics) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscJson.writeCall(out, method, onlyMetrics);
    return out.toString(UTF_8);
  }

  @Test
  void exportRepliesRoundTrip() throws Exception {
    Snapshot s = new Snapshot(WHEN, List.of(DataPoint.of(OPENS, Labels.EMPTY, Value.ofInt(3))));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeExportReply(out, s);
    assertThat(out.toString(UTF_8)).startsWith("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":{");
    assertThat(RunscJson.readExportReply(out.toByteArray(), 0, out.size()))
        .isEqualTo(new ExportReply(true, "", s));
  }

  @Test
  void errorRepliesCarryTheSandboxMessage() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeErrorReply(out, "bad regex \"(\"");
    assertThat(out.toString(UTF_8))
        .isEqualTo("{\"success\":false,\"err\":\"bad regex \\\"(\\\"\",\"result\":null}");
    byte[] b = out.toByteArray();
    assertThat(RunscJson.readExportReply(b, 0, b.length))
        .isEqualTo(new ExportReply(false, "bad regex \"(\"", null));
  }

  @Test
  void repliesMayComeInAnyMemberOrderWithUnknownMembers() throws Exception {
    byte[] b = ("{\"result\":{\"extra\":[[]],\"snapshot\":{\"when\":\"2024-01-02T03:04:05.678Z\"}},"
        + "\"files\":3,\"err\":\"\",\"success\":true}").getBytes(UTF_8);
    assertThat(RunscJson.readExportReply(b, 0, b.length))
        .isEqualTo(new ExportReply(true, "", new Snapshot(WHEN, List.of())));
  }

  @Test
  void decodingFromAnOffsetInsideABufferReadsOnlyThatSlice() throws Exception {
    byte[] b = "garbage{\"when\":\"2024-01-02T03:04:05.678Z\"}garbage".getBytes(UTF_8);
    assertThat(RunscJson.readSnapshot(b, 7, b.length - 14)).isEqualTo(new Snapshot(WHEN, List.of()));
  }

  @Test
  void aSnapshotCanBeReadFromAStream() throws Exception {
    byte[] b = " {\"when\":\"2024-01-02T03:04:05.678Z\"} \n".getBytes(UTF_8);
    assertThat(RunscJson.readSnapshot(new ByteArrayInputStream(b))).isEqualTo(new Snapshot(WHEN, List.of()));
  }

  @Test
  void aNullRegistrationInAStateFileReadsAsNull() throws Exception {
    try (JsonParser p = RunscJson.createParser(
        new ByteArrayInputStream("{\"registeredMetrics\":null}".getBytes(UTF_8)))) {
      p.nextToken();
      p.nextToken();
      assertThat(RunscJson.readRegistration(p)).isNull();
    }
  }

  // ---- leniency that Go has too ----

  @Test
  void unknownMembersAreSkippedAtEveryLevel() throws Exception {
    Snapshot s = decode("{\"x\":{\"a\":[1,2,{\"b\":null}]},\"when\":\"2024-01-02T03:04:05.678Z\",\"data\":["
        + "{\"new\":true,\"metric\":{\"name\":\"fs_opens\",\"unit\":\"s\",\"type\":2,"
        + "\"help\":\"Number of file opens.\"},\"val\":{\"int\":3,\"uint\":4}}]}");
    assertThat(s).isEqualTo(new Snapshot(WHEN, List.of(DataPoint.of(OPENS, Labels.EMPTY, Value.ofInt(3)))));
  }

  @Test
  void optionalMembersMayBeNullOrAbsentAndZeroMembersCountAsAbsent() throws Exception {
    Snapshot s = decode("{\"data\":[{\"metric\":{\"name\":\"g\"},\"labels\":null,\"val\":{\"int\":0,"
        + "\"float\":1.5},\"histogram\":null},{\"metric\":{\"name\":\"g\",\"type\":1},\"val\":{\"float\":-0.0}}]}");
    assertThat(s.when()).isEqualTo(RunscTime.GO_ZERO_TIME);
    assertThat(s.data().get(0)).isEqualTo(
        DataPoint.of(new Metric("g", MetricType.UNTYPED, ""), Labels.EMPTY, Value.ofFloat(1.5)));
    assertThat(s.data().get(1).value()).isSameAs(Value.ZERO);
  }

  @Test
  void labelsFromProducersThatDoNotSortAreSorted() throws Exception {
    Snapshot s = decode("{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":1},"
        + "\"labels\":{\"zone\":\"z1\",\"proto\":\"tcp\",\"a\":\"\"},\"val\":{}}]}");
    Labels labels = s.data().get(0).labels();
    assertThat(List.of(labels.name(0), labels.name(1), labels.name(2))).containsExactly("a", "proto", "zone");
    assertThat(labels.get("zone")).isEqualTo("z1");
  }

  @Test
  void infinityAndNaNAreAcceptedAsTokensAndAsStrings() throws Exception {
    String[] positive = {"Infinity", "\"+Inf\"", "\"Inf\"", "\"Infinity\""};
    for (String token : positive) {
      assertThat(gaugeValue(token)).as(token).isEqualTo(Value.ofFloat(Double.POSITIVE_INFINITY));
    }
    for (String token : new String[] {"-Infinity", "\"-Inf\"", "\"-Infinity\""}) {
      assertThat(gaugeValue(token)).as(token).isEqualTo(Value.ofFloat(Double.NEGATIVE_INFINITY));
    }
    for (String token : new String[] {"NaN", "\"NaN\""}) {
      assertThat(gaugeValue(token).doubleValue()).as(token).isNaN();
    }
  }

  @Test
  void integersKeepAll64Bits() throws Exception {
    assertThat(gaugeInt("9223372036854775807")).isEqualTo(Long.MAX_VALUE);
    assertThat(gaugeInt("-9223372036854775808")).isEqualTo(Long.MIN_VALUE);
    assertThat(gaugeInt("1000000000000000000")).isEqualTo(1_000_000_000_000_000_000L);
  }

  @Test
  void floatsWrittenAsIntegersOrWithExponentsAreFloats() throws Exception {
    assertThat(gaugeValue("3")).isEqualTo(Value.ofFloat(3));
    assertThat(gaugeValue("1e21")).isEqualTo(Value.ofFloat(1e21));
    assertThat(gaugeValue("1.5E-7")).isEqualTo(Value.ofFloat(1.5e-7));
  }

  @Test
  void everyTimeOffsetIsReadAsTheSameInstant() throws Exception {
    assertThat(decode("{\"when\":\"2023-01-25T15:46:50.469403696-08:00\"}").when())
        .isEqualTo(Instant.parse("2023-01-25T23:46:50.469403696Z"));
    assertThat(decode("{\"when\":\"2024-01-02T05:34:05.678+02:30\"}").when()).isEqualTo(WHEN);
  }

  @Test
  void stringsWithEscapesAndNonAsciiSurviveARoundTrip() throws Exception {
    Metric m = new Metric("g", MetricType.GAUGE, "line1\nline2 \"quoted\" \\ tab\t é 🚀");
    Snapshot s = new Snapshot(WHEN, List.of(DataPoint.of(m, Labels.of("k", "v\u0000\u2028"), Value.ofInt(1))));
    assertThat(roundTrip(s)).isEqualTo(s);
  }

  // ---- helpers ----

  private static Snapshot golden(String name) throws Exception {
    return GoldenInputs.snapshots(TestData.path("gvisor-golden/" + name), RunscJson.BothSetPolicy.INT_WINS)
        .get(0);
  }

  private static Value value(Snapshot s, String metric) {
    List<DataPoint> matches =
        s.data().stream().filter(d -> d.metric().name().equals(metric)).collect(Collectors.toList());
    assertThat(matches).hasSize(1);
    return matches.get(0).value();
  }

  private static Value gaugeValue(String floatToken) throws RunscJsonException {
    return decode("{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":1},\"val\":{\"float\":" + floatToken + "}}]}")
        .data().get(0).value();
  }

  private static long gaugeInt(String intToken) throws RunscJsonException {
    Value v = decode("{\"data\":[{\"metric\":{\"name\":\"g\",\"type\":1},\"val\":{\"int\":" + intToken + "}}]}")
        .data().get(0).value();
    assertThat(v.isInteger()).isTrue();
    return v.longValue();
  }

  static Snapshot decode(String json) throws RunscJsonException {
    byte[] b = json.getBytes(UTF_8);
    return RunscJson.readSnapshot(b, 0, b.length);
  }

  private static String encode(Snapshot s) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscReplies.writeSnapshot(out, s);
    return out.toString(UTF_8);
  }

  private static Snapshot roundTrip(Snapshot s) throws IOException, RunscJsonException {
    return decode(encode(s));
  }
}
