package dev.sandboxmetrics.snapshot.text;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.sandboxmetrics.snapshot.Bucket;
import dev.sandboxmetrics.snapshot.DataPoint;
import dev.sandboxmetrics.snapshot.Histogram;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Metric;
import dev.sandboxmetrics.snapshot.MetricType;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.Value;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the shared test data (gVisor's golden inputs and the benchmark snapshot) with Jackson's tree model,
 * independently of our own codec: the writer's tests must not depend on the codec being right. Accepts the
 * extensions these files use: {@code {"float": "+Inf"}} strings and the bare {@code Infinity} token.
 */
final class GoldenInput {
  private static final JsonMapper MAPPER =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  /** A golden case: what gVisor's writer was given. */
  record Case(String commentHeader, List<SnapshotExport> exports) {}

  private GoldenInput() {}

  /** The repository root: surefire's {@code sandboxmetrics.repo.root}, else the nearest dir with testdata/. */
  static Path repoRoot() {
    String configured = System.getProperty("sandboxmetrics.repo.root");
    if (configured != null && Files.isDirectory(Path.of(configured, "testdata"))) {
      return Path.of(configured);
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("testdata"))) {
        return p;
      }
    }
    throw new IllegalStateException("no testdata/ directory above " + Path.of("").toAbsolutePath());
  }

  static Path testdata(String relative) {
    return repoRoot().resolve("testdata").resolve(relative);
  }

  static Case readCase(Path inJson) throws IOException {
    JsonNode root = MAPPER.readTree(inJson.toFile());
    List<SnapshotExport> exports = new ArrayList<>();
    for (JsonNode e : root.path("snapshots")) {
      exports.add(new SnapshotExport(snapshot(e.get("snapshot")), e.path("prefix").asText(""),
          labels(e.get("labels"))));
    }
    return new Case(root.path("comment_header").asText(""), exports);
  }

  static Snapshot readSnapshot(Path json) throws IOException {
    return snapshot(MAPPER.readTree(json.toFile()));
  }

  static Snapshot snapshot(JsonNode s) {
    Instant when = s.hasNonNull("when") ? OffsetDateTime.parse(s.get("when").asText()).toInstant() : Instant.EPOCH;
    List<DataPoint> data = new ArrayList<>();
    for (JsonNode d : s.path("data")) {
      JsonNode m = d.get("metric");
      Metric metric = new Metric(m.get("name").asText(), MetricType.fromCode(m.path("type").asLong()),
          m.path("help").asText(""));
      data.add(new DataPoint(metric, labels(d.get("labels")), labels(d.get("external_labels")),
          d.hasNonNull("val") ? number(d.get("val")) : null,
          d.hasNonNull("histogram") ? histogram(d.get("histogram")) : null));
    }
    return new Snapshot(when, data);
  }

  private static Histogram histogram(JsonNode h) {
    List<Bucket> buckets = new ArrayList<>();
    for (JsonNode b : h.path("buckets")) {
      buckets.add(new Bucket(number(b.get("le")), b.path("n").asLong(0)));
    }
    return new Histogram(number(h.get("total")), number(h.get("min")), number(h.get("max")),
        number(h.get("ssd")), buckets);
  }

  /** A runsc Number; when both int and float are set, the int wins, as in gVisor's writer. */
  static Value number(JsonNode n) {
    if (n == null || n.isNull()) {
      return Value.ZERO;
    }
    long i = n.path("int").asLong(0);
    if (i != 0) {
      return Value.ofInt(i);
    }
    JsonNode f = n.get("float");
    if (f == null) {
      return Value.ZERO;
    }
    if (f.isTextual()) {
      switch (f.asText()) {
        case "+Inf":
        case "Infinity":
          return Value.ofFloat(Double.POSITIVE_INFINITY);
        case "-Inf":
        case "-Infinity":
          return Value.ofFloat(Double.NEGATIVE_INFINITY);
        case "NaN":
          return Value.ofFloat(Double.NaN);
        default:
          throw new IllegalArgumentException("not a float: " + f);
      }
    }
    return f.asDouble() == 0 ? Value.ZERO : Value.ofFloat(f.asDouble());
  }

  private static Labels labels(JsonNode node) {
    if (node == null || node.isNull()) {
      return Labels.EMPTY;
    }
    Map<String, String> map = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      map.put(e.getKey(), e.getValue().asText());
    }
    return Labels.of(map);
  }
}
