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
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random valid snapshots with nasty label values and help texts, rendered and read back by a strict parser
 * of the text format, then compared sample by sample with what went in: names, label order and values,
 * numbers (floats at the six decimals they are rendered with), timestamps, HELP and TYPE.
 */
class PrometheusTextRoundTripTest {
  private static final String[] PREFIXES = {"runsc_", "other_", ""};
  private static final String NASTY = "\"\\\n\r\t{}=,# é✓\u2028";
  private static final String[] NASTY_WORDS = {"😀", "\\n", "\\\"", "le", "a\"b", "C:\\x\\", "\n\n", ""};

  private record MetricDef(String name, MetricType type, String help) {}

  /** One expected sample line. */
  private record Expected(String name, List<Map.Entry<String, String>> labels, Value value, long timestamp) {}

  @Test
  void randomSnapshotsSurviveTheRoundTripThroughAStrictParser() throws IOException {
    SplittableRandom random = new SplittableRandom(42);
    for (int round = 0; round < 40; round++) {
      List<MetricDef> defs = randomDefs(random);
      List<SnapshotExport> exports = new ArrayList<>();
      int n = random.nextInt(1, 6);
      for (int e = 0; e < n; e++) {
        exports.add(randomExport(random, defs, e));
      }

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      WriteReport report = new PrometheusTextWriter().write(out, "round " + round + "\nwith \"two\" lines", exports);
      assertThat(report.droppedDataPoints()).isEmpty();
      assertThat(report.bytesWritten()).isEqualTo(out.size());

      StrictPrometheusTextParser.Parsed parsed = StrictPrometheusTextParser.parse(out.toByteArray());
      List<Expected> expected = expectedSamples(exports);
      assertThat(parsed.samples()).as("round %d sample count", round).hasSize(expected.size());
      for (int i = 0; i < expected.size(); i++) {
        Expected want = expected.get(i);
        StrictPrometheusTextParser.Sample got = parsed.samples().get(i);
        String where = "round " + round + ", sample " + i + ": " + got;
        assertThat(got.name()).as(where).isEqualTo(want.name());
        assertThat(got.labels()).as(where).containsExactlyElementsOf(want.labels());
        assertThat(got.timestamp()).as(where).isEqualTo(want.timestamp());
        assertSameNumber(got.value(), want.value(), where);
      }
      for (SnapshotExport export : exports) {
        for (DataPoint dp : export.snapshot().data()) {
          StrictPrometheusTextParser.Family family = parsed.families().get(export.prefix() + dp.metric().name());
          assertThat(family).isNotNull();
          assertThat(family.type()).isEqualTo(dp.metric().type().text());
          assertThat(family.help()).isEqualTo(dp.metric().help().isEmpty() ? null : dp.metric().help());
        }
      }
    }
  }

  @Test
  void theStrictParserRejectsWhatGvisorsEscapingProduces() {
    // gVisor writes a quote in a label value as \\" and a newline as a backslash and a real newline.
    String gvisorQuote = "# TYPE g gauge\ng{v=\"a\\\\\"b\"} 1 1\n";
    String gvisorNewline = "# TYPE g gauge\ng{v=\"a\\\nb\"} 1 1\n";
    String headerTwice = "# TYPE g gauge\n# TYPE g gauge\ng 1 1\n";
    String splitFamily = "# TYPE g gauge\n# TYPE h gauge\ng 1 1\nh 1 1\ng 2 1\n";
    String emptyValue = "# TYPE g gauge\ng  1\n";

    for (String bad : List.of(gvisorQuote, gvisorNewline, headerTwice, splitFamily, emptyValue)) {
      assertThatThrownBy(() -> StrictPrometheusTextParser.parse(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad).isInstanceOf(StrictPrometheusTextParser.ParseException.class);
    }
    assertThat(StrictPrometheusTextParser.parse("# TYPE g gauge\ng{v=\"a\\\"b\\n\"} 1 1\n"
        .getBytes(StandardCharsets.UTF_8)).samples()).singleElement()
        .satisfies(s -> assertThat(s.labels()).containsExactly(Map.entry("v", "a\"b\n")));
  }

  // ---- what should come out ----

  private static List<Expected> expectedSamples(List<SnapshotExport> exports) {
    TreeMap<String, List<Expected>> byName = new TreeMap<>(Comparator.naturalOrder());
    for (SnapshotExport export : exports) {
      long ts = export.snapshot().when().toEpochMilli();
      for (DataPoint dp : export.snapshot().data()) {
        String name = export.prefix() + dp.metric().name();
        List<Expected> lines = byName.computeIfAbsent(name, k -> new ArrayList<>());
        List<Map.Entry<String, String>> labels = mergedLabels(dp, export.extraLabels());
        if (dp.metric().type() != MetricType.HISTOGRAM) {
          lines.add(new Expected(name, labels, dp.value(), ts));
          continue;
        }
        Histogram h = dp.histogram();
        long cumulative = 0;
        for (Bucket b : h.buckets()) {
          cumulative += b.count();
          List<Map.Entry<String, String>> withLe = new ArrayList<>(labels);
          withLe.add(Map.entry("le", referenceText(b.upperBound())));
          lines.add(new Expected(name + "_bucket", withLe, Value.ofInt(cumulative), ts));
        }
        lines.add(new Expected(name + "_sum", labels, h.total(), ts));
        lines.add(new Expected(name + "_count", labels, Value.ofInt(cumulative), ts));
        lines.add(new Expected(name + "_min", labels, h.min(), ts));
        lines.add(new Expected(name + "_max", labels, h.max(), ts));
        lines.add(new Expected(name + "_ssd", labels, h.ssd(), ts));
      }
    }
    List<Expected> all = new ArrayList<>();
    byName.values().forEach(all::addAll);
    return all;
  }

  private static List<Map.Entry<String, String>> mergedLabels(DataPoint dp, Labels extra) {
    TreeMap<String, String> merged = new TreeMap<>();
    for (Labels l : List.of(dp.labels(), dp.externalLabels(), extra)) {
      merged.putAll(l.asMap());
    }
    return new ArrayList<>(merged.entrySet());
  }

  /** The number as runsc prints it, computed independently of the writer's code. */
  private static String referenceText(Value v) {
    if (v.isInteger()) {
      return Long.toString(v.longValue());
    }
    double d = v.doubleValue();
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "+Inf" : "-Inf";
    }
    if (d == 0) {
      return "0";
    }
    return (d < 0 ? "-" : "") + new BigDecimal(Math.abs(d)).setScale(6, RoundingMode.HALF_EVEN).toPlainString();
  }

  private static void assertSameNumber(String got, Value want, String where) {
    if (want.isInteger() || want.isZero() || Double.isNaN(want.doubleValue())
        || Double.isInfinite(want.doubleValue())) {
      assertThat(got).as(where).isEqualTo(referenceText(want));
      return;
    }
    double d = want.doubleValue();
    assertThat(got).as(where).contains(".").startsWith(d < 0 ? "-" : "");
    assertThat(new BigDecimal(got).compareTo(new BigDecimal(d).setScale(6, RoundingMode.HALF_EVEN)))
        .as(where + " vs " + d).isZero();
  }

  // ---- random input ----

  private static List<MetricDef> randomDefs(SplittableRandom random) {
    Map<String, MetricDef> defs = new LinkedHashMap<>();
    int n = random.nextInt(1, 12);
    MetricType[] types = MetricType.values();
    while (defs.size() < n) {
      // "m" + alphanumerics: never ends in a histogram suffix and never collides across prefixes.
      String name = "m" + word(random, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 1, 8);
      String help = random.nextInt(4) == 0 ? "" : nasty(random);
      defs.putIfAbsent(name, new MetricDef(name, types[random.nextInt(types.length)], help));
    }
    return new ArrayList<>(defs.values());
  }

  private static SnapshotExport randomExport(SplittableRandom random, List<MetricDef> defs, int index) {
    Instant when = Instant.ofEpochSecond(random.nextLong(0, 4_000_000_000L), random.nextInt(1_000_000_000));
    List<DataPoint> data = new ArrayList<>();
    int n = random.nextInt(0, 15);
    for (int i = 0; i < n; i++) {
      MetricDef def = defs.get(random.nextInt(defs.size()));
      Metric metric = new Metric(def.name(), def.type(), def.help());
      Labels own = randomLabels(random, "f_", 3);
      Labels external = random.nextInt(3) == 0 ? randomLabels(random, "x_", 2) : Labels.EMPTY;
      if (def.type() == MetricType.HISTOGRAM) {
        data.add(new DataPoint(metric, own, external, null, randomHistogram(random)));
      } else {
        data.add(new DataPoint(metric, own, external, randomValue(random), null));
      }
    }
    Labels added = random.nextInt(5) == 0
        ? Labels.EMPTY
        : Labels.of("sandbox", "sb-" + index + nasty(random), "iteration", word(random, "0123456789abcdefxyz", 1, 13));
    return new SnapshotExport(new Snapshot(when, data), PREFIXES[random.nextInt(PREFIXES.length)], added);
  }

  private static Labels randomLabels(SplittableRandom random, String namePrefix, int max) {
    Map<String, String> map = new TreeMap<>();
    int n = random.nextInt(0, max + 1);
    for (int i = 0; i < n; i++) {
      map.put(namePrefix + word(random, "abcdefghijklmnopqrstuvwxyz_0123456789AZ", 1, 6), nasty(random));
    }
    return Labels.of(map);
  }

  private static Histogram randomHistogram(SplittableRandom random) {
    List<Bucket> buckets = new ArrayList<>();
    int finite = random.nextInt(0, 6);
    double bound = random.nextBoolean() ? 0 : -random.nextDouble() * 10;
    for (int i = 0; i < finite; i++) {
      Value le = random.nextBoolean() ? Value.ofInt((long) Math.floor(bound)) : Value.ofFloat(bound);
      buckets.add(new Bucket(le, random.nextLong(0, 1_000_000)));
      bound += random.nextDouble() * 1000 + 1;
    }
    buckets.add(new Bucket(Value.ofFloat(Double.POSITIVE_INFINITY), random.nextLong(0, 1_000_000)));
    return new Histogram(randomValue(random), randomValue(random), randomValue(random), randomValue(random), buckets);
  }

  private static Value randomValue(SplittableRandom random) {
    switch (random.nextInt(12)) {
      case 0:
        return Value.ofInt(new long[] {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1_000_000_000_000_000_000L,
            -1_000_000_000_000_000_000L, 999_999_999_999_999_999L}[random.nextInt(8)]);
      case 1:
        return Value.ofInt(random.nextLong());
      case 2:
      case 3:
        return Value.ofInt(random.nextLong(0, 100_000_000));
      case 4:
        return Value.ofFloat(new double[] {0.0, -0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
            Double.NaN, Double.MIN_VALUE, -Double.MAX_VALUE, 1e21, 1.0 / 128, -1e-7}[random.nextInt(10)]);
      case 5:
        return Value.ofFloat(Double.longBitsToDouble(random.nextLong()));
      default:
        return Value.ofFloat((random.nextDouble() - 0.3) * Math.pow(10, random.nextInt(-9, 16)));
    }
  }

  private static String nasty(SplittableRandom random) {
    StringBuilder sb = new StringBuilder();
    int n = random.nextInt(0, 12);
    for (int i = 0; i < n; i++) {
      switch (random.nextInt(4)) {
        case 0 -> sb.append(NASTY.charAt(random.nextInt(NASTY.length())));
        case 1 -> sb.append(NASTY_WORDS[random.nextInt(NASTY_WORDS.length)]);
        default -> sb.append((char) random.nextInt('a', 'z' + 1));
      }
    }
    return sb.toString();
  }

  private static String word(SplittableRandom random, String alphabet, int min, int max) {
    StringBuilder sb = new StringBuilder();
    int n = random.nextInt(min, max + 1);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }
}
