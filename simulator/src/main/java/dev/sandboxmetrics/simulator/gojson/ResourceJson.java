package dev.sandboxmetrics.simulator.gojson;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import dev.sandboxmetrics.snapshot.Value;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the simulator's bundled workload files (a registration and a snapshot in runsc's JSON shapes,
 * {@code Infinity} allowed) into the shared model. These files ship inside the jar and are trusted, so this
 * reader is a plain tree walk that fails loudly, not the strict codec a client needs for sandbox replies.
 */
public final class ResourceJson {
  private static final ObjectMapper MAPPER =
      new ObjectMapper(
          JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build());

  private ResourceJson() {}

  public static Registration readRegistration(Class<?> anchor, String resource) {
    JsonNode root = read(anchor, resource);
    List<MetricMetadata> metrics = new ArrayList<>();
    for (JsonNode m : root.path("metrics")) {
      List<MetricField> fields = new ArrayList<>();
      for (JsonNode f : m.path("fields")) {
        fields.add(new MetricField(f.path("field_name").asText(""), strings(f.path("allowed_values"))));
      }
      List<Long> bounds = new ArrayList<>();
      for (JsonNode b : m.path("distribution_bucket_lower_bounds")) {
        bounds.add(b.asLong());
      }
      metrics.add(
          new MetricMetadata(
              m.path("name").asText(""),
              m.path("prometheus_name").asText(""),
              m.path("description").asText(""),
              m.path("cumulative").asBoolean(false),
              m.path("sync").asBoolean(false),
              m.path("type").asInt(0),
              m.path("units").asInt(0),
              fields,
              bounds));
    }
    return new Registration(metrics, strings(root.path("stages")));
  }

  public static Snapshot readSnapshot(Class<?> anchor, String resource) {
    JsonNode root = read(anchor, resource);
    List<DataPoint> data = new ArrayList<>();
    for (JsonNode d : root.path("data")) {
      JsonNode m = d.path("metric");
      Metric metric =
          new Metric(
              m.path("name").asText(),
              MetricType.fromCode(m.path("type").asInt()),
              m.path("help").asText(""));
      Labels labels = labels(d.path("labels"));
      Labels external = labels(d.path("external_labels"));
      Value value = d.has("val") ? number(d.get("val")) : null;
      Histogram histogram = null;
      if (d.has("histogram")) {
        JsonNode h = d.get("histogram");
        List<Bucket> buckets = new ArrayList<>();
        for (JsonNode b : h.path("buckets")) {
          buckets.add(new Bucket(number(b.path("le")), b.path("n").asLong(0)));
        }
        histogram =
            new Histogram(
                number(h.path("total")),
                number(h.path("min")),
                number(h.path("max")),
                number(h.path("ssd")),
                buckets);
      }
      data.add(new DataPoint(metric, labels, external, value, histogram));
    }
    Instant when =
        root.has("when") ? OffsetDateTime.parse(root.get("when").asText()).toInstant() : Instant.EPOCH;
    return new Snapshot(when, data);
  }

  private static JsonNode read(Class<?> anchor, String resource) {
    try (InputStream in = anchor.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource + " next to " + anchor.getName());
      }
      return MAPPER.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read resource " + resource, e);
    }
  }

  private static Value number(JsonNode n) {
    if (n.has("float")) {
      return Value.ofFloat(n.get("float").asDouble());
    }
    return Value.ofInt(n.path("int").asLong(0));
  }

  private static Labels labels(JsonNode n) {
    if (!n.isObject() || n.isEmpty()) {
      return Labels.EMPTY;
    }
    Map<String, String> map = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : n.properties()) {
      map.put(e.getKey(), e.getValue().asText());
    }
    return Labels.of(map);
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    for (JsonNode s : array) {
      out.add(s.asText());
    }
    return out;
  }
}
