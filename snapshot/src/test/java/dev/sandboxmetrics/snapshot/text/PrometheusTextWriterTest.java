package dev.sandboxmetrics.snapshot.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a scraper sees for hand-built snapshots: escaping, ordering, headers, and data that is dropped. */
class PrometheusTextWriterTest {
  private static final Instant WHEN = Instant.parse("2024-01-02T03:04:05.678Z");
  private static final Labels SANDBOX_1 = Labels.of("sandbox", "s1", "iteration", "it1");
  private static final Labels SANDBOX_2 = Labels.of("sandbox", "s2", "iteration", "it2");

  private final PrometheusTextWriter writer = new PrometheusTextWriter();

  // ---- escaping ----

  @Test
  void labelValuesEscapeBackslashQuoteAndNewline() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        gauge("g", "", Labels.of("path", "C:\\dir \"x\"\nnext"), 1)));

    assertThat(r.samples()).containsExactly(
        "runsc_g{iteration=\"it1\",path=\"C:\\\\dir \\\"x\\\"\\nnext\",sandbox=\"s1\"} 1 1704164645678");
  }

  @Test
  void helpEscapesBackslashAndNewlineButNotQuotes() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1, gauge("g", "a \"quoted\" C:\\path\nsecond line", Labels.EMPTY, 1)));

    assertThat(r.lines()).contains("# HELP runsc_g a \"quoted\" C:\\\\path\\nsecond line");
  }

  @Test
  void addedLabelsAreEscapedToo() throws IOException {
    Rendered r = render(export("runsc_", Labels.of("sandbox", "s1", "pod_name", "we\"ird\\pod\n"),
        gauge("g", "", Labels.EMPTY, 1)));

    assertThat(r.samples()).containsExactly("runsc_g{pod_name=\"we\\\"ird\\\\pod\\n\",sandbox=\"s1\"} 1 1704164645678");
  }

  @Test
  void unicodeIsWrittenAsUtf8AndABrokenSurrogateAsReplacementCharacter() throws IOException {
    Rendered r = render(export("runsc_", Labels.EMPTY,
        gauge("g", "Grüße ✓ 😀", Labels.of("who", "Zoë ✓ 😀", "broken", "a\ud800b"), 1)));

    assertThat(r.lines()).contains("# HELP runsc_g Grüße ✓ 😀");
    assertThat(r.samples()).containsExactly("runsc_g{broken=\"a\ufffdb\",who=\"Zoë ✓ 😀\"} 1 1704164645678");
  }

  // ---- ordering ----

  @Test
  void namesAreSortedAfterPrefixingAcrossAllSnapshots() throws IOException {
    Rendered r = render(
        export("runsc_", SANDBOX_1, counter("zz", "", Labels.EMPTY, 1), counter("aa", "", Labels.EMPTY, 2)),
        export("runsc_meta_", SANDBOX_1, gauge("sandbox_presence", "", Labels.EMPTY, 1)),
        export("", Labels.EMPTY, gauge("process_start_time_seconds", "", Labels.EMPTY, 3)),
        export("runsc_", SANDBOX_2, counter("aa", "", Labels.EMPTY, 4)));

    assertThat(r.samples()).containsExactly(
        "process_start_time_seconds 3 1704164645678",
        "runsc_aa{iteration=\"it1\",sandbox=\"s1\"} 2 1704164645678",
        "runsc_aa{iteration=\"it2\",sandbox=\"s2\"} 4 1704164645678",
        "runsc_meta_sandbox_presence{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678",
        "runsc_zz{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678");
  }

  @Test
  void forOneNameSnapshotsKeepTheirOrderAndDataPointsTheirs() throws IOException {
    Rendered r = render(
        export("runsc_", SANDBOX_2,
            counter("ops", "", Labels.of("op", "write"), 1), counter("other", "", Labels.EMPTY, 9),
            counter("ops", "", Labels.of("op", "read"), 2)),
        export("runsc_", SANDBOX_1, counter("ops", "", Labels.of("op", "open"), 3)));

    assertThat(r.samples()).containsExactly(
        "runsc_ops{iteration=\"it2\",op=\"write\",sandbox=\"s2\"} 1 1704164645678",
        "runsc_ops{iteration=\"it2\",op=\"read\",sandbox=\"s2\"} 2 1704164645678",
        "runsc_ops{iteration=\"it1\",op=\"open\",sandbox=\"s1\"} 3 1704164645678",
        "runsc_other{iteration=\"it2\",sandbox=\"s2\"} 9 1704164645678");
  }

  @Test
  void labelsMergeSortedFromAllThreeSourcesWithLeLast() throws IOException {
    DataPoint dp = new DataPoint(new Metric("g", MetricType.GAUGE, ""), Labels.of("b", "1", "le", "x", "z", "2"),
        Labels.of("a", "3", "m", "4"), Value.ofInt(5), null);

    Rendered r = render(export("runsc_", SANDBOX_1, dp));

    assertThat(r.samples()).containsExactly(
        "runsc_g{a=\"3\",b=\"1\",iteration=\"it1\",m=\"4\",sandbox=\"s1\",z=\"2\",le=\"x\"} 5 1704164645678");
  }

  @Test
  void runsOfAddedLabelsBetweenOwnLabelsAndAnAddedLeAreMergedAlikeForEverySnapshot() throws IOException {
    // The same label sets under two exports with different added values: the merge worked out for the first
    // export's names is reused for the second, whose added pairs differ in length. An added "le" goes last.
    Metric g = new Metric("g", MetricType.GAUGE, "");
    Labels own = Labels.of("a", "1", "n", "2", "z", "3");
    DataPoint dp = new DataPoint(g, own, Labels.of("c", "4"), Value.ofInt(5), null);
    Labels added1 = Labels.of("b", "x", "m", "yy", "o", "z", "p", "w");
    Labels added2 = Labels.of("b", "long \"value\"", "m", "", "o", "q", "p", "r");
    Labels withLe = Labels.of("b", "x", "le", "0.5");

    Rendered r = render(export("", added1, dp), export("", added2, dp), export("", withLe, dp));

    assertThat(r.samples()).containsExactly(
        "g{a=\"1\",b=\"x\",c=\"4\",m=\"yy\",n=\"2\",o=\"z\",p=\"w\",z=\"3\"} 5 1704164645678",
        "g{a=\"1\",b=\"long \\\"value\\\"\",c=\"4\",m=\"\",n=\"2\",o=\"q\",p=\"r\",z=\"3\"} 5 1704164645678",
        "g{a=\"1\",b=\"x\",c=\"4\",n=\"2\",z=\"3\",le=\"0.5\"} 5 1704164645678");
  }

  // ---- HELP and TYPE ----

  @Test
  void helpAndTypeAreWrittenOncePerFullName() throws IOException {
    Rendered r = render(
        export("runsc_", SANDBOX_1, counter("fs_opens", "Opens.", Labels.EMPTY, 1)),
        export("runsc_", SANDBOX_2, counter("fs_opens", "Opens.", Labels.EMPTY, 2)),
        export("other_", SANDBOX_1, counter("fs_opens", "Opens.", Labels.EMPTY, 3)));

    // gVisor keys these by the unprefixed name and so would lose other_fs_opens' header.
    assertThat(r.text()).contains(""
        + "\n"
        + "# HELP other_fs_opens Opens.\n"
        + "# TYPE other_fs_opens counter\n"
        + "other_fs_opens{iteration=\"it1\",sandbox=\"s1\"} 3 1704164645678\n"
        + "\n"
        + "# HELP runsc_fs_opens Opens.\n"
        + "# TYPE runsc_fs_opens counter\n"
        + "runsc_fs_opens{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678\n"
        + "runsc_fs_opens{iteration=\"it2\",sandbox=\"s2\"} 2 1704164645678\n");
    assertThat(r.lines()).filteredOn(l -> l.startsWith("# TYPE")).hasSize(2);
  }

  @Test
  void theSameFullNameFromTwoPrefixesIsOneMetric() throws IOException {
    Rendered r = render(
        export("a_b_", SANDBOX_1, gauge("c", "From a_b_.", Labels.EMPTY, 1)),
        export("a_", SANDBOX_2, gauge("b_c", "From a_.", Labels.EMPTY, 2)),
        export("a_b_", SANDBOX_2, gauge("c", "From a_b_.", Labels.EMPTY, 3)));

    assertThat(r.lines()).filteredOn(l -> l.startsWith("# ") && l.contains("a_b_c")).containsExactly(
        "# HELP a_b_c From a_b_.", "# TYPE a_b_c gauge");
    assertThat(r.samples()).containsExactly(
        "a_b_c{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678",
        "a_b_c{iteration=\"it2\",sandbox=\"s2\"} 2 1704164645678",
        "a_b_c{iteration=\"it2\",sandbox=\"s2\"} 3 1704164645678");
  }

  @Test
  void emptyHelpWritesOnlyTheTypeLine() throws IOException {
    Rendered r = render(export("runsc_", Labels.EMPTY, new DataPoint(new Metric("u", MetricType.UNTYPED, null),
        Labels.EMPTY, Labels.EMPTY, Value.ofInt(-5), null)));

    assertThat(r.text()).endsWith("\n\n# TYPE runsc_u untyped\nrunsc_u -5 1704164645678\n\n# End of metric data.\n");
  }

  // ---- comment lines ----

  @Test
  void singleSnapshotHeader() throws IOException {
    Rendered r = render("Command-line export for sandbox s1",
        List.of(export("runsc_", SANDBOX_1, gauge("g", "", Labels.EMPTY, 1), gauge("h", "", Labels.EMPTY, 1))));

    assertThat(r.lines()).startsWith(
        "# Command-line export for sandbox s1",
        "# Writing data from snapshot containing 2 data points taken at 2024-01-02 03:04:05.678 +0000 UTC.",
        "",
        "",
        "# TYPE runsc_g gauge");
  }

  @Test
  void multiSnapshotHeaderListsEverySnapshotWithItsAddedLabelsInTheGivenOrder() throws IOException {
    SnapshotExport second = new SnapshotExport(new Snapshot(Instant.parse("2024-01-02T03:04:06Z"),
        List.of(gauge("g", "", Labels.EMPTY, 1))), "runsc_", SANDBOX_1);
    Rendered r = render("Data for runsc metric server\nsecond line",
        List.of(export("runsc_", SANDBOX_2, gauge("g", "", Labels.EMPTY, 1), gauge("h", "", Labels.EMPTY, 2)),
            second,
            export("", Labels.of("note", "two\nlines"))));

    assertThat(r.lines()).startsWith(
        "# Data for runsc metric server",
        "# second line",
        "# Writing data from 3 snapshots:",
        "#   - Snapshot with 2 data points taken at 2024-01-02 03:04:05.678 +0000 UTC: map[iteration:it2 sandbox:s2]",
        "#   - Snapshot with 1 data points taken at 2024-01-02 03:04:06 +0000 UTC: map[iteration:it1 sandbox:s1]",
        "#   - Snapshot with 0 data points taken at 2024-01-02 03:04:05.678 +0000 UTC: map[note:two\\nlines]",
        "",
        "");
  }

  @Test
  void noCommentHeaderMeansNoHeaderLines() throws IOException {
    Rendered withNull = render(null, List.of(export("runsc_", Labels.EMPTY, gauge("g", "", Labels.EMPTY, 1))));
    Rendered withEmpty = render("", List.of(export("runsc_", Labels.EMPTY, gauge("g", "", Labels.EMPTY, 1))));

    assertThat(withNull.lines().get(0)).startsWith("# Writing data from snapshot containing 1 data points");
    assertThat(withEmpty.text()).isEqualTo(withNull.text());
  }

  @Test
  void goTimeIsUtcWithTrailingZerosOfTheFractionRemoved() {
    assertThat(dev.sandboxmetrics.snapshot.golang.RunscTime.formatGoString(Instant.parse("2023-01-25T23:46:50.469403696Z")))
        .isEqualTo("2023-01-25 23:46:50.469403696 +0000 UTC");
    assertThat(dev.sandboxmetrics.snapshot.golang.RunscTime.formatGoString(Instant.parse("2024-01-02T03:04:05.100Z")))
        .isEqualTo("2024-01-02 03:04:05.1 +0000 UTC");
    assertThat(dev.sandboxmetrics.snapshot.golang.RunscTime.formatGoString(Instant.parse("2024-01-02T03:04:05Z")))
        .isEqualTo("2024-01-02 03:04:05 +0000 UTC");
    assertThat(dev.sandboxmetrics.snapshot.golang.RunscTime.formatGoString(Instant.parse("0099-12-31T23:59:59.000000001Z")))
        .isEqualTo("0099-12-31 23:59:59.000000001 +0000 UTC");
  }

  // ---- numbers and timestamps on the line ----

  @Test
  void timestampsAreUnixMillisecondsRoundedDownLikeGo() throws IOException {
    Rendered r = render(
        new SnapshotExport(new Snapshot(Instant.parse("2024-01-02T03:04:05.678999999Z"),
            List.of(gauge("a", "", Labels.EMPTY, 1))), "", Labels.EMPTY),
        new SnapshotExport(new Snapshot(Instant.parse("1969-12-31T23:59:59.999500Z"),
            List.of(gauge("b", "", Labels.EMPTY, 1))), "", Labels.EMPTY));

    assertThat(r.samples()).containsExactly("a 1 1704164645678", "b 1 -1");
  }

  @Test
  void extremeIntegersAndFloatsOnSampleLines() throws IOException {
    Rendered r = render(export("", Labels.EMPTY,
        DataPoint.of(new Metric("max", MetricType.COUNTER, ""), Labels.EMPTY, Value.ofInt(Long.MAX_VALUE)),
        DataPoint.of(new Metric("min", MetricType.GAUGE, ""), Labels.EMPTY, Value.ofInt(Long.MIN_VALUE)),
        DataPoint.of(new Metric("neg_zero", MetricType.GAUGE, ""), Labels.EMPTY, Value.ofFloat(-0.0)),
        DataPoint.of(new Metric("third", MetricType.GAUGE, ""), Labels.EMPTY, Value.ofFloat(1.0 / 3))));

    assertThat(r.samples()).containsExactly(
        "max 9223372036854775807 1704164645678",
        "min -9223372036854775808 1704164645678",
        "neg_zero 0 1704164645678",
        "third 0.333333 1704164645678");
  }

  // ---- histograms ----

  @Test
  void histogramWithoutAnyLabelsHasBracesOnlyOnBucketLines() throws IOException {
    Rendered r = render(export("", Labels.EMPTY, histogram("lat", "Latency.", Labels.EMPTY,
        new Histogram(Value.ofFloat(1.5), Value.ofFloat(0.25), Value.ofFloat(1.25), Value.ofFloat(0.5),
            List.of(new Bucket(Value.ofFloat(0.5), 1), new Bucket(Value.ofInt(2), 0),
                new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1))))));

    assertThat(r.text()).endsWith(""
        + "\n"
        + "\n"
        + "\n"
        + "# HELP lat Latency.\n"
        + "# TYPE lat histogram\n"
        + "lat_bucket{le=\"0.500000\"} 1 1704164645678\n"
        + "lat_bucket{le=\"2\"} 1 1704164645678\n"
        + "lat_bucket{le=\"+Inf\"} 2 1704164645678\n"
        + "lat_sum 1.500000 1704164645678\n"
        + "lat_count 2 1704164645678\n"
        + "lat_min 0.250000 1704164645678\n"
        + "lat_max 1.250000 1704164645678\n"
        + "lat_ssd 0.500000 1704164645678\n"
        + "\n"
        + "\n"
        + "# End of metric data.\n");
  }

  @Test
  void histogramWithItsOwnLeLabelIsDropped() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        histogram("lat", "", Labels.of("le", "mine"), simpleHistogram()),
        histogram("lat", "", Labels.of("op", "read"), simpleHistogram())));

    assertThat(r.samples()).hasSize(7).allMatch(l -> l.contains("op=\"read\"")).noneMatch(l -> l.contains("mine"));
    assertThat(r.report.droppedDataPoints()).singleElement().asString()
        .contains("runsc_lat", "\"le\"", "bucket");
  }

  // ---- data that cannot be rendered is dropped whole and reported ----

  @Test
  void dataPointWhoseLabelCollidesWithAnAddedLabelIsDroppedAndTheRestRenders() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        counter("ops", "Ops.", Labels.of("op", "read"), 1),
        counter("ops", "Ops.", Labels.of("op", "evil", "sandbox", "someone-else"), 2),
        counter("ops", "Ops.", Labels.of("op", "write"), 3)));

    assertThat(r.samples()).containsExactly(
        "runsc_ops{iteration=\"it1\",op=\"read\",sandbox=\"s1\"} 1 1704164645678",
        "runsc_ops{iteration=\"it1\",op=\"write\",sandbox=\"s1\"} 3 1704164645678");
    assertThat(r.text()).doesNotContain("evil", "someone-else");
    assertThat(r.report.droppedDataPoints()).singleElement().asString()
        .contains("runsc_ops", "\"sandbox\"", "s1", "the added labels");
  }

  @Test
  void collisionBetweenOwnAndExternalLabelsIsDropped() throws IOException {
    DataPoint twice = new DataPoint(new Metric("g", MetricType.GAUGE, ""), Labels.of("zone", "a"),
        Labels.of("zone", "b"), Value.ofInt(1), null);

    Rendered r = render(export("runsc_", SANDBOX_1, twice, gauge("h", "", Labels.EMPTY, 2)));

    assertThat(r.samples()).containsExactly("runsc_h{iteration=\"it1\",sandbox=\"s1\"} 2 1704164645678");
    assertThat(r.lines()).noneMatch(l -> l.contains("runsc_g"));
    assertThat(r.report.droppedDataPoints()).singleElement().asString().contains("\"zone\"", "external labels");
  }

  @Test
  void emptyAndInvalidLabelNamesAreDropped() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        gauge("g", "", Labels.of("", "x"), 1),
        gauge("g", "", Labels.of("bad-name", "x"), 2),
        gauge("g", "", Labels.of("0digit", "x"), 3),
        gauge("g", "", Labels.of("ünï", "x"), 4),
        gauge("g", "", Labels.of("good_Name_1", "x"), 5)));

    assertThat(r.samples()).containsExactly(
        "runsc_g{good_Name_1=\"x\",iteration=\"it1\",sandbox=\"s1\"} 5 1704164645678");
    assertThat(r.report.droppedDataPoints()).hasSize(4);
    assertThat(r.report.droppedDataPoints().get(0)).contains("empty label name");
    assertThat(r.report.droppedDataPoints().get(1)).contains("\"bad-name\"");
  }

  @Test
  void invalidAddedLabelNameDropsTheWholeSnapshotButNotOthers() throws IOException {
    Rendered r = render(
        export("runsc_", Labels.of("bad label", "x"), gauge("g", "", Labels.EMPTY, 1)),
        export("runsc_", SANDBOX_2, gauge("g", "", Labels.EMPTY, 2)));

    assertThat(r.samples()).containsExactly("runsc_g{iteration=\"it2\",sandbox=\"s2\"} 2 1704164645678");
    assertThat(r.report.droppedDataPoints()).singleElement().asString().contains("\"bad label\"");
  }

  @Test
  void invalidMetricNameIsDropped() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        gauge("has space", "", Labels.EMPTY, 1), gauge("with:colon", "", Labels.EMPTY, 2)));

    assertThat(r.samples()).containsExactly("runsc_with:colon{iteration=\"it1\",sandbox=\"s1\"} 2 1704164645678");
    assertThat(r.text()).doesNotContain("has space");
    assertThat(r.report.droppedDataPoints()).singleElement().asString().contains("\"runsc_has space\"");
  }

  @Test
  void scalarWithoutValueIsDroppedForEveryScalarType() throws IOException {
    List<DataPoint> data = new ArrayList<>();
    for (MetricType type : new MetricType[] {MetricType.UNTYPED, MetricType.GAUGE, MetricType.COUNTER}) {
      data.add(new DataPoint(new Metric("m_" + type.text(), type, ""), Labels.EMPTY, Labels.EMPTY, null, null));
    }
    data.add(gauge("fine", "", Labels.EMPTY, 1));

    Rendered r = render(new SnapshotExport(new Snapshot(WHEN, data), "runsc_", SANDBOX_1));

    assertThat(r.samples()).containsExactly("runsc_fine{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678");
    assertThat(r.lines()).noneMatch(l -> l.contains("runsc_m_"));
    assertThat(r.report.droppedDataPoints()).hasSize(3)
        .anySatisfy(m -> assertThat(m).contains("runsc_m_counter", "without a value"));
  }

  @Test
  void histogramTypeWithoutHistogramAndScalarTypeWithHistogramAreDropped() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        new DataPoint(new Metric("h", MetricType.HISTOGRAM, ""), Labels.EMPTY, Labels.EMPTY, Value.ofInt(1), null),
        new DataPoint(new Metric("c", MetricType.COUNTER, ""), Labels.EMPTY, Labels.EMPTY, Value.ofInt(1),
            simpleHistogram()),
        gauge("fine", "", Labels.EMPTY, 1)));

    assertThat(r.samples()).containsExactly("runsc_fine{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678");
    assertThat(r.report.droppedDataPoints()).hasSize(2);
  }

  @Test
  void sameNameWithAnotherTypeInALaterSnapshotIsDropped() throws IOException {
    Rendered r = render(
        export("runsc_", SANDBOX_1, counter("x", "", Labels.EMPTY, 1)),
        export("runsc_", SANDBOX_2, gauge("x", "", Labels.EMPTY, 2)));

    assertThat(r.samples()).containsExactly("runsc_x{iteration=\"it1\",sandbox=\"s1\"} 1 1704164645678");
    assertThat(r.report.droppedDataPoints()).singleElement().asString().contains("gauge", "counter");
  }

  @Test
  void whenTheFirstDataPointOfANameIsDroppedTheNextOneWritesTheHeader() throws IOException {
    Rendered r = render(export("runsc_", SANDBOX_1,
        counter("x", "Help.", Labels.of("sandbox", "clash"), 1), counter("x", "Help.", Labels.EMPTY, 2)));

    assertThat(r.text()).contains("\n\n# HELP runsc_x Help.\n# TYPE runsc_x counter\n"
        + "runsc_x{iteration=\"it1\",sandbox=\"s1\"} 2 1704164645678\n");
  }

  // ---- streaming ----

  @Test
  void largeOutputIsStreamedInChunksAndCountedExactly() throws IOException {
    List<DataPoint> data = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      data.add(counter("c" + (i % 50), "Counter " + (i % 50) + ".", Labels.of("i", Integer.toString(i)), i));
    }
    CountingChunks out = new CountingChunks();

    WriteReport report = writer.write(out, "big", List.of(new SnapshotExport(new Snapshot(WHEN, data), "runsc_",
        SANDBOX_1)));

    assertThat(out.writes).isGreaterThan(5);
    assertThat(out.largestWrite).isLessThanOrEqualTo(64 * 1024);
    assertThat(report.bytesWritten()).isEqualTo(out.bytes.size()).isGreaterThan(5000 * 50);
    assertThat(report.droppedDataPoints()).isEmpty();
  }

  @Test
  void sameInputGivesTheSameBytesEveryTime() throws IOException {
    List<SnapshotExport> exports = List.of(
        export("runsc_", SANDBOX_2, counter("b", "", Labels.of("k", "v"), 1), histogram("h", "", Labels.EMPTY,
            simpleHistogram())),
        export("runsc_", SANDBOX_1, counter("a", "", Labels.EMPTY, 2), counter("b", "", Labels.EMPTY, 3)));

    String first = render("h", exports).text();
    assertThat(render("h", exports).text()).isEqualTo(first);
    assertThat(render("h", new ArrayList<>(exports)).text()).isEqualTo(first);
  }

  @Test
  void outputStreamFailureReachesTheCaller() {
    OutputStream broken = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("connection reset by scraper");
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        throw new IOException("connection reset by scraper");
      }
    };

    assertThatThrownBy(() -> writer.write(broken, "x", List.of(export("", Labels.EMPTY,
        gauge("g", "", Labels.EMPTY, 1))))).isInstanceOf(IOException.class).hasMessageContaining("reset");
  }

  // ---- helpers ----

  private static final class CountingChunks extends OutputStream {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int writes;
    int largestWrite;

    @Override
    public void write(int b) {
      writes++;
      bytes.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      writes++;
      largestWrite = Math.max(largestWrite, len);
      bytes.write(b, off, len);
    }
  }

  /** What the writer produced, split up the way a reader of the text sees it. */
  private record Rendered(String text, WriteReport report) {
    List<String> lines() {
      return Arrays.asList(text.split("\n", -1));
    }

    List<String> samples() {
      return lines().stream().filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }
  }

  private Rendered render(SnapshotExport... exports) throws IOException {
    return render("test", List.of(exports));
  }

  private Rendered render(String header, List<SnapshotExport> exports) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WriteReport report = writer.write(out, header, exports);
    assertThat(report.bytesWritten()).isEqualTo(out.size());
    // Every case here also checks that the output cut into slices, down to a slice per data point, is the same.
    for (int sliceBytes : new int[] {1, 40, 200, 1000}) {
      SlicedExpositionTest.assertSlicesConcatenateTo(writer, header, exports, sliceBytes, out.toByteArray(), report);
    }
    return new Rendered(out.toString(StandardCharsets.UTF_8), report);
  }

  private static SnapshotExport export(String prefix, Labels added, DataPoint... data) {
    return new SnapshotExport(new Snapshot(WHEN, List.of(data)), prefix, added);
  }

  private static DataPoint gauge(String name, String help, Labels labels, long v) {
    return DataPoint.of(new Metric(name, MetricType.GAUGE, help), labels, Value.ofInt(v));
  }

  private static DataPoint counter(String name, String help, Labels labels, long v) {
    return DataPoint.of(new Metric(name, MetricType.COUNTER, help), labels, Value.ofInt(v));
  }

  private static DataPoint histogram(String name, String help, Labels labels, Histogram h) {
    return DataPoint.of(new Metric(name, MetricType.HISTOGRAM, help), labels, h);
  }

  private static Histogram simpleHistogram() {
    return new Histogram(Value.ofInt(12), Value.ofInt(1), Value.ofInt(9), Value.ofFloat(2.5),
        List.of(new Bucket(Value.ofInt(5), 2), new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), 1)));
  }
}
